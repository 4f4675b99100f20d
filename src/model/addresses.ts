/**
 * Address literals as the databases hold them (IPv4/IPv6 hosts, networks, ranges, MACs),
 * parsed once and printed the way each Shorewall family expects.
 */
import ipaddr from 'ipaddr.js';

export type Family = 'ipv4' | 'ipv6';

export type ParsedAddress =
  | { kind: 'host'; family: Family; ip: ipaddr.IPv4 | ipaddr.IPv6 }
  | { kind: 'network'; family: Family; ip: ipaddr.IPv4 | ipaddr.IPv6; prefix: number }
  | { kind: 'range'; family: Family; start: ipaddr.IPv4 | ipaddr.IPv6; end: ipaddr.IPv4 | ipaddr.IPv6 };

/** Four decimal octets without leading zeros: what ipaddr.js's isValidFourPartDecimal accepts, once each octet is at most 255. */
const FOUR_PART_DECIMAL = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function parseHost(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  // Built from the octets matched: isValidFourPartDecimal then parse read the text twice
  // more, for every address of every rule in each event.
  const m = FOUR_PART_DECIMAL.exec(text);
  if (m) {
    const octets = [+m[1]!, +m[2]!, +m[3]!, +m[4]!];
    return octets.every((o) => o <= 255) ? new ipaddr.IPv4(octets) : undefined;
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

function familyOf(ip: ipaddr.IPv4 | ipaddr.IPv6): Family {
  return ip.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/** A host (`192.168.1.10`, `2001:db8::1`) or a network (`10.0.0.0/8`, `2001:db8::/32`). */
export function parseHostOrNetwork(text: string): ParsedAddress | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = parseHost(text);
    return ip ? { kind: 'host', family: familyOf(ip), ip } : undefined;
  }
  const ip = parseHost(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (ip.kind() === 'ipv4' ? 32 : 128)) return undefined;
  return { kind: 'network', family: familyOf(ip), ip, prefix };
}

/** `start-end` of the same family, start not after end. */
export function parseRange(startText: string, endText: string): ParsedAddress | undefined {
  const start = parseHost(startText);
  const end = parseHost(endText);
  if (!start || !end || start.kind() !== end.kind()) return undefined;
  if (compareBytes(start.toByteArray(), end.toByteArray()) > 0) return undefined;
  return { kind: 'range', family: familyOf(start), start, end };
}

function compareBytes(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Any address literal a rule may hold: host, network or `a-b` range. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const dash = text.indexOf('-');
  if (dash > 0 && !text.includes('/')) return parseRange(text.slice(0, dash), text.slice(dash + 1));
  return parseHostOrNetwork(text);
}

/** The first address of a literal, used to find its zone. */
export function firstAddress(a: ParsedAddress): ipaddr.IPv4 | ipaddr.IPv6 {
  return a.kind === 'range' ? a.start : a.ip;
}

/** The network an interface address belongs to, e.g. 192.168.1.1 + 24 -> 192.168.1.0/24. */
export function networkOf(ip: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): ParsedAddress {
  const bytes = ip.toByteArray();
  const out = bytes.map((byte, i) => {
    const bitsLeft = prefix - i * 8;
    if (bitsLeft >= 8) return byte;
    if (bitsLeft <= 0) return 0;
    return byte & ((0xff << (8 - bitsLeft)) & 0xff);
  });
  const net = ipaddr.fromByteArray(out);
  return { kind: 'network', family: familyOf(net), ip: net, prefix };
}

/** Prefix length of a dotted netmask such as 255.255.255.0, or undefined if not contiguous. */
export function prefixOfNetmask(mask: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(mask)) return undefined;
  const prefix = ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask();
  return prefix ?? undefined;
}

export function contains(network: ParsedAddress & { kind: 'network' }, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (ip.kind() !== network.ip.kind()) return false;
  return (ip as ipaddr.IPv4).match(network.ip as ipaddr.IPv4, network.prefix);
}

function ipText(ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  return ip.toString();
}

/**
 * How a literal is written in a Shorewall column: IPv4 as is, IPv6 in brackets as
 * Shorewall6 wants inside zone:address lists (`[2001:db8::1]`, `[2001:db8::]/64`).
 */
export function shorewallText(a: ParsedAddress): string {
  const wrap = (ip: ipaddr.IPv4 | ipaddr.IPv6): string => (a.family === 'ipv6' ? `[${ipText(ip)}]` : ipText(ip));
  switch (a.kind) {
    case 'host':
      return wrap(a.ip);
    case 'network':
      return `${wrap(a.ip)}/${a.prefix}`;
    case 'range':
      return `${wrap(a.start)}-${wrap(a.end)}`;
  }
}

/** Plain text without brackets (for IPv4 columns and for messages). */
export function plainText(a: ParsedAddress): string {
  switch (a.kind) {
    case 'host':
      return ipText(a.ip);
    case 'network':
      return `${ipText(a.ip)}/${a.prefix}`;
    case 'range':
      return `${ipText(a.start)}-${ipText(a.end)}`;
  }
}

const MAC = /^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/;

/** `aa:bb:cc:dd:ee:ff` -> `aa-bb-cc-dd-ee-ff` (Shorewall's `~` MAC form, without the tilde). */
export function parseMac(text: string): string | undefined {
  return MAC.test(text) ? text.toLowerCase().replace(/:/g, '-') : undefined;
}
