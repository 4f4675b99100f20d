/**
 * `gatehouse renew-time-windows [--root DIR] [--apply MODE] [--within DAYS]`: what the
 * daily timer runs (systemd/gatehouse-renew-time-windows.timer). Reads how long the running
 * plan's time windows hold (recorded by the event that made it) and, when they run out
 * within DAYS (default 30) or already have, runs firewall-adjust, saying why; otherwise
 * says why nothing was done. A stopped or closed firewall, or a plan made by hand, is left
 * as it is; while an apply waits for confirmation, the next run renews. Exit 0 unless the
 * renewal itself fails.
 */
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { REJECTED_MARK, describePending, pendingExpired, readPending } from '../../apply/index.js';
import { readDatabase } from '../../db/index.js';
import { GatehouseError } from '../../errors/index.js';
import { OFFSET_HORIZON_DAYS, localTimeZone } from '../../model/index.js';
import { RENEW_WITHIN_DAYS, type RunningPlan, readPlanTimeWindows, renewalDecision, runningPlanSlot } from '../../plan/index.js';
import { exists } from './exists.js';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

/** The largest --within: below the 399 days a fresh plan holds at the least. */
const MOST_WITHIN_DAYS = 365;

interface RenewArgs extends RootAndModeArgs {
  within?: number;
}

/** The running plan, as renewal sees it. */
export async function runningPlan(root: string): Promise<RunningPlan> {
  const slot = await runningPlanSlot(root);
  if (slot === undefined || !(await exists(join(slot.dir, 'applied.json')))) return { state: 'none' };
  const { id, dir: current } = slot;
  if (await exists(join(current, REJECTED_MARK))) return { state: 'rejected' };
  if (await exists(join(current, 'stopped.json'))) return { state: 'stopped' };
  return { state: 'running', record: await readPlanTimeWindows(current), id };
}

export const command: CommandModule<object, RenewArgs> = {
  command: 'renew-time-windows',
  describe: 'run firewall-adjust when the running time windows run out within DAYS (daily timer)',
  builder: (y) =>
    withRootAndMode(y).option('within', { type: 'number', describe: `renew when they run out within DAYS (default ${RENEW_WITHIN_DAYS})` }),
  handler: async (args) => {
    const within = args.within ?? RENEW_WITHIN_DAYS;
    // A fresh plan holds at least OFFSET_HORIZON_DAYS - 1 days: a margin that long would renew every day, and fail the check after.
    if (!(Number.isFinite(within) && within >= 0 && within <= MOST_WITHIN_DAYS)) {
      throw new GatehouseError(`--within ${String(args.within)} is not a number of days the renewal can keep`, {
        hint: `give a number of days between 0 and ${MOST_WITHIN_DAYS} (a plan an event just made holds for at least ${OFFSET_HORIZON_DAYS - 1})`,
      });
    }
    const { root, mode } = rootAndMode(args);
    // The zone an event would convert from now: the TimeZone record, else the machine's (which can move with no event).
    const zone = async (): Promise<string> => localTimeZone(await readDatabase(root, 'configuration'));
    const before = await runningPlan(root);
    const decision = renewalDecision(before, new Date(), within, await zone());
    process.stdout.write(`${decision.why}\n`);
    if (!decision.renew) return;
    // An apply on trial (--confirm) decides itself; events would refuse until it does. Tried again at the next run.
    const pending = await readPending(root);
    if (pending && !pendingExpired(pending)) {
      process.stdout.write(`not now: ${describePending(pending)}; the next run renews them\n`);
      return;
    }
    const { openEventLog, signalEvent } = await import('../../events/index.js');
    // Why an event ran with nobody typing it: beside the event's own lines in events.log.
    openEventLog(root).write(`renew-time-windows: ${decision.why}`);
    // Decided on the plan running now: stopped, closed or replaced by the time the event applies, it is left as it is (checked under the plan lock).
    const onto = before.state === 'running' ? before.id : undefined;
    const report = await signalEvent({ root, event: 'firewall-adjust', applyMode: mode, ...(onto !== undefined ? { applyOnto: onto } : {}) });
    const ran = `firewall-adjust ran ${report.actions.length} actions in ${Math.round(report.ms)} ms`;
    if (mode.kind === 'dry-run') {
      process.stdout.write(`${ran} in dry-run: nothing applied, the running plan is as it was\n`);
      return;
    }
    const after = renewalDecision(await runningPlan(root), new Date(), within, await zone());
    if (after.renew) {
      // The event applied no plan with fresh windows (a custom firewall event that does not apply?).
      process.stdout.write(`${ran}, but plan/current still runs out: ${after.why}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`renewed: ${ran}; now ${after.why}\n`);
  },
};
