/**
 * Routing for a root: the running plan's routing part (or none) applied to the root's
 * target with the root's provider states. Used by wan-uplink-update.
 */
import { type ApplyMode, createKernelRunner } from '../apply/index.js';
import { type ProviderState, routingIsEmpty } from '../compile/index.js';
import { EMPTY_ROUTING, type RoutingApplyResult, applyRoutingWith, readRoutingSpec } from './apply.js';
import { wanDir } from './state.js';

/** The running plan's routing (or none) applied to the root's target, with the root's provider states. */
export async function applyRouting(root: string, mode: ApplyMode, planDir: string, override: Record<string, ProviderState> = {}): Promise<RoutingApplyResult | undefined> {
  const spec = (await readRoutingSpec(planDir)) ?? EMPTY_ROUTING;
  const runner = createKernelRunner(mode);
  if (mode.kind !== 'dry-run' && !routingIsEmpty(spec)) await runner.preflight(['ip']);
  return applyRoutingWith(runner, spec, wanDir(root), override);
}

