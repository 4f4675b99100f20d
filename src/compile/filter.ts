/**
 * The filter table: the stateful base, dispatch by interface (and host addresses) into
 * one chain per zone pair, the rules of each pair in file order, and its policy last.
 */
import type { Disposition, Rule, RuleCondition, SourcePlace } from '../shorewall/index.js';
import { addressAlternatives } from './addresses.js';
import {
  addWithLog,
  dispositionOf,
  extraMatches,
  placeError,
  product,
  protocolAlternatives,
  ruleInFamily,
  type FamilyContext,
  type FamilyRule,
} from './context.js';
import { originOf } from './origins.js';
import { TableBuilder, type Match, type Table, type Target } from './ir.js';
import { resolvePolicy, rulePairs, standardChainPolicy, type Membership } from './zones.js';

export const REJECT_CHAIN = 'reject';
const TCPFLAGS_CHAIN = 'tcpflags';

export interface FilterResult {
  table: Table;
  /** Zone pair chain -> rules in it (policy included). */
  pairRules: Record<string, number>;
  /** True when some traffic is dispatched between interfaces. */
  forwards: boolean;
}

export const pairChain = (source: string, dest: string): string => `${source}-${dest}`;
const preChain = (pair: string): string => `pre@${pair}`;
const blChain = (pair: string): string => `bl@${pair}`;

/** Fills the shared `reject` chain: TCP reset, ICMP unreachable, never at broadcasts. */
function addRejectChain(t: TableBuilder, family: 4 | 6): void {
  if (family === 4) {
    t.add(REJECT_CHAIN, [{ kind: 'sourceBroadcast' }], { kind: 'DROP' });
    t.add(REJECT_CHAIN, [{ kind: 'source', address: '224.0.0.0/4' }], { kind: 'DROP' });
    t.add(REJECT_CHAIN, [{ kind: 'protocol', name: 'tcp' }], { kind: 'REJECT', with: 'tcp-reset' });
    t.add(REJECT_CHAIN, [{ kind: 'protocol', name: 'udp' }], { kind: 'REJECT', with: 'icmp-port-unreachable' });
    t.add(REJECT_CHAIN, [{ kind: 'protocol', name: 'icmp' }], { kind: 'REJECT', with: 'icmp-host-unreachable' });
    t.add(REJECT_CHAIN, [], { kind: 'REJECT', with: 'icmp-host-prohibited' });
  } else {
    t.add(REJECT_CHAIN, [{ kind: 'source', address: 'ff00::/8' }], { kind: 'DROP' });
    t.add(REJECT_CHAIN, [{ kind: 'protocol', name: 'tcp' }], { kind: 'REJECT', with: 'tcp-reset' });
    t.add(REJECT_CHAIN, [{ kind: 'protocol', name: 'udp' }], { kind: 'REJECT', with: 'icmp6-port-unreachable' });
    t.add(REJECT_CHAIN, [], { kind: 'REJECT', with: 'icmp6-adm-prohibited' });
  }
}

/** What a state disposition does, as a target; CONTINUE has none (the packet goes on to the rules). */
function dispositionTarget(verdict: 'ACCEPT' | 'DROP' | 'REJECT' | 'CONTINUE'): Target | undefined {
  return verdict === 'ACCEPT' ? ACCEPT : verdict === 'DROP' ? DROP : verdict === 'REJECT' ? TO_REJECT : undefined;
}

/** The rule for packets in conntrack state `state`, logged first when its *_LOG_LEVEL is set. */
function addState(t: TableBuilder, ctx: FamilyContext, chain: string, state: string, d: Disposition<'ACCEPT' | 'DROP' | 'REJECT' | 'CONTINUE'>): void {
  const target = dispositionTarget(d.verdict);
  if (target) addWithLog(t, ctx.config, chain, [{ kind: 'conntrackState', states: [state] }], target, d.log, { chain, disposition: d.verdict });
}

/**
 * Shorewall's AllowICMPs (action.AllowICMPs, RFC 4890 for IPv6): the ICMP a DROP or
 * REJECT policy still lets through. IPv4: fragmentation needed and time exceeded. IPv6:
 * the errors (destination unreachable, packet too big, time exceeded, parameter problem),
 * router and neighbour discovery, redirect, inverse ND and certification path messages
 * from anywhere, and the multicast listener and multicast router messages only from
 * link-local sources.
 */
const ALLOWED_ICMP: Record<4 | 6, { type: string; linkLocal?: boolean }[]> = {
  4: [{ type: 'fragmentation-needed' }, { type: 'time-exceeded' }],
  6: [
    ...['1', '2', '3', '4', '133', '134', '135', '136', '137', '141', '142'].map((type) => ({ type })),
    ...['130', '131', '132', '143'].map((type) => ({ type, linkLocal: true })),
    ...['148', '149'].map((type) => ({ type })),
    ...['151', '152', '153'].map((type) => ({ type, linkLocal: true })),
  ],
};

/** DROP_DEFAULT / REJECT_DEFAULT: the standard actions a DROP or REJECT policy runs first. */
function addPolicyDefaults(t: TableBuilder, ctx: FamilyContext, chain: string, verdict: string): void {
  if (verdict !== 'DROP' && verdict !== 'REJECT') return;
  for (const action of ctx.config.settings.policyDefaults[verdict]) {
    if (action === 'AllowICMPs') {
      const protocol: Match = { kind: 'protocol', name: ctx.family === 4 ? 'icmp' : 'ipv6-icmp' };
      for (const { type, linkLocal } of ALLOWED_ICMP[ctx.family]) {
        const source: Match[] = linkLocal ? [{ kind: 'source', address: 'fe80::/10' }] : [];
        t.add(chain, [...source, protocol, { kind: 'icmpType', family: ctx.family, type }], ACCEPT);
      }
    } else if (action === 'Broadcast(DROP)') {
      if (ctx.family === 4) t.add(chain, [{ kind: 'destinationType', type: 'BROADCAST' }], DROP);
    } else {
      t.add(chain, [{ kind: 'destinationType', type: 'MULTICAST' }], DROP);
    }
  }
}

function addTcpFlagsChain(t: TableBuilder, ctx: FamilyContext): void {
  const { tcpFlags } = ctx.config.settings.dispositions;
  const target = dispositionTarget(tcpFlags.verdict)!;
  const label = { chain: TCPFLAGS_CHAIN, disposition: tcpFlags.verdict };
  const bad: [string, string][] = [
    ['ALL', 'FIN,URG,PSH'],
    ['ALL', 'NONE'],
    ['SYN,RST', 'SYN,RST'],
    ['FIN,SYN', 'FIN,SYN'],
    ['FIN,RST', 'FIN,RST'],
    ['ACK,PSH,FIN', 'PSH,FIN'],
  ];
  for (const [mask, set] of bad) addWithLog(t, ctx.config, TCPFLAGS_CHAIN, [{ kind: 'protocol', name: 'tcp' }, { kind: 'tcpFlags', mask, set }], target, tcpFlags.log, label);
  const synFromPortZero: Match[] = [{ kind: 'protocol', name: 'tcp' }, { kind: 'tcpFlags', mask: 'FIN,SYN,RST,ACK', set: 'SYN' }, { kind: 'sourcePorts', ports: ['0'] }];
  addWithLog(t, ctx.config, TCPFLAGS_CHAIN, synFromPortZero, target, tcpFlags.log, label);
}

/** Targets of rules, shared: compiled rules are values nobody changes. */
const ACCEPT: Target = { kind: 'ACCEPT' };
const DROP: Target = { kind: 'DROP' };
const RETURN: Target = { kind: 'RETURN' };
const TO_REJECT: Target = { kind: 'jump', chain: REJECT_CHAIN };

function filterTarget(rule: Rule, ctx: FamilyContext): Target | undefined {
  switch (rule.action) {
    case 'ACCEPT':
    case 'ACCEPT+':
    case 'DNAT':
    case 'REDIRECT':
      return ACCEPT;
    case 'DROP':
      return DROP;
    case 'REJECT':
      return TO_REJECT;
    case 'CONTINUE':
    case 'WHITELIST':
      return RETURN;
    case 'BLACKLIST':
      return ctx.config.settings.blacklistDisposition === 'DROP' ? DROP : TO_REJECT;
    case 'NFQUEUE': {
      const q = rule.queue ?? { from: 0, bypass: false };
      return q.to === undefined ? { kind: 'NFQUEUE', from: q.from, bypass: q.bypass } : { kind: 'NFQUEUE', from: q.from, to: q.to, bypass: q.bypass };
    }
    case 'DNAT-':
    case 'REDIRECT-':
      return undefined;
  }
}

/**
 * ORIGDEST in the filter part: the connection's original destination. `!a,b` is neither a
 * nor b. For a DNAT, an interface whose address the compile does not have (`&red0` in
 * dry-run, or red still waiting for DHCP) matches only connections a nat rule translated:
 * its nat rule then matches the interface's own address when the packet arrives. Without
 * that, the accept would open the internal host and port to direct, untranslated traffic.
 * In an ACCEPT rule, an interface known to have no address matches nothing.
 */
function origdestAlternatives(fr: FamilyRule, ctx: FamilyContext, place: SourcePlace, translated: boolean): Match[][] {
  const list = fr.origdest;
  if (!list) return [[]];
  const addresses: string[] = [];
  let unknown = false;
  for (const item of list.items) {
    if (item.kind === 'net') addresses.push(item.address);
    else if (item.kind === 'interfaceAddress') {
      const known = ctx.options.interfaceAddresses?.[item.interface];
      const own = known ? (ctx.family === 4 ? known.v4 : known.v6) : [];
      if (own.length > 0 || (known && !translated)) addresses.push(...own);
      else unknown = true;
    }
  }
  if (list.negate) {
    if (unknown) throw placeError(place, 'ORIGDEST !&interface needs the interface address at compile time', 'write the address');
    return [addresses.map((address): Match => ({ kind: 'originalDestination', address, negate: true }))];
  }
  const out: Match[][] = addresses.map((address) => [{ kind: 'originalDestination', address }]);
  if (unknown) out.push([{ kind: 'conntrackState', states: ['DNAT'] }]);
  return out;
}

/**
 * A DNAT or REDIRECT that changes the port accepts only connections whose original
 * destination port is the one translated (Shorewall's --ctorigdstport): otherwise the
 * internal port would be open directly to the same sources. Shorewall does this for a
 * single original port; each port or range of a list gets its own alternative here.
 */
function originalPorts(rule: Rule, translated: string | undefined): Match[][] {
  if (translated === undefined || !rule.dports || rule.proto === undefined) return [[]];
  return rule.dports.map((port) => [{ kind: 'originalDestinationPort', port }]);
}

const CONDITIONS: Record<RuleCondition, Match[][]> = {
  invalid: [[{ kind: 'conntrackState', states: ['INVALID'] }]],
  broadcast: [[{ kind: 'destinationType', type: 'BROADCAST' }]],
  multicast: [[{ kind: 'destinationType', type: 'MULTICAST' }]],
};

/** Invalid(DROP), Broadcast(DROP), Multicast(DROP): the verdict only for those packets. */
function conditionMatches(rule: Rule): Match[][] {
  return rule.condition === undefined ? [[]] : CONDITIONS[rule.condition];
}

/** The matches of a rule in its zone-pair chain, one list per alternative. */
function filterAlternatives(fr: FamilyRule, index: number, ctx: FamilyContext): Match[][] {
  const rule = fr.rule;
  const { family } = ctx;
  const source = ctx.addressMatches.of(fr.source, 'src');
  let dest: Match[][];
  let protocols: Match[][];
  let origdest: Match[][] = [[]];
  let origPorts: Match[][] = [[]];
  if (rule.action === 'DNAT' && rule.natTarget?.address) {
    const a = rule.natTarget.address;
    dest = [[a.kind === 'net' ? { kind: 'destination', address: a.address } : { kind: 'destinationRange', from: a.from, to: a.to }]];
    const port = rule.natTarget.port?.replace('-', ':');
    protocols = protocolAlternatives(family, rule.proto, port === undefined ? rule.dports : [port], rule.sports);
    origdest = origdestAlternatives(fr, ctx, rule.place, true);
    origPorts = originalPorts(rule, port);
  } else if (rule.action === 'REDIRECT' && rule.natTarget?.port !== undefined) {
    dest = [[]];
    const port = rule.natTarget.port.replace('-', ':');
    protocols = protocolAlternatives(family, rule.proto, [port], rule.sports);
    origPorts = originalPorts(rule, port);
  } else {
    if (fr.dest?.items.some((i) => i.kind === 'mac')) throw placeError(rule.place, 'a MAC address can only match a source');
    dest = ctx.addressMatches.of(fr.dest, 'dst');
    protocols = protocolAlternatives(family, rule.proto, rule.dports, rule.sports);
    if (fr.origdest) {
      if (fr.origdest.items.some((i) => i.kind === 'interfaceAddress' && !ctx.options.interfaceAddresses?.[i.interface])) {
        throw placeError(rule.place, 'ORIGDEST &interface in an ACCEPT rule needs the interface address at compile time', 'use DNAT, or write the address');
      }
      origdest = origdestAlternatives(fr, ctx, rule.place, false);
    }
  }
  return product([source, dest, origdest, protocols, origPorts, conditionMatches(rule)], extraMatches(rule, index));
}

export function buildFilter(ctx: FamilyContext): FilterResult {
  const { config, model, family } = ctx;
  const fw = model.firewall;
  const t = new TableBuilder('filter', { INPUT: 'DROP', FORWARD: 'DROP', OUTPUT: 'DROP' });

  // Which zone pairs traffic can reach, from the memberships.
  const physical = [...new Set(model.memberships.map((m) => m.iface))];
  const forwardLinks: [Membership, Membership][] = [];
  for (const m of model.memberships) {
    for (const n of model.memberships) {
      if (m.iface === n.iface && !(m.routeback || n.routeback)) continue;
      forwardLinks.push([m, n]);
    }
  }
  const reachable = new Set<string>();
  for (const m of model.memberships) {
    reachable.add(pairChain(m.zone, fw));
    reachable.add(pairChain(fw, m.zone));
  }
  for (const [m, n] of forwardLinks) reachable.add(pairChain(m.zone, n.zone));
  const orderedPairs: [string, string][] = [];
  for (const s of model.zones) for (const d of model.zones) if (reachable.has(pairChain(s, d))) orderedPairs.push([s, d]);

  addRejectChain(t, family);
  for (const [s, d] of orderedPairs) t.chain(pairChain(s, d));

  // Rules, in file order: blrules and the early sections before the conntrack accept.
  const preChains = new Set<string>();
  // A rule of the other family adds nothing: its origin is not even worked out (the IPv6 pass
  // over IPv4 files meets every IPv4 rule).
  const addRule = (rule: Rule, index: number, stage: 'bl' | 'pre' | 'main') => {
    const fr = ruleInFamily(rule, ctx);
    if (fr) t.from(originOf(config, rule), () => addRuleFrom(rule, fr, index, stage));
  };
  const addRuleFrom = (rule: Rule, fr: FamilyRule, index: number, stage: 'bl' | 'pre' | 'main') => {
    const target = filterTarget(rule, ctx);
    if (!target) return;
    const pairs = rulePairs(rule.source.zones, rule.dest.zones, model);
    let alternatives: Match[][] | undefined;
    for (const [s, d] of pairs) {
      const pair = pairChain(s, d);
      if (!reachable.has(pair)) continue;
      alternatives ??= filterAlternatives(fr, index, ctx);
      let chain = pair;
      const state: Match[] = [];
      if (stage === 'bl') chain = blChain(pair);
      if (stage === 'pre') {
        chain = preChain(pair);
        if (rule.section !== 'ALL') state.push({ kind: 'conntrackState', states: [rule.section] });
        preChains.add(pair);
      }
      const disposition = dispositionOf(rule.action);
      for (const alt of alternatives) {
        addWithLog(t, config, chain, state.length === 0 ? alt : [...state, ...alt], target, rule.log, { chain: pair, disposition });
      }
    }
  };
  config.blrules.forEach((rule, i) => addRule(rule, i, 'bl'));
  for (const [s, d] of orderedPairs) {
    const pair = pairChain(s, d);
    if (t.has(blChain(pair))) {
      t.chain(preChain(pair)).rules.push({
        matches: [{ kind: 'conntrackState', states: config.settings.blacklistStates }],
        target: { kind: 'jump', chain: blChain(pair) },
      });
      preChains.add(pair);
    }
  }
  config.rules.forEach((rule, i) => addRule(rule, i, rule.section === 'NEW' ? 'main' : 'pre'));

  // Policies close every pair chain.
  const pairRules: Record<string, number> = {};
  for (const [s, d] of orderedPairs) {
    const pair = pairChain(s, d);
    const policy = resolvePolicy(config, model, s, d);
    const target: Target | undefined =
      policy.verdict === 'ACCEPT'
        ? { kind: 'ACCEPT' }
        : policy.verdict === 'DROP' || policy.verdict === 'NONE'
          ? { kind: 'DROP' }
          : policy.verdict === 'REJECT'
            ? { kind: 'jump', chain: REJECT_CHAIN }
            : { kind: 'RETURN' };
    t.from(policy.place && originOf(config, { place: policy.place }), () => {
      addPolicyDefaults(t, ctx, pair, policy.verdict);
      addWithLog(t, config, pair, [], target, policy.log, { chain: pair, disposition: policy.verdict });
    });
    pairRules[pair] = t.chain(pair).rules.length;
  }

  const options = new Map<string, { dhcp: boolean; tcpflags: boolean; nosmurfs: boolean }>();
  for (const iface of config.interfaces) {
    const o = options.get(iface.physical) ?? { dhcp: false, tcpflags: false, nosmurfs: false };
    o.dhcp ||= iface.options.dhcp;
    o.tcpflags ||= iface.options.tcpflags;
    o.nosmurfs ||= iface.options.nosmurfs;
    options.set(iface.physical, o);
  }
  for (const host of config.hosts) {
    const iface = config.interfaces.find((i) => i.name === host.interface);
    const o = iface && options.get(iface.physical);
    if (o) {
      o.tcpflags ||= host.options.tcpflags;
      o.nosmurfs ||= host.options.nosmurfs;
    }
  }
  const maclistInFilter = config.settings.maclistTable === 'filter';

  const srcAlts = (m: Membership) => addressAlternatives(m.addresses, 'src', family, ctx.sets);
  const dstAlts = (m: Membership) => addressAlternatives(m.addresses, 'dst', family, ctx.sets);

  /** Per-interface dispatch chains of one stage; returns the interfaces that got one. */
  const dispatch = (stage: 'main' | 'pre') => {
    const chainFor = (s: string, d: string): string | undefined => {
      const pair = pairChain(s, d);
      if (!reachable.has(pair)) return undefined;
      if (stage === 'pre') return preChains.has(pair) ? preChain(pair) : undefined;
      return pair;
    };
    const prefix = stage === 'pre' ? 'pre-' : '';
    const jumps = { in: [] as string[], fwd: [] as string[], out: [] as string[] };
    for (const iface of physical) {
      const on = model.memberships.filter((m) => m.iface === iface);
      const inChain = `${prefix}in@${iface}`;
      const fwdChain = `${prefix}fwd@${iface}`;
      const outChain = `${prefix}out@${iface}`;
      const opts = options.get(iface);
      const guards = (chain: string) => {
        if (stage !== 'main' || !opts) return;
        if (opts.nosmurfs) {
          const { smurf } = config.settings.dispositions;
          const label = { chain: 'smurfs', disposition: smurf.verdict };
          if (family === 4) addWithLog(t, config, chain, [{ kind: 'sourceBroadcast' }], DROP, smurf.log, label);
          addWithLog(t, config, chain, [{ kind: 'source', address: family === 4 ? '224.0.0.0/4' : 'ff00::/8' }], DROP, smurf.log, label);
        }
        if (opts.tcpflags) t.add(chain, [{ kind: 'protocol', name: 'tcp' }], { kind: 'jump', chain: TCPFLAGS_CHAIN });
        if (maclistInFilter) {
          for (const m of on.filter((x) => x.maclist)) {
            for (const alt of srcAlts(m)) t.add(chain, alt, { kind: 'jump', chain: `mac@${iface}` });
          }
        }
      };
      const start = (chain: string) => {
        if (!t.has(chain)) guards(chain);
      };
      for (const m of on) {
        const target = chainFor(m.zone, fw);
        if (target === undefined) continue;
        if (stage === 'main' && !t.has(inChain) && opts?.dhcp) {
          guards(inChain);
          t.add(inChain, [{ kind: 'protocol', name: 'udp' }, { kind: 'destinationPorts', ports: [family === 4 ? '67:68' : '546:547'] }], { kind: 'ACCEPT' });
        }
        start(inChain);
        for (const alt of srcAlts(m)) t.add(inChain, alt, { kind: 'jump', chain: target });
      }
      for (const [m, n] of forwardLinks) {
        if (m.iface !== iface) continue;
        const target = chainFor(m.zone, n.zone);
        if (target === undefined) continue;
        start(fwdChain);
        for (const s of srcAlts(m)) {
          for (const d of dstAlts(n)) t.add(fwdChain, [...s, { kind: 'outInterface', name: n.iface }, ...d], { kind: 'jump', chain: target });
        }
      }
      for (const n of on) {
        const target = chainFor(fw, n.zone);
        if (target === undefined) continue;
        if (stage === 'main' && !t.has(outChain) && opts?.dhcp) {
          t.add(outChain, [{ kind: 'protocol', name: 'udp' }, { kind: 'destinationPorts', ports: [family === 4 ? '67:68' : '546:547'] }], { kind: 'ACCEPT' });
        }
        for (const alt of dstAlts(n)) t.add(outChain, alt, { kind: 'jump', chain: target });
      }
      if (t.has(inChain)) jumps.in.push(iface);
      if (t.has(fwdChain)) jumps.fwd.push(iface);
      if (t.has(outChain)) jumps.out.push(iface);
    }
    for (const iface of jumps.in) t.add('INPUT', [{ kind: 'inInterface', name: iface }], { kind: 'jump', chain: `${prefix}in@${iface}` });
    for (const iface of jumps.fwd) t.add('FORWARD', [{ kind: 'inInterface', name: iface }], { kind: 'jump', chain: `${prefix}fwd@${iface}` });
    for (const iface of jumps.out) t.add('OUTPUT', [{ kind: 'outInterface', name: iface }], { kind: 'jump', chain: `${prefix}out@${iface}` });
    return jumps;
  };

  t.add('INPUT', [{ kind: 'inInterface', name: 'lo' }], { kind: 'ACCEPT' });
  t.add('OUTPUT', [{ kind: 'outInterface', name: 'lo' }], { kind: 'ACCEPT' });
  if (preChains.size > 0) dispatch('pre');
  const { related, invalid, untracked } = config.settings.dispositions;
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
    if (related.verdict === 'ACCEPT' && related.log === undefined) {
      t.add(chain, [{ kind: 'conntrackState', states: ['ESTABLISHED', 'RELATED'] }], ACCEPT);
    } else {
      t.add(chain, [{ kind: 'conntrackState', states: ['ESTABLISHED'] }], ACCEPT);
      addState(t, ctx, chain, 'RELATED', related);
    }
  }
  // ICMP errors (fragmentation needed, packet too big) that belong to a connection are
  // RELATED and pass above; a forged one belongs to none and meets the policies, as in
  // Shorewall. IPv6 neighbour discovery is link-local (hop limit 255) and must always pass.
  if (family === 6) {
    for (const chain of ['INPUT', 'OUTPUT']) {
      for (const type of ['router-solicitation', 'router-advertisement', 'neighbour-solicitation', 'neighbour-advertisement']) {
        t.add(chain, [{ kind: 'protocol', name: 'ipv6-icmp' }, { kind: 'icmpType', family, type }, { kind: 'hopLimit', equals: 255 }], { kind: 'ACCEPT' });
      }
    }
  }
  // INVALID and UNTRACKED packets that CONTINUE meet the rules and policies, as in Shorewall.
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
    addState(t, ctx, chain, 'INVALID', invalid);
    addState(t, ctx, chain, 'UNTRACKED', untracked);
  }
  if ([...options.values()].some((o) => o.tcpflags)) addTcpFlagsChain(t, ctx);
  const main = dispatch('main');
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'] as const) {
    const policy = standardChainPolicy(config, chain);
    const target = policy.verdict === 'CONTINUE' || policy.verdict === 'NONE' ? undefined : dispositionTarget(policy.verdict);
    if (target) addPolicyDefaults(t, ctx, chain, policy.verdict);
    if (target) addWithLog(t, config, chain, [], target, policy.log, { chain, disposition: policy.verdict });
  }

  return { table: t.build(), pairRules, forwards: main.fwd.length > 0 };
}
