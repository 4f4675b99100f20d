/**
 * Multi-WAN routing, pure. Two halves:
 *
 * - `compileRouting` turns the parsed providers, rtrules and routes into a routing spec
 *   (kept in the plan as routing.json), the provider marks of the mangle table and the
 *   sysctls multi-WAN needs. It runs at compile time and knows nothing of the target.
 * - `routingBatch` turns a spec, the provider states (up/down, var/lib/gatehouse/wan) and
 *   what the target shows (addresses, learned gateways, the rules and routes Gatehouse
 *   put there before) into one `ip -batch` text. It runs at apply time and at every
 *   wan-uplink-update; it never fails on a provider it cannot use (no address, no
 *   gateway yet): that provider is left out with a warning.
 *
 * The layout is Shorewall's with USE_DEFAULT_RT=Yes:
 *
 *   pref 999           lookup main (connected and static routes; no default route in main)
 *   pref 1000-1999     rtrules before the marks
 *   pref 10000+N       fwmark N<<16/0xf0000 lookup N       (provider up)
 *   pref 11000-11999   rtrules after the marks
 *   pref 20000+N       from <provider address> lookup N    (always, unless loose: replies and the link monitor)
 *   pref 26000-26999   rtrules, e.g. the backup order (provider up, or PRIORITY!)
 *   pref 32765         lookup 250: the balanced default route over the providers that are up
 *   table N            the provider's gateway and default route
 *
 * Every route Gatehouse adds carries `proto 201`, so the next apply removes exactly those.
 */
import type { Provider, RoutingRule, ShorewallConfig, StaticRoute } from '../shorewall/index.js';
import type { Match, TableBuilder } from './ir.js';
import { PROVIDER_MASK } from '../marks/index.js';

export const ROUTE_PROTO = 201;
export const BALANCE_TABLE = 250;
export const DEFAULT_TABLE = 253;
export const MAIN_PRIORITY = 999;
export const MARK_PRIORITY = 10000;
export const SOURCE_PRIORITY = 20000;
export const BALANCE_PRIORITY = 32765;

export interface RoutingSpec {
  providers: ProviderSpec[];
  rtrules: RtruleSpec[];
  routes: RouteSpec[];
}

export type ProviderSpec = Omit<Provider, 'place'> & { origin: string };
export type RtruleSpec = Omit<RoutingRule, 'place'> & { origin: string };
export type RouteSpec = Omit<StaticRoute, 'place'> & { origin: string };

const origin = (p: { file: string; line?: number }): string => `${p.file}:${p.line ?? 0}`;

export function compileRouting(config: ShorewallConfig): RoutingSpec {
  const r = config.routing;
  return {
    providers: r.providers.map(({ place, ...p }) => ({ ...p, origin: origin(place) })),
    rtrules: r.rtrules.map(({ place, ...p }) => ({ ...p, origin: origin(place) })),
    routes: r.routes.map(({ place, ...p }) => ({ ...p, origin: origin(place) })),
  };
}

/** Whether the spec asks for anything at all (no providers and no routes: routing is left alone). */
export function routingIsEmpty(spec: RoutingSpec): boolean {
  return spec.providers.length === 0 && spec.routes.length === 0 && spec.rtrules.length === 0;
}

/**
 * Provider marks in the mangle table, ahead of the mangle file's own chains: a connection
 * keeps the provider it started on (connmark restored on every packet), an inbound
 * connection on a tracked provider is answered through it, and an outbound one records
 * the provider the balanced route chose.
 */
export function addProviderMarks(t: TableBuilder, config: ShorewallConfig): void {
  const providers = config.routing.providers;
  if (providers.length === 0) return;
  const noMark: Match = { kind: 'mark', value: 0, mask: PROVIDER_MASK, connmark: false };
  const ctHasMark: Match = { kind: 'mark', value: 0, mask: PROVIDER_MASK, connmark: true, negate: true };
  const isNew: Match = { kind: 'conntrackState', states: ['NEW'] };
  for (const chain of ['PREROUTING', 'OUTPUT']) t.add(chain, [ctHasMark], { kind: 'RESTOREMARK', mask: PROVIDER_MASK });
  for (const p of providers) {
    if (!p.track) continue;
    t.add('PREROUTING', [{ kind: 'inInterface', name: p.interface }, isNew, noMark], { kind: 'MARK', operation: 'set', value: p.mark, mask: PROVIDER_MASK });
  }
  for (const p of providers) {
    t.add('POSTROUTING', [{ kind: 'outInterface', name: p.interface }, isNew, noMark], { kind: 'MARK', operation: 'set', value: p.mark, mask: PROVIDER_MASK });
  }
  t.add('POSTROUTING', [{ ...noMark, negate: true }, { kind: 'mark', value: 0, mask: PROVIDER_MASK, connmark: true }], { kind: 'SAVEMARK', mask: PROVIDER_MASK });
}

/** sysctl.conf lines multi-WAN needs: per-connection balancing and loose reverse-path checks. */
export function routingSysctls(config: ShorewallConfig): string[] {
  const providers = config.routing.providers;
  if (providers.length === 0) return [];
  return [
    // Hash on ports too, so connections between the same two hosts spread over the providers.
    'net.ipv4.fib_multipath_hash_policy = 1',
    // Replies come back on the provider a connection used, not always the main table's choice.
    ...providers.map((p) => `net.ipv4.conf.${p.interface.replace(/\./g, '/')}.rp_filter = 2`),
  ];
}

// ---------------------------------------------------------------------------------------
// Apply time

export type ProviderState = 'up' | 'down';

/** What the target shows, read just before the batch is built. */
export interface TargetRouting {
  /** Interface -> its IPv4 addresses as `a.b.c.d/len` (empty: no address yet). */
  addresses: Record<string, string[]>;
  /** Interface -> a gateway learned on the target (a default route via it in main or in its table). */
  learnedGateways: Record<string, string>;
  /** Interfaces without a link layer (ppp): a default route needs no gateway. */
  pointToPoint: string[];
  /** Policy rules now in place whose priority is Gatehouse's, by priority (one entry per rule). */
  ownRulePriorities: number[];
  /** Main-table default routes now in place (`ip route del` arguments), removed when providers take over. */
  mainDefaults: string[][];
}

export interface ProviderOutcome {
  name: string;
  interface: string;
  state: ProviderState;
  /** Whether new connections may use it now. */
  routing: boolean;
  gateway: string | undefined;
  /** Why it is left out, when it is. */
  problem?: string;
}

export interface RoutingBatch {
  /** `ip -batch` lines. */
  commands: string[];
  providers: ProviderOutcome[];
  warnings: string[];
}

/** Priorities Gatehouse owns, so it removes exactly the rules it put there. */
export function isOwnPriority(p: number): boolean {
  return (
    p === MAIN_PRIORITY ||
    p === BALANCE_PRIORITY ||
    (p >= 1000 && p <= 1999) ||
    (p >= 11000 && p <= 11999) ||
    (p >= 26000 && p <= 26999) ||
    (p > MARK_PRIORITY && p <= MARK_PRIORITY + 15) ||
    (p > SOURCE_PRIORITY && p <= SOURCE_PRIORITY + 15)
  );
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Commands that remove every rule and route Gatehouse put in place before. */
export function cleanupCommands(current: Pick<TargetRouting, 'ownRulePriorities'>): string[] {
  const out = current.ownRulePriorities.map((p) => `rule del pref ${p}`);
  for (let n = 1; n <= 15; n++) out.push(`route flush table ${n} proto ${ROUTE_PROTO}`);
  out.push(`route flush table ${BALANCE_TABLE} proto ${ROUTE_PROTO}`, `route flush table ${DEFAULT_TABLE} proto ${ROUTE_PROTO}`, `route flush table main proto ${ROUTE_PROTO}`);
  return out;
}

function ipOf(cidr: string): string {
  return cidr.split('/')[0]!;
}

function networkOf(cidr: string): { base: number; bits: number } {
  const [ip, len] = cidr.split('/') as [string, string | undefined];
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const bits = len === undefined ? 32 : Number(len);
  const size = 2 ** (32 - bits);
  return { base: n - (n % size), bits };
}

function inNetwork(ip: string, cidr: string): boolean {
  const net = networkOf(cidr);
  const host = networkOf(`${ip}/${net.bits}`);
  return host.base === net.base;
}

export function routingBatch(spec: RoutingSpec, states: Record<string, ProviderState>, target: TargetRouting): RoutingBatch {
  const commands = cleanupCommands(target);
  const warnings: string[] = [];
  const outcomes: ProviderOutcome[] = [];
  const usable: { p: ProviderSpec; via: string }[] = [];

  for (const p of spec.providers) {
    const state = states[p.name] ?? 'up';
    const addresses = target.addresses[p.interface] ?? [];
    const ptp = target.pointToPoint.includes(p.interface);
    let gateway: string | undefined = p.gateway === 'detect' ? target.learnedGateways[p.interface] : p.gateway === 'none' ? undefined : p.gateway;
    let problem: string | undefined;
    if (addresses.length === 0) problem = `${p.interface} has no IPv4 address yet`;
    else if (p.gateway === 'detect' && gateway === undefined && !ptp) problem = `no gateway learned on ${p.interface} yet (DHCP not answered?)`;
    else if (gateway !== undefined && !ptp && !addresses.some((a) => inNetwork(gateway!, a))) {
      problem = `gateway ${gateway} is in no network of ${p.interface} (${addresses.join(', ')})`;
      gateway = undefined;
    }
    outcomes.push({ name: p.name, interface: p.interface, state, routing: false, gateway, ...(problem ? { problem } : {}) });
    if (problem) {
      warnings.push(`provider ${p.name} (${p.origin}) is left out: ${problem}`);
      continue;
    }
    const via = gateway === undefined ? `dev ${p.interface}` : `via ${gateway} dev ${p.interface}`;
    usable.push({ p, via });
    if (p.gateway !== 'none') {
      if (gateway !== undefined) commands.push(`route replace ${gateway} table ${p.number} proto ${ROUTE_PROTO} dev ${p.interface}`);
      commands.push(`route replace default table ${p.number} proto ${ROUTE_PROTO} ${via}`);
    }
    if (!p.loose) for (const a of addresses) commands.push(`rule add pref ${SOURCE_PRIORITY + p.number} from ${ipOf(a)} table ${p.number}`);
  }

  // New connections use the providers that are up; when none is, every usable one, so
  // that traffic (and recovery) never depends on a monitor that saw all links fail.
  const up = usable.filter(({ p }) => (states[p.name] ?? 'up') === 'up');
  const live = up.length > 0 ? up : usable;
  if (up.length === 0 && usable.length > 0) warnings.push('every provider is down: routing through all of them until one comes back');
  const liveNames = new Set(live.map(({ p }) => p.name));
  for (const o of outcomes) o.routing = liveNames.has(o.name);

  if (spec.providers.length > 0) {
    commands.push(`rule add pref ${MAIN_PRIORITY} table main`);
    for (const d of target.mainDefaults) commands.push(`route del ${d.join(' ')}`);
    for (const { p } of live) commands.push(`rule add pref ${MARK_PRIORITY + p.number} fwmark ${hex(p.mark)}/${hex(PROVIDER_MASK)} table ${p.number}`);
    const balanced = live.filter(({ p }) => p.balance !== undefined);
    const fallback = live.filter(({ p }) => p.fallback !== undefined);
    const multipath = (list: { p: ProviderSpec; via: string }[], weight: (p: ProviderSpec) => number): string =>
      list.length === 1 ? list[0]!.via : list.map(({ p, via }) => `nexthop ${via} weight ${weight(p)}`).join(' ');
    if (balanced.length > 0) {
      commands.push(`route replace default table ${BALANCE_TABLE} proto ${ROUTE_PROTO} ${multipath(balanced, (p) => p.balance!)}`);
      commands.push(`rule add pref ${BALANCE_PRIORITY} table ${BALANCE_TABLE}`);
    }
    if (fallback.length > 0) commands.push(`route replace default table ${DEFAULT_TABLE} proto ${ROUTE_PROTO} ${multipath(fallback, (p) => p.fallback!)}`);
  }

  const tableOf = (name: string): string => (name === 'main' ? 'main' : String(spec.providers.find((p) => p.name === name)!.number));
  for (const r of spec.rtrules) {
    const provider = r.table === 'main' ? undefined : spec.providers.find((p) => p.name === r.table);
    if (provider && !r.persistent && !liveNames.has(provider.name)) continue;
    const parts = [`rule add pref ${r.priority}`];
    if (r.source?.interface !== undefined) parts.push(`iif ${r.source.interface}`);
    if (r.source?.address !== undefined) parts.push(`from ${r.source.address}`);
    if (r.dest !== undefined) parts.push(`to ${r.dest}`);
    if (r.mark) parts.push(`fwmark ${hex(r.mark.value)}/${hex(r.mark.mask)}`);
    parts.push(`table ${tableOf(r.table)}`);
    commands.push(parts.join(' '));
  }

  for (const r of spec.routes) {
    const provider = r.table === 'main' ? undefined : spec.providers.find((p) => p.name === r.table);
    if (provider && !r.persistent && !liveNames.has(provider.name)) continue;
    const head = r.kind === 'unicast' ? r.dest : `${r.kind} ${r.dest}`;
    const next = `${r.gateway ? ` via ${r.gateway}` : ''}${r.device ? ` dev ${r.device}` : ''}`;
    const metric = r.metric === undefined ? '' : ` metric ${r.metric}`;
    commands.push(`route replace ${head} table ${tableOf(r.table)} proto ${ROUTE_PROTO}${metric}${next}`);
  }
  return { commands, providers: outcomes, warnings };
}
