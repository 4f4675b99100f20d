/**
 * The iptables-restore and ipset-restore text of a compiled ruleset. Each table is
 * declared completely (every chain, then every rule) so a restore replaces it whole.
 */
import { GatehouseError } from '../errors/index.js';
import type { IpsetDefinition, OriginLine, RuntimeIpset } from '../plan/index.js';
import type { Chain, IrRule, Match, Ruleset, Table, Target } from './ir.js';

const TABLE_ORDER = ['raw', 'mangle', 'nat', 'filter'];

/** Double-quotes a word for iptables-restore when it holds anything but safe characters. */
function quote(text: string): string {
  if (/^[A-Za-z0-9_.:\/@%+=,-]+$/.test(text)) return text;
  return `"${text.replace(/["\\]/g, '')}"`;
}

/** Marks and masks as iptables-save prints them. */
function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** iptables' negation prefix. At module level: a closure made per match was most of the emitter's time. */
function not(negate: boolean | undefined): string {
  return negate ? '! ' : '';
}

function renderMatch(m: Match): string {
  switch (m.kind) {
    case 'inInterface':
      return `${not(m.negate)}-i ${m.name}`;
    case 'outInterface':
      return `${not(m.negate)}-o ${m.name}`;
    case 'source':
      return `${not(m.negate)}-s ${m.address}`;
    case 'destination':
      return `${not(m.negate)}-d ${m.address}`;
    case 'sourceRange':
      return `-m iprange ${not(m.negate)}--src-range ${m.from}-${m.to}`;
    case 'destinationRange':
      return `-m iprange ${not(m.negate)}--dst-range ${m.from}-${m.to}`;
    case 'set':
      return `-m set ${not(m.negate)}--match-set ${m.name} ${m.direction}`;
    case 'mac':
      return `-m mac ${not(m.negate)}--mac-source ${m.mac}`;
    case 'protocol':
      return `-p ${m.name}`;
    case 'destinationPorts':
    case 'sourcePorts': {
      const flag = m.kind === 'destinationPorts' ? 'dport' : 'sport';
      return m.ports.length === 1 ? `--${flag} ${m.ports[0]}` : `-m multiport --${flag}s ${m.ports.join(',')}`;
    }
    case 'icmpType':
      return m.family === 4 ? `--icmp-type ${m.type}` : `--icmpv6-type ${m.type}`;
    case 'conntrackState':
      return `-m conntrack --ctstate ${m.states.join(',')}`;
    case 'originalDestination':
      return `-m conntrack ${not(m.negate)}--ctorigdst ${m.address}`;
    case 'originalDestinationPort':
      return `-m conntrack --ctorigdstport ${m.port}`;
    case 'destinationLocal':
      return `-m addrtype ${not(m.negate)}--dst-type LOCAL${m.onIncomingInterface ? ' --limit-iface-in' : ''}`;
    case 'sourceBroadcast':
      return '-m addrtype --src-type BROADCAST';
    case 'reversePath':
      return m.loose ? '-m rpfilter --loose' : '-m rpfilter';
    case 'destinationType':
      return `-m addrtype --dst-type ${m.type}`;
    case 'tcpFlags':
      return `--tcp-flags ${m.mask} ${m.set}`;
    case 'hopLimit':
      return `-m hl --hl-eq ${m.equals}`;
    case 'tcpMss':
      return `-m tcpmss --mss ${m.from}:`;
    case 'rate': {
      const burst = m.limit.burst === undefined ? '' : ` --${m.limit.per ? 'hashlimit-burst' : 'limit-burst'} ${m.limit.burst}`;
      if (!m.limit.per) return `-m limit --limit ${m.limit.rate}${burst}`;
      const mode = m.limit.per === 'src' ? 'srcip' : 'dstip';
      return `-m hashlimit --hashlimit-upto ${m.limit.rate}${burst} --hashlimit-mode ${mode} --hashlimit-name ${m.name}`;
    }
    case 'time': {
      const t = m.time;
      const parts = ['-m time'];
      if (t.timestart !== undefined) parts.push(`--timestart ${t.timestart}`);
      if (t.timestop !== undefined) parts.push(`--timestop ${t.timestop}`);
      if (t.weekdays !== undefined) parts.push(`--weekdays ${t.weekdays}`);
      if (t.monthdays !== undefined) parts.push(`--monthdays ${t.monthdays}`);
      if (t.datestart !== undefined) parts.push(`--datestart ${t.datestart}`);
      if (t.datestop !== undefined) parts.push(`--datestop ${t.datestop}`);
      if (!t.utc) parts.push('--kerneltz');
      return parts.join(' ');
    }
    case 'comment':
      return `-m comment --comment ${quote(m.text.slice(0, 255))}`;
    case 'mark':
      return `-m ${m.connmark ? 'connmark' : 'mark'} ${not(m.negate)}--mark ${hex(m.value)}/${hex(m.mask)}`;
  }
}

function renderTarget(t: Target): string {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return `-j ${t.kind}`;
    case 'REJECT':
      return t.with === undefined ? '-j REJECT' : `-j REJECT --reject-with ${t.with}`;
    case 'jump':
      return `-j ${t.chain}`;
    case 'LOG':
      return `-j LOG --log-prefix ${quote(t.prefix)} --log-level ${t.level}`;
    case 'DNAT':
      return `-j DNAT --to-destination ${t.to}`;
    case 'SNAT':
      return `-j SNAT --to-source ${t.to}`;
    case 'MASQUERADE':
      return t.ports === undefined ? '-j MASQUERADE' : `-j MASQUERADE --to-ports ${t.ports}`;
    case 'REDIRECT':
      return `-j REDIRECT --to-ports ${t.ports}`;
    case 'NOTRACK':
      return '-j CT --notrack';
    case 'TCPMSS':
      return t.mss === 'pmtu' ? '-j TCPMSS --clamp-mss-to-pmtu' : `-j TCPMSS --set-mss ${t.mss}`;
    case 'NFQUEUE':
      return `-j NFQUEUE ${t.to === undefined ? `--queue-num ${t.from}` : `--queue-balance ${t.from}:${t.to}`}${t.bypass ? ' --queue-bypass' : ''}`;
    case 'MARK':
    case 'CONNMARK': {
      if (t.operation !== 'set') return `-j ${t.kind} --${t.operation}-mark ${hex(t.value)}`;
      return `-j ${t.kind} --set-mark ${hex(t.value)}${t.mask === undefined ? '' : `/${hex(t.mask)}`}`;
    }
    case 'SAVEMARK':
      return `-j CONNMARK --save-mark --mask ${hex(t.mask)}`;
    case 'RESTOREMARK':
      return `-j CONNMARK --restore-mark --mask ${hex(t.mask)}`;
  }
}

/**
 * Text built from many small pieces, joined a few thousand at a time. Joining once at the
 * end kept every piece of a large ruleset alive until then: at 50,000 rules the garbage
 * collector copied them again and again, and emitting took 19 times as long as at 5,000.
 * (Concatenating each line instead builds a rope per rule that must be flattened later.)
 */
class Text {
  private readonly chunks: string[] = [];
  private pieces: string[] = [];

  push(piece: string): void {
    if (this.pieces.push(piece) >= 4096) this.flush();
  }

  private flush(): void {
    this.chunks.push(this.pieces.join(''));
    this.pieces = [];
  }

  toString(): string {
    this.flush();
    return this.chunks.join('');
  }
}

/**
 * The complete iptables-restore (or ip6tables-restore) input for a ruleset. With `origins`,
 * every rule that has an origin is also added to it, as emitted, in the order of
 * `ruleset.tables` (what origins.json lists): the text is rendered once for both.
 */
export function emitRuleset(ruleset: Ruleset, origins?: OriginLine[]): string {
  const out = new Text();
  out.push(`# Gatehouse ruleset, IPv${ruleset.family}. Generated; do not edit.\n`);
  const tables = [...ruleset.tables].sort((a, b) => TABLE_ORDER.indexOf(a.name) - TABLE_ORDER.indexOf(b.name));
  const lines = new Map<Table, OriginLine[]>();
  for (const table of tables) {
    out.push(`*${table.name}\n`);
    for (const chain of table.chains) out.push(`:${chain.name} ${chain.policy ?? '-'} [0:0]\n`);
    const own: OriginLine[] | undefined = origins === undefined ? undefined : [];
    for (const chain of table.chains) emitChain(table.name, chain, out, own);
    if (own !== undefined) lines.set(table, own);
    out.push('COMMIT\n');
  }
  if (origins !== undefined) for (const table of ruleset.tables) for (const line of lines.get(table) ?? []) origins.push(line);
  return out.toString();
}

/**
 * One rule as emitChain writes it (without the newline): what origins.json keys rules by.
 * Joined rather than concatenated: `+=` gives a tree of a dozen string pieces per rule,
 * which origins.json keeps until the plan is written (at 50,000 rules some 30 MB for the
 * garbage collector to copy); join gives one flat string.
 */
export function ruleText(chain: string, rule: IrRule): string {
  const { matches } = rule;
  const parts = new Array<string>(matches.length + 2);
  parts[0] = `-A ${chain}`;
  for (let i = 0; i < matches.length; i++) parts[i + 1] = renderMatch(matches[i]!);
  parts[matches.length + 1] = renderTarget(rule.target);
  return parts.join(' ');
}

function emitChain(table: string, chain: Chain, out: Text, origins: OriginLine[] | undefined): void {
  const start = `-A ${chain.name} `;
  for (const rule of chain.rules) {
    const origin = rule.origin;
    if (origin && origins !== undefined) {
      const text = ruleText(chain.name, rule);
      // Written out, not spread: one object of its final shape per rule.
      origins.push(
        origin.record === undefined
          ? { table, rule: text, file: origin.file, line: origin.line }
          : { table, rule: text, file: origin.file, line: origin.line, record: origin.record },
      );
      out.push(text);
      out.push('\n');
      continue;
    }
    out.push(start);
    for (const m of rule.matches) {
      out.push(renderMatch(m));
      out.push(' ');
    }
    out.push(renderTarget(rule.target));
    out.push('\n');
  }
}

/** `ipset restore` input: one create line and the add lines of each set. */
export function emitIpsets(sets: readonly IpsetDefinition[]): string {
  const out: string[] = ['# Gatehouse ipsets. Generated; do not edit.'];
  for (const set of sets) {
    out.push(`create ${set.name} ${set.spec}`);
    for (const entry of set.entries) out.push(`add ${set.name} ${entry}`);
  }
  return out.join('\n') + '\n';
}

const IPSET_NAME = /^[A-Za-z0-9_.:-]{1,31}$/;

/** The `runtime-ipsets` part: one `create` line per declared run-time set, sorted by name. */
export function emitRuntimeIpsets(sets: readonly RuntimeIpset[]): string {
  const lines = [...sets]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((set) => {
      if (!IPSET_NAME.test(set.name)) {
        throw new GatehouseError(`invalid run-time set name '${set.name}'`, { hint: 'at most 31 letters, digits, _ . : -' });
      }
      const spec = [set.type, 'family', set.family === 4 ? 'inet' : 'inet6', 'maxelem', String(set.maxelem ?? 65536)];
      if (set.timeout !== undefined) spec.push('timeout', String(set.timeout));
      if (set.counters) spec.push('counters');
      return `create ${set.name} ${spec.join(' ')}`;
    });
  return ['# Run-time sets: created when missing, never emptied by Gatehouse. Generated; do not edit.', ...lines].join('\n') + '\n';
}
