/**
 * What the target's routing shows, from `ip -j` output (parsing is pure), and the
 * commands that put a snapshot of Gatehouse's share of it back (rollback).
 */
import { BALANCE_TABLE, DEFAULT_TABLE, ROUTE_PROTO, type TargetRouting, isOwnPriority } from '../compile/index.js';

interface AddrEntry {
  ifname?: string;
  flags?: string[];
  link_type?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
}

interface RouteEntry {
  dst?: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  metric?: number;
  scope?: string;
  type?: string;
  nexthops?: { gateway?: string; dev?: string; weight?: number }[];
}

interface RuleEntry {
  priority?: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  fwmark?: string;
  fwmask?: string;
  table?: string;
}

export interface RoutingSnapshot {
  target: TargetRouting;
  /** Gatehouse's rules and routes as found, to put back on rollback. */
  rules: RuleEntry[];
  routes: RouteEntry[];
}

const OWN_TABLES = new Set([...Array.from({ length: 15 }, (_, i) => String(i + 1)), String(BALANCE_TABLE), String(DEFAULT_TABLE), 'default']);

export function parseTargetRouting(addrJson: string, routeJson: string, ruleJson: string): RoutingSnapshot {
  const addrs = JSON.parse(addrJson) as AddrEntry[];
  const routes = JSON.parse(routeJson) as RouteEntry[];
  const rules = JSON.parse(ruleJson) as RuleEntry[];
  const addresses: Record<string, string[]> = {};
  const pointToPoint: string[] = [];
  for (const a of addrs) {
    if (a.ifname === undefined) continue;
    addresses[a.ifname] = (a.addr_info ?? []).filter((i) => i.family === 'inet' && i.local !== undefined && i.scope !== 'host').map((i) => `${i.local}/${i.prefixlen ?? 32}`);
    if (a.flags?.includes('POINTOPOINT') || a.link_type === 'ppp' || a.link_type === 'none') pointToPoint.push(a.ifname);
  }
  const learnedGateways: Record<string, string> = {};
  const mainDefaults: string[][] = [];
  const ownRoutes: RouteEntry[] = [];
  for (const r of routes) {
    const table = r.table ?? 'main';
    const own = (OWN_TABLES.has(table) || table === 'main') && r.protocol === String(ROUTE_PROTO);
    if (own) ownRoutes.push(r);
    if (r.dst !== 'default') continue;
    const hops = r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }];
    for (const h of hops) if (h.gateway !== undefined && h.dev !== undefined && (table === 'main' || own)) learnedGateways[h.dev] ??= h.gateway;
    if (table === 'main' && !own) mainDefaults.push(routeArgs(r));
  }
  const ownRules = rules.filter((r) => r.priority !== undefined && isOwnPriority(r.priority));
  return {
    target: { addresses, learnedGateways, pointToPoint, ownRulePriorities: ownRules.map((r) => r.priority!), mainDefaults },
    rules: ownRules,
    routes: ownRoutes,
  };
}

/** `ip route` arguments that describe a route (no verb). */
function routeArgs(r: RouteEntry): string[] {
  const out = [r.type && r.type !== 'unicast' ? `${r.type} ${r.dst}` : r.dst ?? 'default', 'table', r.table ?? 'main'];
  if (r.protocol !== undefined) out.push('proto', r.protocol);
  if (r.metric !== undefined) out.push('metric', String(r.metric));
  if (r.nexthops && r.nexthops.length > 0) {
    for (const h of r.nexthops) out.push('nexthop', ...(h.gateway ? ['via', h.gateway] : []), ...(h.dev ? ['dev', h.dev] : []), 'weight', String(h.weight ?? 1));
  } else {
    if (r.gateway) out.push('via', r.gateway);
    if (r.dev) out.push('dev', r.dev);
  }
  return out.join(' ').split(' ');
}

function ruleArgs(r: RuleEntry): string {
  const parts = [`pref ${r.priority}`];
  if (r.iif) parts.push(`iif ${r.iif}`);
  if (r.src && r.src !== 'all') parts.push(`from ${r.src}/${r.srclen ?? 32}`);
  if (r.dst && r.dst !== 'all') parts.push(`to ${r.dst}/${r.dstlen ?? 32}`);
  if (r.fwmark) parts.push(`fwmark ${r.fwmark}${r.fwmask ? `/${r.fwmask}` : ''}`);
  parts.push(`table ${r.table ?? 'main'}`);
  return parts.join(' ');
}

/** Commands that add back what a snapshot held (after a cleanup of whatever is there now). */
export function restoreCommands(snapshot: RoutingSnapshot): string[] {
  return [
    ...snapshot.routes.map((r) => `route replace ${routeArgs(r).join(' ')}`),
    ...snapshot.target.mainDefaults.map((d) => `route replace ${d.join(' ')}`),
    ...snapshot.rules.map((r) => `rule add ${ruleArgs(r)}`),
  ];
}
