/**
 * What every part of one family's compile shares, and the small translations from
 * configuration values to matches (ports, protocols, logging) they all use.
 */
import { GatehouseError } from '../errors/index.js';
import type { RuntimeIpset } from '../plan/index.js';
import type { AddressList, Family, Rule, ShorewallConfig, SourcePlace } from '../shorewall/index.js';
import { type AddressMatches, forFamily, type IpsetRegistry } from './addresses.js';
import type { Match, TableBuilder, Target } from './ir.js';
import type { ZoneModel } from './zones.js';

export interface InterfaceAddresses {
  v4: string[];
  v6: string[];
}

export interface CompileOptions {
  /**
   * Addresses of interfaces known at compile time, for `&eth0` in ORIGDEST. When an
   * interface is missing the compiler falls back to address-type matching (see nat.ts).
   */
  interfaceAddresses?: Record<string, InterfaceAddresses>;
  /** Sets filled at run time (the REST API's blocklist): rules may name them; the plan creates them when missing. */
  runtimeIpsets?: RuntimeIpset[];
  /** The REST API's blocklist chains and their run-time sets (src/compile/blocklist.ts); on for every plan an event or `gatehouse compile` makes. */
  blocklist?: boolean;
}

export interface FamilyContext {
  config: ShorewallConfig;
  family: Family;
  model: ZoneModel;
  sets: IpsetRegistry;
  /** Address lists as matches, remembered per list for this family. */
  addressMatches: AddressMatches;
  options: CompileOptions;
}

export function placeError(place: SourcePlace, message: string, hint?: string): GatehouseError {
  return new GatehouseError(message, { place: { file: place.file, line: place.line }, ...(hint === undefined ? {} : { hint }) });
}

/** The rule's address lists in this family, or undefined when the rule does not exist in it. */
export interface FamilyRule {
  rule: Rule;
  source?: AddressList;
  dest?: AddressList;
  origdest?: AddressList;
}

export function ruleInFamily(rule: Rule, ctx: FamilyContext): FamilyRule | undefined {
  if (rule.proto === 'icmp' && ctx.family === 6) return undefined;
  if (rule.proto === 'ipv6-icmp' && ctx.family === 4) return undefined;
  // IPv6 has no broadcast.
  if (rule.condition === 'broadcast' && ctx.family === 6) return undefined;
  const target = rule.natTarget?.address;
  if (target && target.family !== ctx.family) return undefined;
  const source = forFamily(rule.source.addresses, ctx.family, ctx.config.family);
  const dest = forFamily(rule.dest.addresses, ctx.family, ctx.config.family);
  const origdest = forFamily(rule.origdest, ctx.family, ctx.config.family);
  if (source === 'none' || dest === 'none' || origdest === 'none') return undefined;
  const out: FamilyRule = { rule };
  if (source) out.source = source;
  if (dest) out.dest = dest;
  if (origdest) out.origdest = origdest;
  return out;
}

function portWeight(ports: string[]): number {
  let weight = 0;
  for (const p of ports) weight += p.includes(':') ? 2 : 1;
  return weight;
}

/** multiport takes at most 15 ports, a range counting as two. */
export function portChunks(ports: string[] | undefined): (string[] | undefined)[] {
  if (!ports) return [undefined];
  if (ports.length <= 7 || portWeight(ports) <= 15) return [ports];
  const chunks: string[][] = [];
  let current: string[] = [];
  let weight = 0;
  for (const p of ports) {
    const w = p.includes(':') ? 2 : 1;
    if (weight + w > 15) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(p);
    weight += w;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The protocol and port matches of a rule-like entry; one list per multiport chunk. */
export function protocolAlternatives(family: Family, proto: string | undefined, dports?: string[], sports?: string[]): Match[][] {
  if (proto === undefined) return [[]];
  const protocol = protocolMatch(proto);
  if (proto === 'icmp' || proto === 'ipv6-icmp') {
    const type = dports?.[0];
    return [type === undefined ? [protocol] : [protocol, { kind: 'icmpType', family, type }]];
  }
  const out: Match[][] = [];
  for (const d of portChunks(dports)) {
    for (const s of portChunks(sports)) {
      const source: Match | undefined = s && { kind: 'sourcePorts', ports: s };
      const dest: Match | undefined = d && { kind: 'destinationPorts', ports: d };
      // Written out rather than pushed, so each list is allocated at its size.
      out.push(source && dest ? [protocol, source, dest] : source ? [protocol, source] : dest ? [protocol, dest] : [protocol]);
    }
  }
  return out;
}

/** Matches are values nobody changes, so the few protocol matches are made once and shared by every rule. */
const PROTOCOL_MATCHES = new Map<string, Match>();
function protocolMatch(name: string): Match {
  let match = PROTOCOL_MATCHES.get(name);
  if (!match) {
    match = { kind: 'protocol', name };
    PROTOCOL_MATCHES.set(name, match);
  }
  return match;
}

/**
 * Every combination of one item from each list (the last list varies fastest), each
 * followed by `tail`. Each combination is allocated once at its final size: compiled
 * rules keep these arrays, and large rulesets hold hundreds of thousands of them.
 */
export function product(lists: Match[][][], tail: readonly Match[] = []): Match[][] {
  const out: Match[][] = [];
  if (lists.some((list) => list.length === 0)) return out;
  const pick = lists.map(() => 0);
  for (;;) {
    let size = tail.length;
    for (let i = 0; i < lists.length; i++) size += lists[i]![pick[i]!]!.length;
    const combination = new Array<Match>(size);
    let at = 0;
    for (let i = 0; i < lists.length; i++) for (const m of lists[i]![pick[i]!]!) combination[at++] = m;
    for (const m of tail) combination[at++] = m;
    out.push(combination);
    // Advance like an odometer, so the order is that of nested loops.
    let i = lists.length - 1;
    while (i >= 0 && ++pick[i]! === lists[i]!.length) pick[i--] = 0;
    if (i < 0) return out;
  }
}

const SYSLOG_LEVELS: Record<string, string> = {
  emerg: '0', panic: '0', alert: '1', crit: '2', err: '3', error: '3', warning: '4', warn: '4', notice: '5', info: '6', debug: '7',
};

/** LOGFORMAT with the chain and disposition filled in, cut to the kernel's 29 characters. */
export function logPrefix(config: ShorewallConfig, chain: string, disposition: string): string {
  let n = 0;
  const prefix = config.settings.logFormat.replace(/%[sd]/g, (spec) => {
    n++;
    if (spec === '%d') return '0';
    return n === 1 ? chain : disposition;
  });
  return prefix.slice(0, 29);
}

/** Appends `matches -> target`, preceded by a LOG rule when `log` is set. */
export function addWithLog(
  table: TableBuilder,
  config: ShorewallConfig,
  chain: string,
  matches: Match[],
  target: Target,
  log: string | undefined,
  label: { chain: string; disposition: string },
): void {
  if (log !== undefined) {
    const limit: Match[] = config.settings.logLimit ? [{ kind: 'rate', limit: config.settings.logLimit, name: 'gh-log' }] : [];
    table.add(chain, [...matches, ...limit], {
      kind: 'LOG',
      prefix: logPrefix(config, label.chain, label.disposition),
      level: SYSLOG_LEVELS[log] ?? log,
    });
  }
  table.add(chain, matches, target);
}

const NO_MATCHES: Match[] = [];

/** The verdict a log prefix names: ACCEPT+ and DNAT- log as ACCEPT and DNAT. */
export function dispositionOf(action: string): string {
  return action.endsWith('+') || action.endsWith('-') ? action.slice(0, -1) : action;
}

/** Mark test, rate, time and comment matches shared by the filter and nat parts of a rule. */
export function extraMatches(rule: Rule, index: number): Match[] {
  if (!rule.rate && !rule.time && !rule.mark && rule.comment === undefined) return NO_MATCHES;
  const out: Match[] = [];
  if (rule.mark) out.push({ kind: 'mark', value: rule.mark.value, mask: rule.mark.mask, connmark: rule.mark.connmark, negate: rule.mark.negate });
  if (rule.rate) out.push({ kind: 'rate', limit: rule.rate, name: rule.rate.name ?? `gh-rate-${index}` });
  if (rule.time) out.push({ kind: 'time', time: rule.time });
  if (rule.comment !== undefined) out.push({ kind: 'comment', text: rule.comment });
  return out;
}
