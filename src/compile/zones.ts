/**
 * The zone model of one family: which interface (and addresses) each zone sits on,
 * which zone pairs a rule names, and the policy of each pair.
 */
import { GatehouseError } from '../errors/index.js';
import type { AddressList, Family, PolicyVerdict, ShorewallConfig, SourcePlace, ZoneSelector } from '../shorewall/index.js';
import { forFamily } from './addresses.js';

/** A zone's presence on one interface, optionally limited to addresses (from hosts). */
export interface Membership {
  zone: string;
  iface: string;
  addresses?: AddressList;
  routeback: boolean;
  maclist: boolean;
  fromHosts: boolean;
}

export interface ResolvedPolicy {
  verdict: PolicyVerdict;
  log?: string;
  /** The policy line that decided, when one did. */
  place?: SourcePlace;
}

export interface ZoneModel {
  family: Family;
  firewall: string;
  /** Every zone, firewall included, in file order. */
  zones: string[];
  /** Per physical interface in file order: host memberships first, then the interface's own zone. */
  memberships: Membership[];
  /** rulePairs results by (source, dest) selector: the parser shares selectors, so rules hit this. */
  pairCache: Map<ZoneSelector, Map<ZoneSelector, [string, string][]>>;
}

export function buildZoneModel(config: ShorewallConfig, family: Family): ZoneModel {
  const memberships: Membership[] = [];
  for (const iface of config.interfaces) {
    for (const host of config.hosts) {
      if (host.interface !== iface.name) continue;
      const addresses = forFamily(host.addresses, family, config.family);
      if (addresses === 'none') continue;
      const m: Membership = {
        zone: host.zone,
        iface: iface.physical,
        routeback: host.options.routeback || iface.options.routeback,
        maclist: host.options.maclist,
        fromHosts: true,
      };
      if (addresses) m.addresses = addresses;
      memberships.push(m);
    }
    if (iface.zone !== undefined) {
      memberships.push({ zone: iface.zone, iface: iface.physical, routeback: iface.options.routeback, maclist: iface.options.maclist, fromHosts: false });
    }
  }
  return { family, firewall: config.firewallZone, zones: config.zones.map((z) => z.name), memberships, pairCache: new Map() };
}

export function expandSelector(selector: ZoneSelector, model: ZoneModel): string[] {
  if (selector.kind === 'zones') return selector.names;
  return model.zones.filter((z) => !selector.except.includes(z) && (selector.includeFirewall || z !== model.firewall));
}

/** The (source, dest) zone pairs a rule names; intra-zone pairs only when explicit or with `+`. Shared: do not change. */
export function rulePairs(source: ZoneSelector, dest: ZoneSelector, model: ZoneModel): [string, string][] {
  let bySource = model.pairCache.get(source);
  if (!bySource) {
    bySource = new Map();
    model.pairCache.set(source, bySource);
  }
  let pairs = bySource.get(dest);
  if (!pairs) {
    pairs = computeRulePairs(source, dest, model);
    bySource.set(dest, pairs);
  }
  return pairs;
}

function computeRulePairs(source: ZoneSelector, dest: ZoneSelector, model: ZoneModel): [string, string][] {
  const pairs: [string, string][] = [];
  const explicitSingle = source.kind === 'zones' && source.names.length === 1 && dest.kind === 'zones' && dest.names.length === 1;
  const intra = explicitSingle || source.includeIntra || dest.includeIntra;
  for (const s of expandSelector(source, model)) {
    for (const d of expandSelector(dest, model)) {
      if (s === model.firewall && d === model.firewall) continue;
      if (s === d && !intra) continue;
      pairs.push([s, d]);
    }
  }
  return pairs;
}

function selectorMatches(selector: ZoneSelector, zone: string, model: ZoneModel): boolean {
  return expandSelector(selector, model).includes(zone);
}

/** First matching policy line; intra-zone pairs default to ACCEPT unless named explicitly or with all+. */
export function resolvePolicy(config: ShorewallConfig, model: ZoneModel, source: string, dest: string): ResolvedPolicy {
  for (const p of config.policies) {
    if (!selectorMatches(p.source, source, model) || !selectorMatches(p.dest, dest, model)) continue;
    if (source === dest) {
      const explicit = p.source.kind === 'zones' && p.dest.kind === 'zones' && (p.source.names.length === 1 && p.dest.names.length === 1);
      if (!explicit && !p.source.includeIntra && !p.dest.includeIntra) continue;
    }
    return p.log === undefined ? { verdict: p.policy, place: p.place } : { verdict: p.policy, log: p.log, place: p.place };
  }
  if (source === dest) return { verdict: 'ACCEPT' };
  throw new GatehouseError(`no policy for traffic from ${source} to ${dest}`, {
    place: { file: 'policy' },
    hint: `add a line for ${source} ${dest}, or end the file with: all all REJECT info`,
  });
}

/**
 * The policy at the end of INPUT (all to the firewall), OUTPUT (firewall to all) and
 * FORWARD (all to all): what meets traffic on an interface the interfaces file does not
 * list, or from addresses no zone holds. As Shorewall: the `all $FW` (or `$FW all`) line
 * when there is one, else `all all`, else DROP for INPUT and REJECT for the others,
 * logged at info. CONTINUE and NONE leave the packet to the chain's DROP policy.
 */
export function standardChainPolicy(config: ShorewallConfig, chain: 'INPUT' | 'OUTPUT' | 'FORWARD'): ResolvedPolicy {
  const fw = config.firewallZone;
  const isAll = (s: ZoneSelector) => s.kind === 'all' && s.except.length === 0;
  const isFw = (s: ZoneSelector) => s.kind === 'zones' && s.names.length === 1 && s.names[0] === fw;
  const specific = config.policies.find((p) =>
    chain === 'INPUT' ? isAll(p.source) && isFw(p.dest) : chain === 'OUTPUT' ? isFw(p.source) && isAll(p.dest) : false,
  );
  const general = specific ?? config.policies.find((p) => isAll(p.source) && isAll(p.dest));
  if (general) return general.log === undefined ? { verdict: general.policy } : { verdict: general.policy, log: general.log };
  return { verdict: chain === 'INPUT' ? 'DROP' : 'REJECT', log: 'info' };
}
