/**
 * snat (MASQUERADE/SNAT), nat (one-to-one), maclist and stoppedrules: the files whose
 * columns name interfaces and addresses rather than zones.
 */
import { SHOREWALL_COLUMNS } from './columns.js';
import { GatehouseError } from '../errors/index.js';
import { parseNetwork, readAddressList, readLogLevel, readPorts, readProtocols, hasPorts } from './address.js';
import type { FileItem, Row } from './lines.js';
import type { MaclistEntry, OneToOneNat, SnatAction, SnatEntry, StoppedEnd, StoppedRule } from './types.js';
import type { ParseContext } from './zones.js';
import { parseMac } from './address.js';

export const SNAT_COLUMNS = SHOREWALL_COLUMNS.snat;
export const NAT_COLUMNS = SHOREWALL_COLUMNS.nat;
export const MACLIST_COLUMNS = SHOREWALL_COLUMNS.maclist;
export const STOPPED_COLUMNS = SHOREWALL_COLUMNS.stoppedrules;

/** The physical name of a logical interface from the interfaces file (or a wildcard match). */
export function resolveInterface(row: Row, index: number, name: string, ctx: ParseContext): string {
  const known = ctx.interfaces.get(name);
  if (known) return known.physical;
  for (const iface of ctx.interfaces.values()) {
    if (iface.name.endsWith('+') && name.startsWith(iface.name.slice(0, -1))) return name;
  }
  throw row.fail(index, `interface '${name}' is not in the interfaces file`, `expected one of: ${[...ctx.interfaces.keys()].join(', ')}`);
}

function dataRows(items: FileItem[], file: string, comments: boolean): { row: Row; comment?: string }[] {
  const out: { row: Row; comment?: string }[] = [];
  let comment: string | undefined;
  for (const item of items) {
    if (item.kind === 'comment' && comments) comment = item.text;
    else if (item.kind === 'section') throw new GatehouseError('?SECTION belongs in the rules file', { place: { file, line: item.line } });
    else if (item.kind === 'row') {
      const extra = item.row.extraColumnIndex();
      if (extra !== undefined) throw item.row.fail(extra, 'unexpected extra column');
      out.push(comment === undefined ? { row: item.row } : { row: item.row, comment });
    }
  }
  return out;
}

function readSnatAction(row: Row): SnatAction {
  const text = row.need(0, 'MASQUERADE, SNAT(address), CONTINUE or ACCEPT');
  const m = /^(MASQUERADE|SNAT|CONTINUE|ACCEPT)(?:\(([^()]*)\))?$/.exec(text);
  if (!m) {
    const known = /^(NONAT|LOG|MASQUERADE\+|SNAT\+|NFLOG|ULOG)/.test(text);
    throw row.fail(0, known ? `snat action '${text}' is not supported yet` : `unknown snat action '${text}'`, 'expected MASQUERADE, MASQUERADE(ports), SNAT(address[:ports]), CONTINUE or ACCEPT');
  }
  const name = m[1] as SnatAction['kind'];
  const arg = m[2];
  const ports = (p: string) => {
    if (!/^\d{1,5}(-\d{1,5})?$/.test(p) || p.split('-').some((n) => Number(n) > 65535)) {
      throw row.fail(0, `port '${p}' is out of range`, 'expected a port or range low-high, 0-65535');
    }
    return p;
  };
  if (name === 'CONTINUE' || name === 'ACCEPT') {
    if (arg !== undefined) throw row.fail(0, `${name} takes no argument`);
    return { kind: name };
  }
  if (name === 'MASQUERADE') return arg === undefined || arg === '' ? { kind: 'MASQUERADE' } : { kind: 'MASQUERADE', ports: ports(arg) };
  if (arg === undefined || arg === '') throw row.fail(0, 'SNAT without an address', 'expected SNAT(address), e.g. SNAT(1.2.3.5)');
  if (arg.includes(',')) throw row.fail(0, 'SNAT to several addresses is not supported yet', 'give one address or a range');
  let address = arg;
  let portPart: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(arg);
  if (bracket) [address, portPart] = [bracket[1] ?? '', bracket[2]];
  else if (arg.split(':').length === 2) [address, portPart] = arg.split(':') as [string, string];
  const valid = address.split('-').every((a) => parseNetwork(a) !== undefined && !a.includes('/'));
  if (!valid) throw row.fail(0, `'${address}' is not a valid SNAT address`, 'expected one address or a range a.b.c.d-a.b.c.e');
  const to = address
    .split('-')
    .map((a) => parseNetwork(a)!.address)
    .join('-');
  return portPart === undefined ? { kind: 'SNAT', to } : { kind: 'SNAT', to, ports: ports(portPart) };
}

export function parseSnat(items: FileItem[], ctx: ParseContext): SnatEntry[] {
  return dataRows(items, 'snat', true).map(({ row, comment }) => {
    for (const col of [5, 6, 7, 8, 10]) if (row.get(col) !== undefined) throw row.fail(col, 'this column is not supported yet', 'leave it as -');
    const action = readSnatAction(row);
    const destText = row.need(2, 'the outgoing interface, optionally with addresses (eth1, eth0:192.168.1.10)');
    const colon = destText.indexOf(':');
    const ifName = colon < 0 ? destText : destText.slice(0, colon);
    const entry: SnatEntry = { action, interface: resolveInterface(row, 2, ifName, ctx), place: { file: 'snat', line: row.line } };
    if (colon >= 0) entry.dest = readAddressList(row, 2, destText.slice(colon + 1));
    const sourceText = row.get(1);
    if (sourceText !== undefined) {
      if (ctx.interfaces.has(sourceText)) {
        throw row.fail(1, 'an interface as SOURCE is not supported yet', 'list the networks behind it instead (192.168.1.0/24)');
      }
      entry.source = readAddressList(row, 1, sourceText, { allow: ['net', 'range', 'ipset'] });
    }
    const protos = readProtocols(row, 3);
    if (protos.length > 1) throw row.fail(3, 'a protocol list is not supported in snat yet', 'write one line per protocol');
    const proto = protos[0];
    if (proto !== undefined) entry.proto = proto;
    const dports = readPorts(row, 4, proto);
    if (dports) entry.dports = dports;
    const origdest = row.get(9);
    if (origdest !== undefined) entry.origdest = readAddressList(row, 9, origdest, { exclusion: false });
    if ((action.kind === 'MASQUERADE' || action.kind === 'SNAT') && action.ports !== undefined && !hasPorts(proto)) {
      throw row.fail(0, 'translating ports needs tcp, udp or sctp', 'set PROTO');
    }
    if (comment !== undefined) entry.comment = comment;
    return entry;
  });
}

function readHostAddress(row: Row, index: number, what: string): string {
  const text = row.need(index, what);
  const net = parseNetwork(text);
  if (!net || net.address.includes('/')) throw row.fail(index, `'${text}' is not a valid address`, `expected ${what}`);
  return net.address;
}

function readYesNo(row: Row, index: number): boolean {
  const text = row.get(index)?.toLowerCase();
  if (text === undefined || text === 'no') return false;
  if (text === 'yes') return true;
  throw row.fail(index, `'${text}' is not Yes or No`, 'expected Yes, No or -');
}

export function parseNat(items: FileItem[], ctx: ParseContext): OneToOneNat[] {
  return dataRows(items, 'nat', false).map(({ row }) => {
    const external = readHostAddress(row, 0, 'the external address (1.2.3.5)');
    const ifText = row.need(1, 'the interface (eth1, or eth1:0 for an alias)');
    const ifName = ifText.replace(/:\d+$/, '');
    return {
      external,
      interface: resolveInterface(row, 1, ifName, ctx),
      internal: readHostAddress(row, 2, 'the internal address (192.168.1.10)'),
      allInterfaces: readYesNo(row, 3),
      local: readYesNo(row, 4),
      place: { file: 'nat', line: row.line },
    };
  });
}

export function parseMaclist(items: FileItem[], ctx: ParseContext, hostsWithMaclist: Set<string>): MaclistEntry[] {
  return dataRows(items, 'maclist', false).map(({ row }) => {
    const dispText = row.need(0, 'ACCEPT, DROP or REJECT');
    const [verdict, level] = dispText.split(':', 2) as [string, string | undefined];
    if (verdict !== 'ACCEPT' && verdict !== 'DROP' && verdict !== 'REJECT') {
      throw row.fail(0, `unknown disposition '${verdict}'`, 'expected ACCEPT, DROP or REJECT');
    }
    const ifName = row.need(1, 'an interface with the maclist option');
    const physical = resolveInterface(row, 1, ifName, ctx);
    const iface = ctx.interfaces.get(ifName);
    if (!iface?.options.maclist && !hostsWithMaclist.has(ifName)) {
      throw row.fail(1, `interface '${ifName}' does not have the maclist option`, 'add maclist to its options in the interfaces file');
    }
    const macText = row.need(2, 'a MAC address (00:11:22:33:44:55)');
    const mac = parseMac(macText);
    if (!mac) throw row.fail(2, `'${macText}' is not a valid MAC address`, 'expected six hex pairs, 00:11:22:33:44:55');
    const entry: MaclistEntry = { disposition: verdict, interface: physical, mac, place: { file: 'maclist', line: row.line } };
    if (level !== undefined) {
      const l = readLogLevel(row, 0, level);
      if (l !== undefined) entry.log = l;
    }
    const addresses = row.get(3);
    if (addresses !== undefined) entry.addresses = readAddressList(row, 3, addresses);
    return entry;
  });
}

function readStoppedEnd(row: Row, index: number, ctx: ParseContext): StoppedEnd {
  const text = row.get(index);
  if (text === undefined) return { firewall: false };
  if (text === ctx.firewallZone) return { firewall: true };
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  if (ctx.interfaces.has(head)) {
    const end: StoppedEnd = { firewall: false, interface: resolveInterface(row, index, head, ctx) };
    if (colon >= 0) end.addresses = readAddressList(row, index, text.slice(colon + 1));
    return end;
  }
  if (/^[A-Za-z]/.test(head) && !head.includes('.') && !parseNetwork(head)) {
    throw row.fail(index, `'${head}' is neither $FW nor an interface from the interfaces file`, 'expected -, $FW, an interface, interface:addresses or addresses');
  }
  return { firewall: false, addresses: readAddressList(row, index, text) };
}

export function parseStoppedRules(items: FileItem[], ctx: ParseContext): StoppedRule[] {
  const out: StoppedRule[] = [];
  for (const { row } of dataRows(items, 'stoppedrules', false)) {
    const target = row.need(0, 'ACCEPT, DROP or NOTRACK');
    if (target !== 'ACCEPT' && target !== 'DROP' && target !== 'NOTRACK') {
      throw row.fail(0, `unknown action '${target}'`, 'expected ACCEPT, DROP or NOTRACK');
    }
    const source = readStoppedEnd(row, 1, ctx);
    const dest = readStoppedEnd(row, 2, ctx);
    for (const proto of readProtocols(row, 3)) {
      const rule: StoppedRule = { target, source, dest, place: { file: 'stoppedrules', line: row.line } };
      if (proto !== undefined) rule.proto = proto;
      const dports = readPorts(row, 4, proto);
      if (dports) rule.dports = dports;
      if (row.get(5) !== undefined) {
        if (!hasPorts(proto)) throw row.fail(5, 'source ports need tcp, udp or sctp', 'set PROTO');
        rule.sports = readPorts(row, 5, proto)!;
      }
      out.push(rule);
    }
  }
  return out;
}
