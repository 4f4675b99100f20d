/**
 * rules and blrules: one line may become several rules (a macro's entries, a protocol
 * list such as tcp,udp), all sharing the line's place.
 */
import { SHOREWALL_COLUMNS, columnIndex } from './columns.js';
import { GatehouseError } from '../errors/index.js';
import { hasPorts, parseNetwork, parseRate, readAddressList, readLogLevel, readPorts, readProtocols, readTime, type AddressListOptions } from './address.js';
import type { FileItem, ItemVisitor, Row } from './lines.js';
import { knownMacroNames, macroEntries, type MacroEntry } from './macros.js';
import type { AddressList, Endpoint, MarkMatch, NatTarget, QueueTarget, RateLimit, Rule, RuleAction, RuleCondition, RuleSection } from './types.js';
import { readZoneSelector, type ParseContext } from './zones.js';

export const RULE_COLUMNS = SHOREWALL_COLUMNS.rules;
const C = Object.fromEntries((['action', 'source', 'dest', 'proto', 'dport', 'sport', 'origdest', 'rate', 'mark', 'time'] as const).map((n) => [n, columnIndex('rules', n)])) as Record<
  'action' | 'source' | 'dest' | 'proto' | 'dport' | 'sport' | 'origdest' | 'rate' | 'mark' | 'time',
  number
>;
const UNSUPPORTED_COLUMNS = (['user', 'connlimit', 'headers', 'switch', 'helper'] as const).map((n) => columnIndex('rules', n));

const SECTION_ORDER: RuleSection[] = ['ALL', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'NEW'];
const RULE_ACTIONS: RuleAction[] = ['ACCEPT', 'ACCEPT+', 'DROP', 'REJECT', 'CONTINUE', 'DNAT', 'DNAT-', 'REDIRECT', 'REDIRECT-', 'NFQUEUE'];
const BLRULE_ACTIONS: RuleAction[] = ['BLACKLIST', 'WHITELIST', 'ACCEPT', 'DROP', 'REJECT', 'CONTINUE'];
/** Shorewall actions we recognise but do not compile yet: an error says so. */
const KNOWN_UNSUPPORTED = new Set([
  'LOG', 'ULOG', 'NFLOG', 'QUEUE', 'NONAT', 'SAME', 'MARK', 'CONNMARK', 'COUNT', 'AUDIT', 'A_ACCEPT', 'A_DROP',
  'A_REJECT', 'INLINE', 'IPTABLES', 'IP6TABLES', 'NFQBY', 'NotSyn', 'dropInvalid',
  'dropNotSyn', 'DropSmurfs', 'TCPFlags', 'Limit', 'AllowICMPs', 'Established', 'Related', 'New', 'Untracked', 'BLACKLIST',
  'WHITELIST', 'DNAT!', 'SNAT', 'MASQUERADE', 'REJECT!', 'ACCEPT!', 'DROP!', 'HELPER', 'CT', 'TARPIT', 'RST', 'FIN',
]);

/** Standard actions that are a verdict with a condition (see RuleCondition). */
const CONDITION_ACTIONS: Record<string, RuleCondition> = { Invalid: 'invalid', Broadcast: 'broadcast', Multicast: 'multicast' };

interface ParsedAction {
  action: RuleAction;
  queue?: QueueTarget;
  condition?: RuleCondition;
  log?: string;
  macro?: MacroEntry[];
}

function readAction(row: Row, allowed: RuleAction[]): ParsedAction {
  const text = row.need(C.action, 'an action such as ACCEPT, DROP, REJECT, DNAT or a macro like SSH(ACCEPT)');
  let head = text;
  let logText: string | undefined;
  // The log level follows the last ':' outside parentheses.
  const close = text.lastIndexOf(')');
  const colon = text.indexOf(':', close + 1);
  if (colon >= 0) {
    head = text.slice(0, colon);
    logText = text.slice(colon + 1);
    if (logText.includes(':')) throw row.fail(C.action, `log tags ('${logText}') are not supported yet`, 'write ACTION:level');
  }
  const nfqueue = /^NFQUEUE(?:\((.*)\))?$/.exec(head);
  if (nfqueue && allowed.includes('NFQUEUE')) {
    const parsed: ParsedAction = { action: 'NFQUEUE', queue: readQueue(row, nfqueue[1]) };
    if (logText !== undefined) {
      const level = readLogLevel(row, C.action, logText);
      if (level !== undefined) parsed.log = level;
    }
    return parsed;
  }
  let macroName: string | undefined;
  let verdict = head;
  const call = /^([A-Za-z0-9_]+)\(([^()]*)\)$/.exec(head);
  const slash = /^([A-Za-z0-9_]+)\/([A-Za-z+-]+)$/.exec(head);
  if (call) [macroName, verdict] = [call[1], call[2] ?? ''];
  else if (slash) [macroName, verdict] = [slash[1], slash[2] ?? ''];
  // Invalid, Broadcast and Multicast alone mean their default verdict, DROP.
  if (macroName === undefined && Object.hasOwn(CONDITION_ACTIONS, head)) [macroName, verdict] = [head, 'DROP'];
  const parsed: ParsedAction = { action: verdict as RuleAction };
  if (macroName !== undefined && Object.hasOwn(CONDITION_ACTIONS, macroName)) {
    if (!['ACCEPT', 'DROP', 'REJECT'].includes(verdict)) throw row.fail(C.action, `${macroName}(${verdict}) is not supported`, `expected ${macroName}(DROP), ${macroName}(REJECT) or ${macroName}(ACCEPT)`);
    parsed.condition = CONDITION_ACTIONS[macroName]!;
  } else if (macroName !== undefined) {
    const entries = macroEntries(macroName);
    if (!entries) {
      throw row.fail(C.action, `unknown macro '${macroName}'`, `Gatehouse knows: ${knownMacroNames().join(', ')}`);
    }
    parsed.macro = entries;
  }
  if (!allowed.includes(verdict as RuleAction)) {
    const supported = `expected ${allowed.join(', ')}${macroName === undefined ? `, or a macro such as SSH(ACCEPT) or Ping/DROP` : ''}`;
    if (KNOWN_UNSUPPORTED.has(verdict)) throw row.fail(C.action, `action '${verdict}' is valid Shorewall but not supported here yet`, supported);
    if (macroName === undefined && /^[A-Z][A-Za-z0-9]*$/.test(verdict) && macroEntries(verdict)) {
      throw row.fail(C.action, `macro '${verdict}' needs an action`, `write ${verdict}(ACCEPT) or ${verdict}/ACCEPT`);
    }
    throw row.fail(C.action, `unknown action '${verdict}'`, supported);
  }
  if (logText !== undefined) {
    const level = readLogLevel(row, C.action, logText);
    if (level !== undefined) parsed.log = level;
  }
  return parsed;
}

/** NFQUEUE's parameters: `(queue)`, `(first:last)`, each optionally with `,bypass`, or `(bypass)`; queue 0 by default. */
function readQueue(row: Row, text: string | undefined): QueueTarget {
  const parts = text === undefined || text === '' ? [] : text.split(',');
  const bypass = parts.length > 0 && parts[parts.length - 1] === 'bypass';
  if (bypass) parts.pop();
  const bad = () => row.fail(C.action, `cannot read NFQUEUE(${text ?? ''})`, 'expected NFQUEUE, NFQUEUE(n), NFQUEUE(first:last), each optionally with ,bypass, or NFQUEUE(bypass); queues 0-65535');
  if (parts.length > 1) throw bad();
  if (parts.length === 0) return { from: 0, bypass };
  const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(parts[0]!);
  if (!m) throw bad();
  const from = Number(m[1]);
  const to = m[2] === undefined ? undefined : Number(m[2]);
  if (from > 65535 || (to !== undefined && (to > 65535 || to <= from))) throw bad();
  return to === undefined ? { from, bypass } : { from, to, bypass };
}

/** The MARK column: `[!]value[/mask][:C]`, numbers in decimal or 0x hex; no mask means every bit. */
function readMarkTest(row: Row, text: string): MarkMatch {
  const m = /^(!)?(0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?(:C)?$/i.exec(text);
  const value = m ? Number(m[2]) : NaN;
  const mask = m?.[3] === undefined ? 0xffffffff : Number(m[3]);
  if (!m || value > 0xffffffff || mask > 0xffffffff) {
    throw row.fail(C.mark, `'${text}' is not a mark test`, 'expected [!]value[/mask][:C], e.g. !0x80/0x80:C (C tests the connection mark)');
  }
  return { value, mask, connmark: m[4] !== undefined, negate: m[1] !== undefined };
}

/** `zone`, `zone:addr,...`, `zone:~MAC`, `zone:+set`, `all`, `loc,net`. */
function readEndpoint(row: Row, index: number, text: string, ctx: ParseContext, isSource: boolean): Endpoint {
  const colon = text.indexOf(':');
  const zoneText = colon < 0 ? text : text.slice(0, colon);
  const zones = readZoneSelector(row, index, zoneText, ctx);
  if (colon < 0) return { zones };
  return { zones, addresses: readAddressList(row, index, text.slice(colon + 1), isSource ? SOURCE_ADDRESSES : DEST_ADDRESSES) };
}

/**
 * The endpoint of the previous row, per column. Consecutive rows often name the same
 * endpoint (the tcp and udp rows of one rule, the rows of a macro): they share it, which
 * saves the parse and, in the compiler, the matches built from it. A map of every text
 * would cost more than it saves on large files where most endpoints are unique.
 */
interface LastEndpoint {
  text?: string;
  endpoint?: Endpoint;
}

interface EndpointCache {
  source: LastEndpoint;
  dest: LastEndpoint;
}

function cachedEndpoint(last: LastEndpoint, row: Row, index: number, text: string, ctx: ParseContext, isSource: boolean): Endpoint {
  if (last.text === text && last.endpoint) return last.endpoint;
  const endpoint = readEndpoint(row, index, text, ctx, isSource);
  last.text = text;
  last.endpoint = endpoint;
  return endpoint;
}

const SOURCE_ADDRESSES: AddressListOptions = { allow: ['net', 'range', 'mac', 'ipset'] };
const DEST_ADDRESSES: AddressListOptions = { allow: ['net', 'range', 'ipset'] };

/** DNAT's DEST: `zone:address[:port]`, IPv6 in brackets (`loc:[2001:db8::5]:80`). */
function readDnatDest(row: Row, text: string, ctx: ParseContext): { dest: Endpoint; target: NatTarget } {
  const colon = text.indexOf(':');
  const zoneText = colon < 0 ? text : text.slice(0, colon);
  const dest: Endpoint = { zones: readZoneSelector(row, C.dest, zoneText, ctx) };
  if (dest.zones.kind !== 'zones' || dest.zones.names.length !== 1) {
    throw row.fail(C.dest, 'DNAT needs exactly one destination zone', 'expected zone:address[:port], e.g. loc:192.168.1.10:22');
  }
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  if (rest === '') throw row.fail(C.dest, 'DNAT without a target address', 'expected zone:address[:port], e.g. loc:192.168.1.10:22');
  let addressText = rest;
  let port: string | undefined;
  const bracketed = /^[<[]([^>\]]+)[>\]](?::(.+))?$/.exec(rest);
  if (bracketed) {
    addressText = bracketed[1] ?? '';
    port = bracketed[2];
  } else if (rest.split(':').length === 2) {
    [addressText, port] = rest.split(':') as [string, string];
  } else if (rest.includes(':') && !parseNetwork(rest)) {
    throw row.fail(C.dest, `cannot read the DNAT target '${rest}'`, 'write an IPv6 target in brackets: loc:[2001:db8::5]:80');
  }
  const target: NatTarget = {};
  if (addressText !== '') {
    const list = readAddressList(row, C.dest, addressText, { allow: ['net', 'range'], exclusion: false });
    const item = list.items[0];
    if (list.negate || list.items.length !== 1 || !item || (item.kind === 'net' && item.address.includes('/'))) {
      throw row.fail(C.dest, `'${addressText}' is not one address or range`, 'expected one address (192.168.1.10) or a range (192.168.1.10-192.168.1.12)');
    }
    if (item.kind === 'net' || item.kind === 'range') target.address = item;
  } else {
    throw row.fail(C.dest, 'DNAT without a target address', 'expected zone:address[:port], e.g. loc:192.168.1.10:22');
  }
  if (port !== undefined) target.port = readNatPort(row, port);
  dest.addresses = { items: [target.address!], negate: false };
  return { dest, target };
}

function readNatPort(row: Row, text: string): string {
  const m = /^(\d{1,5})(?:[-:](\d{1,5}))?$/.exec(text);
  const ok = (p: string | undefined) => p === undefined || Number(p) <= 65535;
  if (!m || !ok(m[1]) || !ok(m[2]) || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
    throw row.fail(C.dest, `port '${text}' is out of range`, 'expected a port 0-65535 or a range low-high');
  }
  return m[2] === undefined ? String(Number(m[1])) : `${Number(m[1])}-${Number(m[2])}`;
}

/** Feeds a file's items to a visitor (see eachItem): rules files are parsed as they are split. */
export type ItemSource = (visit: ItemVisitor) => void;

export function parseRuleFile(source: ItemSource, ctx: ParseContext, file: 'rules' | 'blrules'): Rule[] {
  const out: Rule[] = [];
  let section: RuleSection = file === 'rules' ? 'NEW' : 'NEW';
  let sectionIndex = -1;
  let comment: string | undefined;
  const actions = new Map<string, ParsedAction>();
  const endpoints: EndpointCache = { source: {}, dest: {} };
  source((item: FileItem) => {
    if (item.kind === 'format') return;
    if (item.kind === 'comment') {
      comment = item.text;
      return;
    }
    if (item.kind === 'section') {
      const place = { file, line: item.line, column: String(item.column) };
      if (file !== 'rules') throw new GatehouseError('?SECTION is only valid in the rules file', { place });
      const index = SECTION_ORDER.indexOf(item.name as RuleSection);
      if (index < 0) throw new GatehouseError(`unknown section '${item.name}'`, { place, hint: `expected ${SECTION_ORDER.join(', ')}` });
      if (index <= sectionIndex) {
        throw new GatehouseError(`section ${item.name} is out of order`, { place, hint: `sections come in this order: ${SECTION_ORDER.join(', ')}` });
      }
      sectionIndex = index;
      section = item.name as RuleSection;
      return;
    }
    for (const rule of parseRuleRow(item.row, ctx, file, section, comment, actions, endpoints)) out.push(rule);
  });
  return out;
}

function parseRuleRow(
  row: Row,
  ctx: ParseContext,
  file: 'rules' | 'blrules',
  section: RuleSection,
  comment: string | undefined,
  actions: Map<string, ParsedAction>,
  endpoints: EndpointCache,
): Rule[] {
  const extra = row.extraColumnIndex();
  if (extra !== undefined) throw row.fail(extra, 'unexpected extra column', 'a rule has at most 15 columns');
  for (const col of UNSUPPORTED_COLUMNS) {
    if (row.get(col) !== undefined) throw row.fail(col, 'this column is not supported yet', 'leave it as -');
  }
  // Files repeat a handful of action texts; each is read (and checked) once per file.
  const actionText = row.get(C.action);
  let parsed = actionText === undefined ? undefined : actions.get(actionText);
  if (!parsed) {
    parsed = readAction(row, file === 'rules' ? RULE_ACTIONS : BLRULE_ACTIONS);
    actions.set(actionText!, parsed);
  }
  const action = parsed.action;
  const isDnat = action === 'DNAT' || action === 'DNAT-';
  const isRedirect = action === 'REDIRECT' || action === 'REDIRECT-';
  if ((isDnat || isRedirect) && section !== 'NEW') {
    throw row.fail(C.action, `${action} is only valid in the NEW section`, 'move the line below ?SECTION NEW');
  }
  const source = cachedEndpoint(endpoints.source, row, C.source, row.need(C.source, 'a source zone, $FW or all'), ctx, true);
  let dest: Endpoint;
  let natTarget: NatTarget | undefined;
  if (isDnat) {
    const text = row.get(C.dest);
    if (text === undefined) throw row.fail(C.dest, 'DNAT without a target', 'expected zone:address[:port], e.g. loc:192.168.1.10:22');
    ({ dest, target: natTarget } = readDnatDest(row, text, ctx));
  } else if (isRedirect) {
    const text = row.need(C.dest, 'the local port to redirect to');
    const port = /^\d+$/.test(text) ? text : text.slice(text.lastIndexOf(':') + 1);
    natTarget = { port: readNatPort(row, port) };
    dest = { zones: { kind: 'zones', names: [ctx.firewallZone], includeIntra: false } };
  } else {
    dest = cachedEndpoint(endpoints.dest, row, C.dest, row.need(C.dest, 'a destination zone, $FW or all'), ctx, false);
  }

  // The columns every rule of this line shares, read once.
  const place = { file, line: row.line };
  const origdestText = row.get(C.origdest);
  let origdest: AddressList | undefined;
  if (origdestText !== undefined) {
    if (!isDnat && !isRedirect && action !== 'ACCEPT' && action !== 'ACCEPT+') {
      throw row.fail(C.origdest, 'ORIGDEST is only used with DNAT, REDIRECT and ACCEPT', 'leave it as -');
    }
    origdest = readAddressList(row, C.origdest, origdestText, { allow: ['net', 'interfaceAddress'], exclusion: false });
  }
  const rateText = row.get(C.rate);
  let rate: RateLimit | undefined;
  if (rateText !== undefined) {
    rate = parseRate(rateText);
    if (!rate) throw row.fail(C.rate, `'${rateText}' is not a rate`, 'expected [s:|d:]rate/unit[:burst], e.g. 10/min:5');
  }
  const time = readTime(row, C.time);
  const markText = row.get(C.mark);
  const mark = markText === undefined ? undefined : readMarkTest(row, markText);

  // The (protocol, ports) combinations this line stands for.
  const variants: { proto?: string; dports?: string[]; sports?: string[]; reverse?: boolean }[] = [];
  if (parsed.macro) {
    for (const col of [C.proto, C.dport]) {
      if (row.get(col) !== undefined) throw row.fail(col, 'a macro with its own PROTO or DPORT is not supported yet', 'write the rule without the macro');
    }
    const sports = row.get(C.sport) === undefined ? undefined : readPorts(row, C.sport, 'tcp');
    for (const entry of parsed.macro) {
      const v: (typeof variants)[number] = { proto: entry.proto };
      if (entry.dports !== undefined) v.dports = [entry.dports];
      const s = entry.sports !== undefined ? [entry.sports] : hasPorts(entry.proto) ? sports : undefined;
      if (s) v.sports = s;
      if (entry.reverse) v.reverse = true;
      variants.push(v);
    }
  } else {
    for (const proto of readProtocols(row, C.proto)) {
      const v: (typeof variants)[number] = {};
      if (proto !== undefined) v.proto = proto;
      const dports = readPorts(row, C.dport, proto);
      if (dports) v.dports = dports;
      if (row.get(C.sport) !== undefined) {
        if (!hasPorts(proto)) throw row.fail(C.sport, `source ports need a protocol with ports, not '${proto ?? 'any'}'`, 'expected tcp, udp or sctp in the PROTO column');
        v.sports = readPorts(row, C.sport, proto)!;
      }
      variants.push(v);
    }
  }
  if ((isDnat || isRedirect) && variants.some((v) => !hasPorts(v.proto) && v.proto !== undefined && natTarget?.port !== undefined)) {
    throw row.fail(C.proto, `${action} to a port needs tcp, udp or sctp`, 'set PROTO to tcp or udp');
  }
  if (isRedirect && variants.some((v) => !hasPorts(v.proto))) {
    throw row.fail(C.proto, 'REDIRECT needs tcp, udp or sctp', 'set PROTO to tcp or udp');
  }
  // Built property by property, in one order, not by spreading a shared base: V8 gives every
  // spread copy a map of its own, which made each rule cost kilobytes and most of the parse time.
  const rules = new Array<Rule>(variants.length);
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    const rule = { section, action, place } as Rule;
    if (parsed.log !== undefined) rule.log = parsed.log;
    if (parsed.condition) rule.condition = parsed.condition;
    if (natTarget) rule.natTarget = natTarget;
    if (comment !== undefined) rule.comment = comment;
    if (origdest) rule.origdest = origdest;
    if (rate) rule.rate = rate;
    if (time) rule.time = time;
    if (parsed.queue) rule.queue = parsed.queue;
    if (mark) rule.mark = mark;
    rule.source = v.reverse ? dest : source;
    rule.dest = v.reverse ? source : dest;
    if (v.proto !== undefined) rule.proto = v.proto;
    if (v.dports) rule.dports = v.dports;
    if (v.sports) rule.sports = v.sports;
    rules[i] = rule;
  }
  return rules;
}
