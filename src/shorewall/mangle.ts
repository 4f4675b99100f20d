/**
 * The mangle file (Shorewall 5.2, man shorewall-mangle): packet and connection marking.
 * Unlike the rules file, every matching entry acts (the last MARK wins), so entries keep
 * their file order. Each entry is resolved here to the chain it runs in, the way
 * Shorewall decides it: the `:P/:I/:F/:O/:T` designator, else SOURCE `$FW` (OUTPUT),
 * DEST `$FW` (INPUT), else PREROUTING (FORWARD with MARK_IN_FORWARD_CHAIN=Yes).
 * Commands and columns Gatehouse cannot honour yet are refused, never skipped.
 */
import { SHOREWALL_COLUMNS } from './columns.js';
import { GatehouseError } from '../errors/index.js';
import { readAddressList, readPorts, readProtocols, readTime, hasPorts } from './address.js';
import type { FileItem, Row } from './lines.js';
import type { AddressList, Family, Settings, SourcePlace, TimeSpec } from './types.js';
import type { ParseContext } from './zones.js';

export type MangleChainName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** `set` replaces the bits under the mask (all bits without one); `or` and `and` combine with the current mark. */
export type MarkOperation = 'set' | 'or' | 'and';

export type MangleCommand =
  /** MARK sets the packet mark, CONNMARK the connection's mark. */
  | { kind: 'MARK' | 'CONNMARK'; operation: MarkOperation; value: number; mask?: number }
  /** SAVE copies packet mark bits to the connection mark, RESTORE the other way. */
  | { kind: 'SAVE' | 'RESTORE'; mask: number }
  /** Stop processing this chain's marking entries (RETURN). */
  | { kind: 'CONTINUE' }
  | { kind: 'DROP' };

/** The TEST column: `[!]value[/mask][:C]`. */
export interface MarkTest {
  value: number;
  mask: number;
  /** `:C`: test the connection mark rather than the packet mark. */
  connmark: boolean;
  negate: boolean;
}

/** One end of an entry: the firewall, an interface (logical name resolved to the kernel's), and/or addresses. */
export interface MangleEnd {
  firewall: boolean;
  interface?: string;
  negateInterface?: boolean;
  addresses?: AddressList;
}

export interface MangleEntry {
  command: MangleCommand;
  chain: MangleChainName;
  source: MangleEnd;
  dest: MangleEnd;
  proto?: string;
  dports?: string[];
  sports?: string[];
  test?: MarkTest;
  /** Conntrack states (NEW, ESTABLISHED, ...). */
  states?: string[];
  time?: TimeSpec;
  comment?: string;
  place: SourcePlace;
}

/** Column names as Shorewall's alternative `{name:value}` form spells them; IPv6 has HEADERS before PROBABILITY. */
export function mangleColumns(family: Family): readonly string[] {
  return family === 6 ? SHOREWALL_COLUMNS.mangle6 : SHOREWALL_COLUMNS.mangle;
}

const COL = { action: 0, source: 1, dest: 2, proto: 3, dport: 4, sport: 5, user: 6, test: 7 } as const;

/** The mark layout settings of shorewall.conf that decide default masks and limits. */
export interface MarkLayout {
  /** make_mask(MASK_BITS): the default mask of TEST, SAVE and RESTORE. */
  tcMask: number;
  /** Largest SAVE/RESTORE mask without TC_EXPERT (the bits below PROVIDER_OFFSET). */
  smallMax: number;
  tcExpert: boolean;
  markInForwardChain: boolean;
  /** Marks above tcMask must lie wholly in one of these (provider, user or zone bits). */
  providerMask: number;
  userMask: number;
  /** Every mark and mask must be below this (Shorewall's exclusion bit; one more bit with TC_EXPERT). */
  limit: number;
}

const mask = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : 2 ** bits - 1);

function yes(raw: Record<string, string>, name: string): boolean {
  return /^(yes|keep)$/i.test(raw[name] ?? '');
}

function bitsSetting(raw: Record<string, string>, name: string, fallback: number, max: number): number {
  const text = raw[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new GatehouseError(`${name}=${text} is not a number of bits 0..${max}`, { place: { file: 'shorewall.conf' } });
  }
  return n;
}

/** Shorewall's defaults: WIDE_TC_MARKS and HIGH_ROUTE_MARKS pick the widths when the *_BITS settings are absent. */
export function markLayout(settings: Settings): MarkLayout {
  const raw = settings.raw;
  const wide = yes(raw, 'WIDE_TC_MARKS');
  const high = yes(raw, 'HIGH_ROUTE_MARKS');
  const tcBits = bitsSetting(raw, 'TC_BITS', wide ? 14 : 8, 31);
  const maskBits = bitsSetting(raw, 'MASK_BITS', wide ? 16 : 8, 31);
  const providerBits = bitsSetting(raw, 'PROVIDER_BITS', 8, 31);
  let providerOffset = bitsSetting(raw, 'PROVIDER_OFFSET', high ? (wide ? 16 : 8) : 0, 31);
  if (providerOffset > 0 && providerOffset < maskBits) providerOffset = maskBits;
  const zoneOffset = providerOffset > 0 ? providerOffset + providerBits : Math.max(maskBits, providerBits);
  const exclusion = 2 ** (zoneOffset + bitsSetting(raw, 'ZONE_BITS', 0, 31));
  const tcExpert = yes(raw, 'TC_EXPERT');
  const tcMask = mask(maskBits);
  return {
    tcMask,
    smallMax: providerOffset > 0 ? mask(providerOffset) : tcMask,
    tcExpert,
    markInForwardChain: yes(raw, 'MARK_IN_FORWARD_CHAIN'),
    providerMask: mask(providerBits) * 2 ** providerOffset,
    userMask: providerOffset - tcBits > 0 ? mask(providerOffset - tcBits) * 2 ** tcBits : 0,
    limit: tcExpert ? exclusion * 2 + 1 : exclusion,
  };
}

/** Shorewall's check of every mark and mask against the layout (a wrong one fails its compile). */
function verifyMark(row: Row, index: number, value: number, text: string, layout: MarkLayout): void {
  const within = (m: number) => m !== 0 && (value & m) >>> 0 === value;
  const plainMax = layout.tcExpert ? layout.limit - 1 : layout.tcMask;
  if (value >= layout.limit || (value > plainMax && !within(layout.providerMask) && !within(layout.userMask))) {
    throw row.fail(index, `'${text}' is not a mark or mask of this layout`, `up to 0x${layout.tcMask.toString(16)} (MASK_BITS), or bits wholly inside the provider mask 0x${layout.providerMask.toString(16)}`);
  }
}

const DESIGNATORS: Record<string, MangleChainName> = { P: 'PREROUTING', I: 'INPUT', F: 'FORWARD', O: 'OUTPUT', T: 'POSTROUTING' };
const ALL_CHAINS: MangleChainName[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
const ALLOWED: Record<MangleCommand['kind'], MangleChainName[]> = {
  MARK: ALL_CHAINS,
  CONNMARK: ALL_CHAINS,
  SAVE: ALL_CHAINS,
  RESTORE: ALL_CHAINS,
  CONTINUE: ALL_CHAINS,
  DROP: ['PREROUTING', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};
/** Valid Shorewall commands Gatehouse refuses rather than skips. */
const NOT_YET = new Set([
  'ADD', 'DEL', 'CHECKSUM', 'CLASSIFY', 'DIVERT', 'DIVERTHA', 'DSCP', 'ECN', 'HL', 'IMQ', 'INLINE', 'IPMARK',
  'IPTABLES', 'IP6TABLES', 'NFLOG', 'SAME', 'TCPMSS', 'TOS', 'TPROXY', 'TTL',
]);
const STATES = new Set(['NEW', 'RELATED', 'ESTABLISHED', 'INVALID', 'UNTRACKED']);

/** A mark or mask: decimal or 0x hex, 0..0xffffffff. */
function readMarkNumber(row: Row, index: number, text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n > 0xffffffff) {
    throw row.fail(index, `'${text}' is not a valid ${what}`, `expected a number 0..0xffffffff, decimal or 0x hex (e.g. 0x2 or 0x2/0x3f)`);
  }
  return n;
}

function readMarkParam(row: Row, kind: 'MARK' | 'CONNMARK', param: string | undefined, layout: MarkLayout): MangleCommand {
  if (param === undefined || param === '') throw row.fail(0, `${kind} needs a mark`, `expected ${kind}(value) or ${kind}(value/mask), e.g. ${kind}(0x2/0x3f)`);
  let text = param;
  let operation: MarkOperation = 'set';
  if (text.startsWith('|')) [operation, text] = ['or', text.slice(1)];
  else if (text.startsWith('&')) [operation, text] = ['and', text.slice(1)];
  if (/^[^/]+-/.test(text)) {
    throw row.fail(0, `a mark range (${kind}(${param})) is valid Shorewall but Gatehouse does not support it yet`, 'give one mark value');
  }
  const [valueText, maskText, extra] = text.split('/');
  if (extra !== undefined) throw row.fail(0, `'${param}' is not a valid mark`, 'expected value or value/mask');
  const value = readMarkNumber(row, 0, valueText ?? '', 'mark');
  verifyMark(row, 0, value, valueText ?? '', layout);
  if (maskText === undefined) return { kind, operation, value };
  if (operation !== 'set') throw row.fail(0, `'|' and '&' take no mask ('${param}')`, `write ${kind}(|value) or ${kind}(value/mask)`);
  const m = readMarkNumber(row, 0, maskText, 'mask');
  verifyMark(row, 0, m, maskText, layout);
  if ((value & m) >>> 0 !== value) {
    throw row.fail(0, `mark ${valueText} has bits outside its mask ${maskText}`, 'the mark ANDed with the mask must equal the mark');
  }
  return { kind, operation, value, mask: m };
}

function readCommand(row: Row, layout: MarkLayout): { command: MangleCommand; designator?: MangleChainName } {
  const text = row.need(COL.action, 'a command such as MARK(0x2/0x3f):T, SAVE, RESTORE or CONTINUE');
  const m = /^([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?(?::([A-Z]+))?$/.exec(text);
  if (!m) {
    if (/^\d/.test(text)) {
      throw row.fail(COL.action, `'${text}' is the old tcrules form`, 'in the mangle file write MARK(value) with a :P, :F or :T designator');
    }
    throw row.fail(COL.action, `cannot read the action '${text}'`, 'expected COMMAND[(parameters)][:designator]');
  }
  const name = m[1]!;
  const param = m[2];
  let designator: MangleChainName | undefined;
  if (m[3] !== undefined) {
    if (/^N[PIOT]$/.test(m[3])) {
      throw row.fail(COL.action, `the nat-table designator :${m[3]} is valid Shorewall but Gatehouse does not support it yet`, 'use :P, :I, :F, :O or :T');
    }
    designator = DESIGNATORS[m[3]];
    if (designator === undefined) throw row.fail(COL.action, `unknown chain designator ':${m[3]}'`, 'expected :P, :I, :F, :O or :T');
  }
  const noParam = () => {
    if (param !== undefined) throw row.fail(COL.action, `${name} takes no parameter`);
  };
  const maskParam = (): number => {
    if (param === undefined || param === '') return layout.tcMask;
    // Shorewall checks a SAVE/RESTORE mask only against the bits below PROVIDER_OFFSET.
    const value = readMarkNumber(row, COL.action, param, 'mask');
    if (!layout.tcExpert && value > layout.smallMax) {
      throw row.fail(COL.action, `the mask ${param} reaches above the bits below PROVIDER_OFFSET (at most 0x${layout.smallMax.toString(16)})`, 'set TC_EXPERT=Yes in shorewall.conf to save or restore provider bits with the class bits');
    }
    return value;
  };
  let command: MangleCommand;
  switch (name) {
    case 'MARK':
    case 'CONNMARK':
      command = readMarkParam(row, name, param, layout);
      break;
    case 'SAVE':
    case 'RESTORE':
      command = { kind: name, mask: maskParam() };
      break;
    case 'CONTINUE':
    case 'DROP':
      noParam();
      command = { kind: name };
      break;
    default:
      if (NOT_YET.has(name)) {
        throw row.fail(COL.action, `the mangle command ${name} is valid Shorewall but Gatehouse does not support it yet`, 'use MARK, CONNMARK, SAVE, RESTORE, CONTINUE or DROP');
      }
      throw row.fail(COL.action, `unknown mangle command '${name}'`, 'expected MARK, CONNMARK, SAVE, RESTORE, CONTINUE or DROP');
  }
  return designator === undefined ? { command } : { command, designator };
}

/** SOURCE or DEST: `-`, `$FW[:addresses]`, `[!]interface[:addresses]` or addresses. */
function readEnd(row: Row, index: number, ctx: ParseContext): MangleEnd {
  const text = row.get(index);
  if (text === undefined) return { firewall: false };
  const allow = index === COL.source ? (['net', 'range', 'ipset', 'mac'] as const) : (['net', 'range', 'ipset'] as const);
  const addresses = (t: string, kinds: readonly ('net' | 'range' | 'ipset' | 'mac')[]) => readAddressList(row, index, t.replace(/^\((.*)\)$/, '$1'), { allow: [...kinds] });
  if (text === ctx.firewallZone) return { firewall: true };
  if (text.startsWith(`${ctx.firewallZone}:`)) {
    return { firewall: true, addresses: addresses(text.slice(ctx.firewallZone.length + 1), ['net', 'range', 'ipset']) };
  }
  // An interface name never holds '.', '/', ':' before its end, nor starts with a digit, '+', '~' or '&'.
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const bang = head.startsWith('!');
  const name = bang ? head.slice(1) : head;
  const iface = ctx.interfaces.get(name);
  const wildcard = [...ctx.interfaces.values()].find((i) => i.name.endsWith('+') && name.startsWith(i.name.slice(0, -1)));
  if (iface || wildcard) {
    if (bang && index === COL.dest) throw row.fail(index, `'!${name}': only a SOURCE interface may be negated`, 'name the interface without !');
    const end: MangleEnd = { firewall: false, interface: iface ? iface.physical : name };
    if (bang) end.negateInterface = true;
    if (colon >= 0) end.addresses = addresses(text.slice(colon + 1), allow);
    return end;
  }
  try {
    return { firewall: false, addresses: addresses(text, allow) };
  } catch (e) {
    // An IPv6 address may start with letters (fe80::1): a name is only reported when the text is no address.
    if (/^!?[A-Za-z][A-Za-z0-9_.-]*$/.test(head) && !head.includes('.')) {
      throw row.fail(index, `'${head}' is neither $FW nor an interface from the interfaces file`, `expected -, $FW, an interface (${[...ctx.interfaces.keys()].join(', ')}), interface:addresses or addresses`);
    }
    throw e;
  }
}

function readTest(row: Row, layout: MarkLayout): MarkTest | undefined {
  const text = row.get(COL.test);
  if (text === undefined) return undefined;
  const m = /^(!)?([^/:]+)(?:\/([^/:]+))?(:C)?$/.exec(text);
  if (!m) throw row.fail(COL.test, `'${text}' is not a mark test`, 'expected [!]value[/mask][:C], e.g. 0x2/0x3f:C');
  const value = readMarkNumber(row, COL.test, m[2]!, 'mark');
  verifyMark(row, COL.test, value, m[2]!, layout);
  const testMask = m[3] === undefined ? layout.tcMask : readMarkNumber(row, COL.test, m[3], 'mask');
  if (m[3] !== undefined) verifyMark(row, COL.test, testMask, m[3], layout);
  return { value, mask: testMask, connmark: m[4] !== undefined, negate: m[1] !== undefined };
}

function resolveChain(row: Row, command: MangleCommand, designator: MangleChainName | undefined, source: MangleEnd, dest: MangleEnd, layout: MarkLayout): MangleChainName {
  let chain: MangleChainName | undefined;
  if (source.firewall) {
    if (designator !== undefined && designator !== 'OUTPUT') throw row.fail(COL.action, 'entries with SOURCE $FW run in the OUTPUT chain', 'remove the chain designator');
    chain = 'OUTPUT';
  }
  if (dest.firewall) {
    if (designator !== undefined && designator !== 'INPUT') throw row.fail(COL.action, 'entries with DEST $FW run in the INPUT chain', 'remove the chain designator');
    chain = 'INPUT';
  }
  chain ??= designator ?? (layout.markInForwardChain ? 'FORWARD' : 'PREROUTING');
  if (!ALLOWED[command.kind].includes(chain)) {
    throw row.fail(COL.action, `${command.kind} entries are not allowed in the ${chain} chain`, `use one of: ${ALLOWED[command.kind].join(', ')}`);
  }
  return chain;
}

/** Interface and MAC restrictions of each chain (an interface is only known where the kernel knows it). */
function checkEnds(row: Row, chain: MangleChainName, source: MangleEnd, dest: MangleEnd): void {
  if (source.interface !== undefined) {
    if (chain === 'OUTPUT') throw row.fail(COL.source, 'a SOURCE interface is not allowed when the source is the firewall (OUTPUT)');
    if (chain === 'POSTROUTING') {
      throw row.fail(COL.source, `a SOURCE interface (${source.interface}) cannot be matched after routing (:T, POSTROUTING)`, 'give the networks behind it as SOURCE (192.168.1.0/24), or use :F');
    }
  }
  if (dest.interface !== undefined) {
    if (chain === 'PREROUTING') {
      throw row.fail(COL.dest, `a DEST interface (${dest.interface}) is not known before routing (PREROUTING)`, 'use :F or :T, or give destination addresses');
    }
    if (chain === 'INPUT') throw row.fail(COL.dest, 'a DEST interface is not allowed when the destination is the firewall (INPUT)');
  }
  if ((chain === 'OUTPUT' || chain === 'POSTROUTING') && source.addresses?.items.some((i) => i.kind === 'mac')) {
    throw row.fail(COL.source, `a MAC address cannot be matched in the ${chain} chain`, 'use :P or :F');
  }
}

/** Parses the mangle file of one family. */
export function parseMangle(items: FileItem[], ctx: ParseContext, settings: Settings): MangleEntry[] {
  const layout = markLayout(settings);
  const columns = mangleColumns(ctx.family);
  const unsupported = columns.map((name, i) => ({ name, i })).filter(({ name }) => !['action', 'source', 'dest', 'proto', 'dport', 'sport', 'test', 'state', 'time'].includes(name));
  const stateIndex = columns.indexOf('state');
  const timeIndex = columns.indexOf('time');
  const out: MangleEntry[] = [];
  let comment: string | undefined;
  for (const item of items) {
    if (item.kind === 'comment') {
      comment = item.text;
      continue;
    }
    if (item.kind === 'section') throw new GatehouseError('?SECTION belongs in the rules file', { place: { file: 'mangle', line: item.line } });
    if (item.kind !== 'row') continue;
    const row = item.row;
    const extra = row.extraColumnIndex();
    if (extra !== undefined) throw row.fail(extra, 'unexpected extra column');
    for (const { name, i } of unsupported) {
      if (row.get(i) !== undefined) throw row.fail(i, `the ${name.toUpperCase()} column is valid Shorewall but Gatehouse does not support it in the mangle file yet`, 'leave it as -');
    }
    const { command, designator } = readCommand(row, layout);
    const source = readEnd(row, COL.source, ctx);
    const dest = readEnd(row, COL.dest, ctx);
    const chain = resolveChain(row, command, designator, source, dest, layout);
    checkEnds(row, chain, source, dest);
    const test = readTest(row, layout);
    let states: string[] | undefined;
    const stateText = row.get(stateIndex);
    if (stateText !== undefined) {
      states = stateText.toUpperCase().split(',');
      for (const s of states) if (!STATES.has(s)) throw row.fail(stateIndex, `unknown state '${s}'`, 'expected NEW, RELATED, ESTABLISHED, INVALID or UNTRACKED, comma separated');
      if (new Set(states).size !== states.length) throw row.fail(stateIndex, 'a state is listed twice');
    }
    const time = readTime(row, timeIndex);
    for (const proto of readProtocols(row, COL.proto)) {
      const entry: MangleEntry = { command, chain, source, dest, place: { file: 'mangle', line: row.line } };
      if (proto !== undefined) entry.proto = proto;
      const dports = readPorts(row, COL.dport, proto);
      if (dports) entry.dports = dports;
      if (row.get(COL.sport) !== undefined) {
        if (row.get(COL.sport) === '=') throw row.fail(COL.sport, "'=' in SPORT is valid Shorewall but Gatehouse does not support it yet", 'write the ports in DPORT and SPORT on two lines');
        if (!hasPorts(proto)) throw row.fail(COL.sport, 'source ports need tcp, udp or sctp', 'set PROTO');
        entry.sports = readPorts(row, COL.sport, proto)!;
      }
      if (test) entry.test = test;
      if (states) entry.states = states;
      if (time) entry.time = time;
      if (comment !== undefined) entry.comment = comment;
      out.push(entry);
    }
  }
  return out;
}
