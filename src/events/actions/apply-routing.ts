/**
 * `apply-routing`: after the filter apply, the running plan's routing part (providers,
 * rtrules, static routes) into the target with the provider states. A failure puts the
 * routing back as it was and fails the event.
 */
import { planPaths } from '../../apply/index.js';
import { applyRouting, describeRouting } from '../../wan/index.js';
import type { ActionContext } from './index.js';

export async function applyRoutingAction(context: ActionContext): Promise<void> {
  // A dry run never promotes the plan: show what plan/next would do.
  const paths = planPaths(context.root);
  const result = await applyRouting(context.root, context.applyMode, context.applyMode.kind === 'dry-run' ? paths.next : paths.current);
  if (!result) {
    context.log('routing: the running plan has no routing part');
    return;
  }
  for (const line of describeRouting(result)) context.log(line);
}
