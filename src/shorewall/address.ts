/**
 * Values found inside columns: addresses and address lists, ports, protocols, log
 * levels, rates and time windows. Each reader validates and normalises one value and
 * reports a problem through the row it came from.
 */
import ipaddr from 'ipaddr.js';
import { icmpTypeProblem } from '../icmp/index.js';
import type { Row } from './lines.js';
import type { AddressItem, AddressList, Family, RateLimit, TimeSpec } from './types.js';

/** Strips `<...>` or `[...]` around an IPv6 address, as shorewall6 writes them (also `[2001:db8::]/64`). */
function unbracket(text: string): string {
  if ((text.startsWith('<') && text.endsWith('>')) || (text.startsWith('[') && text.endsWith(']'))) {
    return text.slice(1, -1);
  }
  const prefixed = /^[<[]([0-9A-Fa-f:.]+)[>\]](\/\d{1,3})$/.exec(text);
  if (prefixed) return `${prefixed[1]}${prefixed[2]}`;
  return text;
}

/**
 * Dotted-quad IPv4, four decimal octets 0-255 without leading zeros: the only IPv4 form
 * Gatehouse accepts, and already canonical. Checked by hand, without ipaddr.js or a regex
 * match, because files hold tens of thousands of these.
 */
function isDottedQuad(host: string): boolean {
  let octets = 0;
  let i = 0;
  while (i < host.length) {
    const start = i;
    let value = 0;
    while (i < host.length) {
      const c = host.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && host.charCodeAt(start) === 48)) return false;
    octets++;
    if (i === host.length) break;
    if (host.charCodeAt(i) !== 46 /* . */ || octets === 4) return false;
    i++;
  }
  return octets === 4 && host.charCodeAt(host.length - 1) !== 46;
}

/** The canonical text of a host address, or undefined. */
function canonicalHost(host: string): { family: Family; address: string } | undefined {
  if (isDottedQuad(host)) return { family: 4, address: host };
  if (host.includes(':') && ipaddr.IPv6.isValid(host)) return { family: 6, address: ipaddr.parse(host).toString() };
  return undefined;
}

/** `a.b.c.d`, `a.b.c.d/n`, or the IPv6 forms; returns the canonical text or undefined. */
export function parseNetwork(text: string): { family: Family; address: string } | undefined {
  const bare = unbracket(text);
  const slash = bare.indexOf('/');
  const host = slash < 0 ? bare : bare.slice(0, slash);
  const prefixText = slash < 0 ? undefined : bare.slice(slash + 1);
  const canonical = canonicalHost(host);
  if (!canonical) return undefined;
  const family = canonical.family;
  if (prefixText === undefined) return canonical;
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { family, address: `${canonical.address}/${prefix}` };
}

const MAC = /^~?([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})[-:]([0-9a-f]{2})$/i;

/** `00-11-22-33-44-55` or with colons, with or without `~`; returns `00:11:22:33:44:55`. */
export function parseMac(text: string): string | undefined {
  const m = MAC.exec(text);
  return m ? m.slice(1, 7).join(':').toLowerCase() : undefined;
}

function parseItem(text: string): AddressItem | undefined {
  // Most items are one plain IPv4 address: taken as they are, without the checks for the other forms.
  const first = text.charCodeAt(0);
  if (first >= 48 && first <= 57 && isDottedQuad(text)) return { kind: 'net', family: 4, address: text };
  if (text.startsWith('~')) {
    const mac = parseMac(text);
    return mac === undefined ? undefined : { kind: 'mac', mac };
  }
  if (text.startsWith('+')) {
    const name = text.slice(1);
    return /^[A-Za-z0-9_.-]{1,31}$/.test(name) ? { kind: 'ipset', name } : undefined;
  }
  if (text.startsWith('&')) {
    const iface = text.slice(1);
    return /^[A-Za-z0-9_.:@-]{1,15}$/.test(iface) ? { kind: 'interfaceAddress', interface: iface } : undefined;
  }
  // shorewall6 brackets each end of a range ([a]-[b]): unbracketing the whole would join them.
  const ends = /^[<[]([0-9A-Fa-f:.]+)[>\]]-[<[]([0-9A-Fa-f:.]+)[>\]]$/.exec(text);
  const bare = ends ? `${ends[1]}-${ends[2]}` : unbracket(text);
  const dash = bare.indexOf('-');
  if (dash > 0 && !bare.includes('/')) {
    const from = parseNetwork(bare.slice(0, dash));
    const to = parseNetwork(bare.slice(dash + 1));
    if (!from || !to || from.family !== to.family) return undefined;
    return { kind: 'range', family: from.family, from: from.address, to: to.address };
  }
  const net = parseNetwork(bare);
  return net ? { kind: 'net', family: net.family, address: net.address } : undefined;
}

/** Splits on commas that are not inside `<...>` or `[...]`. */
function splitList(text: string): string[] {
  if (!text.includes('<') && !text.includes('[')) return text.split(',');
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '<' || ch === '[') depth++;
    if (ch === '>' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export interface AddressListOptions {
  /** Kinds allowed in this column (default: networks and ranges). */
  allow?: AddressItem['kind'][];
  /** False where an exclusion (`a!b`) has no meaning yet: it is refused, naming the column. */
  exclusion?: boolean;
}

/**
 * An address list as in `zone:a,b`, `!a,b`, or `a,b!c,d` (Shorewall's exclusion: the
 * addresses of the first list except those of the second; man shorewall-exclusion).
 * Items are checked one by one.
 */
export function readAddressList(row: Row, index: number, text: string, options: AddressListOptions = {}): AddressList {
  const allow = options.allow ?? ['net', 'range'];
  let negate = false;
  let body = text;
  if (body.startsWith('!')) {
    negate = true;
    body = body.slice(1);
  }
  let exceptText: string | undefined;
  const bang = body.indexOf('!');
  if (bang >= 0) {
    if (options.exclusion === false) {
      throw row.fail(index, `an exclusion inside a list ('${text}') is not supported in this column`, 'list the addresses without !, or use !a,b for everything except a and b');
    }
    if (negate) throw row.fail(index, `'${text}' excludes twice`, 'write either !a,b (everything except a and b) or a!b (a except b)');
    exceptText = body.slice(bang + 1);
    body = body.slice(0, bang);
    if (body === '' || exceptText === '' || exceptText.includes('!')) {
      throw row.fail(index, `cannot read the exclusion '${text}'`, 'expected addresses!excluded, e.g. 192.168.1.0/24!192.168.1.3,192.168.1.9');
    }
  }
  const read = (part: string, kinds: AddressItem['kind'][]): AddressItem => {
    const item = parseItem(part);
    if (!item) {
      throw row.fail(index, `'${part}' is not a valid address`, describeAllowed(kinds));
    }
    if (!kinds.includes(item.kind)) {
      throw row.fail(index, `'${part}' is not allowed here`, describeAllowed(kinds));
    }
    return item;
  };
  // map, not push: the array is kept with the configuration, so it should not carry spare capacity.
  const items = splitList(body).map((part) => read(part, allow));
  if (exceptText === undefined) return { items, negate };
  const exceptKinds = allow.filter((k) => k === 'net' || k === 'range' || k === 'ipset');
  const except = splitList(exceptText).map((part) => read(part, exceptKinds));
  return { items, negate, except };
}

function describeAllowed(allow: AddressItem['kind'][]): string {
  const words: Record<AddressItem['kind'], string> = {
    net: 'an IPv4/IPv6 address or network (192.168.1.10, 10.0.0.0/8, <2001:db8::/32>)',
    range: 'a range (192.168.1.100-192.168.1.120)',
    mac: 'a MAC (~00-11-22-33-44-55)',
    ipset: 'an ipset (+name)',
    interfaceAddress: "an interface's address (&eth0)",
  };
  return 'expected ' + allow.map((k) => words[k]).join(', or ');
}

const PROTOCOL_NAMES: Record<string, string> = {
  tcp: 'tcp',
  udp: 'udp',
  icmp: 'icmp',
  'ipv6-icmp': 'ipv6-icmp',
  icmp6: 'ipv6-icmp',
  icmpv6: 'ipv6-icmp',
  sctp: 'sctp',
  udplite: 'udplite',
  dccp: 'dccp',
  gre: 'gre',
  esp: 'esp',
  ah: 'ah',
  ipip: 'ipip',
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'ipv6-icmp',
  '132': 'sctp',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
};

/** `tcp`, `udp`, `tcp,udp`, a number, `-`/`all` (any). Returns each protocol, or [undefined] for any. */
export function readProtocols(row: Row, index: number): (string | undefined)[] {
  const text = row.get(index);
  if (text === undefined || text.toLowerCase() === 'all') return [undefined];
  // Most lines name one protocol by its usual name.
  if (Object.hasOwn(PROTOCOL_NAMES, text)) return [PROTOCOL_NAMES[text]!];
  const out: string[] = [];
  for (const part of text.toLowerCase().split(',')) {
    const name = PROTOCOL_NAMES[part] ?? (/^\d{1,3}$/.test(part) && Number(part) <= 255 ? part : undefined);
    if (name === undefined) {
      throw row.fail(index, `unknown protocol '${part}'`, 'expected tcp, udp, icmp, ipv6-icmp, sctp, gre, esp, ah or a number 0-255');
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export function hasPorts(proto: string | undefined): boolean {
  return proto === 'tcp' || proto === 'udp' || proto === 'sctp' || proto === 'udplite' || proto === 'dccp';
}

const PORT_NUMBER = /^\d{1,5}$/;
const CANONICAL_PORT = /^(0|[1-9]\d{0,4})$/;

function checkPortNumber(row: Row, index: number, text: string): number {
  if (!PORT_NUMBER.test(text) || Number(text) > 65535) {
    throw row.fail(index, `port '${text}' is out of range`, 'expected a port number 0-65535, a list (80,443) or a range (1000:2000)');
  }
  return Number(text);
}

/** A port list with ranges (`80,443`, `1000:2000`, `1024:`); ranges come back as `a:b`. */
export function readPorts(row: Row, index: number, proto: string | undefined): string[] | undefined {
  const text = row.get(index);
  if (text === undefined) return undefined;
  if (proto === 'icmp' || proto === 'ipv6-icmp') {
    const problem = icmpTypeProblem(proto === 'icmp' ? 4 : 6, text);
    if (problem !== undefined) throw row.fail(index, `'${text}' is not an ${proto} type`, `expected ${problem}`);
    return [text];
  }
  if (!hasPorts(proto)) {
    throw row.fail(index, `ports need a protocol with ports, not '${proto ?? 'any'}'`, 'expected tcp, udp or sctp in the PROTO column');
  }
  return text.split(',').map((part) => {
    // A plain port as written (no leading zero) is already what the ruleset prints.
    if (CANONICAL_PORT.test(part) && Number(part) <= 65535) return part;
    const range = /^(\d*)[:-](\d*)$/.exec(part);
    if (range) {
      const from = range[1] === '' ? 0 : checkPortNumber(row, index, range[1] ?? '');
      const to = range[2] === '' ? 65535 : checkPortNumber(row, index, range[2] ?? '');
      if (from > to) throw row.fail(index, `port range '${part}' runs backwards`, 'expected low:high');
      return `${from}:${to}`;
    }
    if (/^[a-z]/i.test(part)) {
      throw row.fail(index, `service name '${part}' is not supported yet`, 'write the port number');
    }
    return String(checkPortNumber(row, index, part));
  });
}

const LOG_LEVELS = new Set([
  'debug', 'info', 'notice', 'warning', 'warn', 'err', 'error', 'crit', 'alert', 'emerg', 'panic',
  '0', '1', '2', '3', '4', '5', '6', '7',
]);

/** A log level as written after `:`; `none` means no logging (undefined). */
export function readLogLevel(row: Row, index: number, text: string): string | undefined {
  const level = text.replace(/!$/, '').toLowerCase();
  if (level === 'none' || level === '') return undefined;
  if (!LOG_LEVELS.has(level)) {
    throw row.fail(index, `unknown log level '${text}'`, 'expected none, debug, info, notice, warning, err, crit, alert, emerg or 0-7');
  }
  return level;
}

/** `[s:|d:][name:]rate/unit[:burst]`. */
export function parseRate(text: string): RateLimit | undefined {
  const m = /^(?:([sd]):(?:([A-Za-z0-9_]+):)?)?(\d+\/(?:sec|second|min|minute|hour|day))(?::(\d+))?$/.exec(text);
  if (!m) return undefined;
  const rate: RateLimit = { rate: (m[3] ?? '').replace('second', 'sec').replace('minute', 'min') };
  if (m[1] === 's') rate.per = 'src';
  if (m[1] === 'd') rate.per = 'dst';
  if (m[2] !== undefined) rate.name = m[2];
  if (m[4] !== undefined) rate.burst = Number(m[4]);
  return rate;
}

const WEEKDAY = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun|[1-7])$/;
const HHMM = /^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/;

/** Shorewall's TIME column: `utc&weekdays=Mon,Tue&timestart=07:00&timestop=17:00`. */
export function readTime(row: Row, index: number): TimeSpec | undefined {
  const text = row.get(index);
  if (text === undefined) return undefined;
  const spec: TimeSpec = { utc: false };
  for (const element of text.split('&')) {
    const [key, value] = element.split('=', 2) as [string, string | undefined];
    const bad = (what: string) => row.fail(index, `'${element}' is not a valid time element`, `expected ${what}`);
    switch (key) {
      case 'utc':
        spec.utc = true;
        break;
      case 'localtz':
      case 'kerneltz':
        spec.utc = false;
        break;
      case 'timestart':
      case 'timestop':
        if (!value || !HHMM.test(value)) throw bad(`${key}=hh:mm`);
        spec[key] = value;
        break;
      case 'weekdays':
        if (!value || !value.split(',').every((d) => WEEKDAY.test(d))) throw bad('weekdays=Mon,Tue,... (Mon-Sun or 1-7)');
        spec.weekdays = value;
        break;
      case 'monthdays':
        if (!value || !value.split(',').every((d) => /^\d{1,2}$/.test(d) && Number(d) >= 1 && Number(d) <= 31)) {
          throw bad('monthdays=1,15,... (1-31)');
        }
        spec.monthdays = value;
        break;
      case 'datestart':
      case 'datestop':
        if (!value || !DATE.test(value)) throw bad(`${key}=YYYY-MM-DD[Thh:mm[:ss]]`);
        spec[key] = value;
        break;
      default:
        throw bad('utc, localtz, timestart=, timestop=, weekdays=, monthdays=, datestart= or datestop=, joined by &');
    }
  }
  return spec;
}
