/**
 * `apply`: put plan/next into the kernel with the event's apply mode (dry-run prints the
 * commands and touches nothing). A failure restores the previous plan (src/apply) and
 * fails the event with the reason.
 */
import { applyPlan, describeApplyOutcome } from '../../apply/index.js';
import type { ActionContext } from './index.js';

export async function applyAction(context: ActionContext): Promise<void> {
  context.log(describeApplyOutcome(await applyPlan(context.root, { mode: context.applyMode, log: context.log, ...(context.applyOnto !== undefined ? { onto: context.applyOnto } : {}) })));
}
