/**
 * `gatehouse status [--root DIR] [--apply MODE]`: which plan runs, since when, and
 * whether the kernel still holds it. Exit 0 when it matches (or nothing is applied),
 * 2 when the kernel differs, 1 on error.
 */
import type { CommandModule } from 'yargs';
import { resolveRoot } from '../../layout/index.js';
import { firewallStatus, formatStatus, parseApplyMode } from '../../apply/index.js';
import { type RootAndModeArgs, withRootAndMode } from './apply.js';

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'status',
  describe: 'show the running plan and whether the kernel still matches it',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const root = resolveRoot(args.root);
    // Reading is harmless, so with no mode given the kernel is read where the plan went.
    const explicit = args.apply ?? process.env['GATEHOUSE_APPLY'];
    const status = await firewallStatus(root, explicit ? { mode: parseApplyMode(explicit) } : {});
    process.stdout.write(formatStatus(status));
    // The API's run-time sets (issue 14): database entries and what each kernel set holds.
    const api = await import('../../api/index.js');
    process.stdout.write(api.formatBlocklistStatus(await api.blocklistStatus(root, explicit ? parseApplyMode(explicit) : status.mode ? parseApplyMode(status.mode) : { kind: 'dry-run' })));
    if (status.kernel === 'differs') process.exitCode = 2;
  },
};
