/**
 * `gatehouse start [--root DIR] [--apply MODE]`: what the firewall unit runs at boot,
 * before the network comes up. Applies the last good plan (plan/current) again, or, when
 * none was ever applied, runs firewall-adjust to make one from the databases; then loads
 * the blocklist database into its kernel sets. A plan still waiting for confirmation is
 * rolled back first. A failure exits non-zero with the kernel
 * left closed by apply's own rollback (the previous plan or the stopped ruleset).
 */
import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { REJECTED_MARK, applyPlan, describeApplyOutcome, rollBackUnconfirmed, stopFirewall } from '../../apply/index.js';
import { planPaths } from '../../plan/index.js';
import { exists } from './exists.js';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

export const command: CommandModule<object, RootAndModeArgs> = {
  command: 'start',
  describe: 'apply the last good plan (or make one) and load the blocklist, as at boot',
  builder: (y) => withRootAndMode(y),
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    const current = planPaths(root).current;
    // A plan still waiting for confirmation when the machine went down was never confirmed.
    if (mode.kind !== 'dry-run') {
      const unconfirmed = await rollBackUnconfirmed(root);
      if (unconfirmed) process.stdout.write(`the apply of ${unconfirmed.source} was never confirmed: ${unconfirmed.message}\n`);
    }
    if (await exists(join(current, REJECTED_MARK))) {
      // The last plan was never confirmed and nothing came before it: stay closed.
      await stopFirewall(root, { mode });
      process.stdout.write(`plan/current was rolled back unconfirmed with no plan before it: its stopped ruleset is loaded (closed); run firewall-adjust or gatehouse apply to load a plan\n`);
    } else if (await exists(current)) {
      const outcome = await applyPlan(root, { mode, planDir: current });
      if (mode.kind !== 'dry-run') process.stdout.write(describeApplyOutcome(outcome) + '\n');
    } else {
      const { signalEvent } = await import('../../events/index.js');
      await signalEvent({ root, event: 'firewall-adjust', applyMode: mode });
      process.stdout.write(`no plan had been applied: firewall-adjust made and applied one in ${mode.kind}\n`);
    }
    const { restoreBlocklist } = await import('../../api/index.js');
    const loaded = await restoreBlocklist(root, mode);
    if (loaded.keptByApi) process.stdout.write(`blocklist: left to the running API (${loaded.loaded} entries in the database; it holds them in ${loaded.where})\n`);
    else if (mode.kind !== 'dry-run') process.stdout.write(`blocklist: ${loaded.loaded} entries loaded in ${loaded.where}\n`);
  },
};
