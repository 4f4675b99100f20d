/**
 * `apply`: put plan/next into the kernel with the event's apply mode (dry-run prints the
 * commands and touches nothing). A failure restores the previous plan (src/apply) and
 * fails the event with the reason.
 */
import { applyPlan, formatApplyMode } from '../../apply/index.js';
import type { ActionContext } from './index.js';

export async function applyAction(context: ActionContext): Promise<void> {
  const outcome = await applyPlan(context.root, { mode: context.applyMode });
  const mode = formatApplyMode(outcome.mode);
  if (outcome.applied === undefined) context.log(`dry-run: printed the commands for ${outcome.source}; nothing applied`);
  else context.log(`applied ${outcome.source} in ${mode}${outcome.keptPrevious ? ' (the plan before is kept as previous)' : ''}`);
}
