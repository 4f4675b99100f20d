/** `gatehouse confirm [--root DIR]`: keeps the plan a waiting `gatehouse apply --confirm` applied. */
import type { CommandModule } from 'yargs';
import { resolveRoot } from '../../layout/index.js';
import { confirmApply } from '../../apply/index.js';

export const command: CommandModule<object, { root?: string }> = {
  command: 'confirm',
  describe: 'confirm the plan applied by a waiting `gatehouse apply --confirm`',
  builder: (y) => y.option('root', { type: 'string', describe: 'runtime root (default GATEHOUSE_ROOT or /)' }),
  handler: async (args) => {
    const pending = await confirmApply(resolveRoot(args.root));
    process.stdout.write(`confirmed (apply process ${pending.pid})\n`);
  },
};
