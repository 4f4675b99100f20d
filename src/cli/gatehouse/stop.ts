/** `gatehouse stop [--root DIR] [--apply MODE]`: loads the stopped ruleset (stoppedrules) of the current plan. */
import type { CommandModule } from 'yargs';
import { formatApplyMode, stopFirewall } from '../../apply/index.js';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'stop',
  describe: 'replace the running ruleset by the safe stopped state (admin access from green stays)',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    await stopFirewall(root, { mode });
    if (mode.kind !== 'dry-run') process.stdout.write(`stopped: the stopped ruleset is loaded in ${formatApplyMode(mode)}\n`);
  },
};
