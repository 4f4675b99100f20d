/**
 * The `routing` part of a plan (routing.json): one routing table per provider, ip rules for
 * provider marks and rtrules, the balanced default route or the backup order, and static
 * routes, applied with one `ip -batch` in the target. The provider states (up/down, kept by
 * wan-uplink-update) live beside the plan store in var/lib/gatehouse/wan, so the same plan
 * applies differently while a link is down, without a recompile.
 */
import { basename, dirname, join } from 'node:path';
import { type RoutingSpec, isOwnPriority, routingBatch, routingIsEmpty } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import { definePart } from '../plan/part.js';
import { EMPTY_ROUTING, applyRoutingWith, readTarget, statesIn } from './apply.js';

export interface RoutingContent {
  spec: RoutingSpec;
  /** var/lib/gatehouse/wan of the root the plan belongs to; undefined for a plan kept elsewhere. */
  stateDir: string | undefined;
}

/**
 * $ROOT/var/lib/gatehouse/plan/<name> or plan/plans/<id> (the store keeps each plan in its own
 * directory) -> $ROOT/var/lib/gatehouse/wan.
 */
function stateDirOf(planDir: string): string | undefined {
  for (let store = dirname(planDir), up = 0; up < 2; store = dirname(store), up++) {
    if (basename(store) === 'plan' && basename(dirname(store)) === 'gatehouse') return join(dirname(store), 'wan');
  }
  return undefined;
}

export function parseRoutingJson(text: string, file: string): RoutingSpec {
  let spec: RoutingSpec;
  try {
    spec = JSON.parse(text) as RoutingSpec;
  } catch (e) {
    throw new GatehouseError(`not valid JSON: ${(e as Error).message}`, { place: { file }, hint: 'recompile the plan' });
  }
  if (!Array.isArray(spec.providers) || !Array.isArray(spec.rtrules) || !Array.isArray(spec.routes)) {
    throw new GatehouseError('a routing part holds providers, rtrules and routes', { place: { file }, hint: 'recompile the plan' });
  }
  return spec;
}

export const routingPart = definePart<RoutingContent>({
  name: 'routing',
  describe: 'multi-WAN and static routing (provider tables, ip rules, balanced or backup default route), one ip -batch',
  files: ['routing.json'],
  // Provider marks are set in the mangle table; rp_filter and the multipath hash are sysctls.
  needs: ['filter.v4', 'sysctls'],
  required: false,
  parse: (files, dir) => ({ spec: parseRoutingJson(files['routing.json'] ?? '', join(dir, 'routing.json')), stateDir: stateDirOf(dir) }),
  commands: () => ['ip'],
  async apply(target, content) {
    await applyRoutingWith(target, content.spec, content.stateDir);
    return {};
  },
  async rollback(target, { failed, before }) {
    // No routing before: take ours out and put back the default routes the providers replaced.
    await applyRoutingWith(target, before?.spec ?? EMPTY_ROUTING, failed.stateDir);
  },
  async stop(target, content) {
    // Also how a plan without providers removes the routing of the one before it.
    await applyRoutingWith(target, EMPTY_ROUTING, content.stateDir);
  },
  async status(target, content, { state }) {
    if (target.mode.kind === 'dry-run') return [];
    const now = await readTarget(target);
    const expected = state === 'stopped' || routingIsEmpty(content.spec) ? [] : routingBatch(content.spec, await statesIn(content.stateDir), now.target).commands;
    const want = expected.filter((c) => c.startsWith('rule add ')).map((c) => `rule ${c.slice('rule add '.length)}`);
    const wantPrefs = want.map((r) => Number(/pref (\d+)/.exec(r)![1])).sort((a, b) => a - b);
    const havePrefs = now.target.ownRulePriorities.filter(isOwnPriority).sort((a, b) => a - b);
    const out: string[] = [];
    const count = (list: number[]) => list.reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<number, number>());
    const w = count(wantPrefs);
    const h = count(havePrefs);
    for (const [p, n] of w) if ((h.get(p) ?? 0) < n) out.push(`- ${want.find((r) => r.includes(`pref ${p} `))}`);
    for (const [p, n] of h) if ((w.get(p) ?? 0) < n) out.push(`+ rule pref ${p} (not in the plan)`);
    const defaults = expected.filter((c) => /^route replace default table /.test(c)).map((c) => /table (\S+)/.exec(c)![1]!);
    for (const table of defaults) {
      if (!now.routes.some((r) => r.dst === 'default' && r.table === table)) out.push(`- default route in table ${table}`);
    }
    return out;
  },
});
