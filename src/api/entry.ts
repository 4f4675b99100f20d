/**
 * Blocklist entries: what an rfw path or a /v1 body asks for, checked and put in
 * canonical form (pure). An entry is an action (drop or accept), a chain (input, output,
 * forward), an interface (`any`, a name, or a prefix such as `ppp` = ppp+) and one
 * network; rfw's forward form adds a second interface and network, the destination
 * (a pair). Its key, `drop/input/any/203.0.113.7/32` (a pair:
 * `drop/forward/eth0/203.0.113.0/24/eth1/192.168.1.10/32`), is the same for every
 * spelling of the same entry, so a repeated request finds it and changes nothing.
 */
import ipaddr from 'ipaddr.js';

export type BlockAction = 'drop' | 'accept';
export type BlockChain = 'input' | 'output' | 'forward';
export type Family = 4 | 6;

export const ACTIONS: readonly BlockAction[] = ['drop', 'accept'];
export const CHAINS: readonly BlockChain[] = ['input', 'output', 'forward'];

/** The largest timeout the kernel's ipset accepts, in seconds (about 24.8 days). */
export const MAX_EXPIRE_SECONDS = 2_147_483;

export interface BlockEntry {
  action: BlockAction;
  chain: BlockChain;
  /** `any`, an interface name, or a name prefix ending in `+` (rfw's `ppp` is `ppp+`). */
  interface: string;
  family: Family;
  /** Canonical network with its prefix: `203.0.113.7/32`, `2001:db8::/48`. */
  address: string;
  /** A forward pair only: the outgoing interface and the destination network (same family). */
  to?: { interface: string; address: string };
}

/** An entry as stored: with its expiry (epoch seconds), if any. */
export interface StoredEntry extends BlockEntry {
  key: string;
  /** Epoch seconds after which the entry is gone; undefined: permanent. */
  expires?: number;
  /** Epoch seconds when it was added. */
  created: number;
}

/** Bad input: the HTTP layer turns it into a 4xx with this one-line reason. */
export class EntryError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'EntryError';
  }
}

/**
 * Entries are built property by property, never as `{ ...entry, more }`: in Node 20's V8
 * (11.3) a spread of an object followed by more properties takes a slow path, about 3 to 7 µs
 * a copy against tens of ns (measured), and each request made several.
 */
export function blockEntry(action: BlockAction, chain: BlockChain, iface: string, network: { family: Family; address: string }, to?: { interface: string; address: string }): BlockEntry {
  const e: BlockEntry = { action, chain, interface: iface, family: network.family, address: network.address };
  if (to) e.to = to;
  return e;
}

/** An entry as stored: the entry with its key, creation and expiry (epoch seconds). */
export function storedEntry(entry: BlockEntry, key: string, created: number, expires: number | undefined): StoredEntry {
  const e: StoredEntry = { action: entry.action, chain: entry.chain, interface: entry.interface, family: entry.family, address: entry.address, key, created };
  if (entry.to) e.to = entry.to;
  if (expires !== undefined) e.expires = expires;
  return e;
}

export function entryKey(e: BlockEntry): string {
  const key = `${e.action}/${e.chain}/${e.interface}/${e.address}`;
  return e.to ? `${key}/${e.to.interface}/${e.to.address}` : key;
}

/** Linux interface names: 1..15 characters, no slash, no white space, not `.` or `..`. */
const INTERFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** `any`, a name, `ppp` (rfw: any ppp interface) or `name+` (a prefix, as in Shorewall). */
export function parseInterface(text: string): string {
  if (text === 'any') return 'any';
  if (text === 'ppp') return 'ppp+';
  const prefix = text.endsWith('+');
  const name = prefix ? text.slice(0, -1) : text;
  if (!INTERFACE.test(name) || name === '.' || name === '..') {
    throw new EntryError(`'${text.slice(0, 40)}' is not an interface (valid: any, ppp, a name such as eth0, or a prefix such as eth+)`);
  }
  return prefix ? `${name}+` : name;
}

/**
 * An address with an optional prefix, checked strictly: IPv4 in four decimal parts, no
 * host bits set beyond the prefix, and no /0 (that would block or open everything).
 */
export function parseNetwork(text: string): { family: Family; address: string } {
  const fast = canonicalIPv4(text);
  if (fast !== undefined) return { family: 4, address: fast };
  const slash = text.indexOf('/');
  const host = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) ip = ipaddr.IPv4.parse(host);
  else if (host.includes(':') && ipaddr.IPv6.isValid(host) && !host.includes('%')) ip = ipaddr.IPv6.parse(host);
  else throw new EntryError(`'${text.slice(0, 60)}' is not an IP address (valid: 203.0.113.7, 203.0.113.0/24, 2001:db8::1 or 2001:db8::/48)`);
  const family: Family = ip.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits || Number(prefixText) < 1) {
      throw new EntryError(`'/${prefixText.slice(0, 10)}' is not a prefix for IPv${family} (valid: 1 to ${bits})`);
    }
    prefix = Number(prefixText);
  }
  const network = ipaddr.parseCIDR(`${ip.toString()}/${prefix}`);
  const base = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.toString()}/${prefix}`) : networkOfV6(ip as ipaddr.IPv6, prefix);
  if (base.toString() !== ip.toString()) {
    throw new EntryError(`${text} has host bits set beyond /${prefix} (did you mean ${base.toString()}/${prefix}?)`);
  }
  return { family, address: `${network[0].toString()}/${prefix}` };
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})(?:\/([1-9]\d?))?$/;

/**
 * The common case, an IPv4 address or network already in canonical form, checked with
 * integer arithmetic: loading 100,000 entries must not parse each with ipaddr.js.
 * Anything else (IPv6, mistakes) takes the general path and its messages.
 */
function canonicalIPv4(text: string): string | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const octets = [m[1], m[2], m[3], m[4]].map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return undefined;
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const host = prefix === 32 ? 0 : (0xffffffff >>> prefix) >>> 0;
  if ((value & host) >>> 0 !== 0) return undefined;
  return `${octets.join('.')}/${prefix}`;
}

function networkOfV6(ip: ipaddr.IPv6, prefix: number): ipaddr.IPv6 {
  const bytes = ip.toByteArray();
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
}

export function parseAction(text: string): BlockAction {
  if (text === 'drop' || text === 'accept') return text;
  throw new EntryError(`'${text.slice(0, 20)}' is not an action (valid: drop or accept)`, 404);
}

export function parseChain(text: string): BlockChain {
  if (text === 'input' || text === 'output' || text === 'forward') return text;
  throw new EntryError(`'${text.slice(0, 20)}' is not a chain (valid: input, output or forward)`, 404);
}

/** `?expire=SECONDS`: a whole number of seconds, 1 to the kernel's maximum. */
export function parseExpire(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > MAX_EXPIRE_SECONDS) {
    throw new EntryError(`expire '${text.slice(0, 20)}' is not a number of seconds (valid: 1 to ${MAX_EXPIRE_SECONDS})`);
  }
  return Number(text);
}

/**
 * The part of an rfw path after `/<action>/<chain>/`: `<interface>/<address>[/<prefix>]`,
 * and for forward also rfw's pair form `.../<interface2>/<address2>[/<prefix2>]`: from the
 * first network arriving on the first interface to the second network leaving by the second.
 */
export function parseRfwTarget(action: BlockAction, chain: BlockChain, rest: string): BlockEntry {
  const parts = rest.split('/').filter((p, i, all) => p !== '' || i < all.length - 1);
  if (parts.length < 2 || parts.some((p) => p === '')) {
    throw new EntryError(`expected /${action}/${chain}/<interface|any|ppp>/<address>[/<prefix>]`);
  }
  // <interface>/<address>[/<prefix>] starting at `at`: what it names and how many segments it took.
  const target = (at: number) => {
    const iface = parseInterface(decodeSegment(parts[at]!));
    let addressText = decodeSegment(parts[at + 1]!);
    let used = 2;
    if (parts.length > at + 2 && /^\d{1,3}$/.test(parts[at + 2]!)) {
      addressText += `/${parts[at + 2]}`;
      used = 3;
    }
    return { iface, network: parseNetwork(addressText), used };
  };
  const from = target(0);
  if (parts.length === from.used) return blockEntry(action, chain, from.iface, from.network);
  const after = `'/${parts.slice(from.used).join('/').slice(0, 60)}' after the address`;
  if (chain !== 'forward') throw new EntryError(`unexpected ${after} (only forward takes a second interface and address)`);
  if (parts.length === from.used + 1) throw new EntryError(`unexpected ${after} (expected /<interface2>/<address2>[/<prefix2>])`);
  const to = target(from.used);
  if (parts.length > from.used + to.used) throw new EntryError(`unexpected '/${parts.slice(from.used + to.used).join('/').slice(0, 60)}' after the second address`);
  return pairEntry(action, from.iface, from.network, to.iface, to.network);
}

function pairEntry(action: BlockAction, inInterface: string, from: { family: Family; address: string }, outInterface: string, to: { family: Family; address: string }): BlockEntry {
  if (from.family !== to.family) throw new EntryError(`${from.address} and ${to.address} are not of the same IP version`);
  return blockEntry(action, 'forward', inInterface, from, { interface: outInterface, address: to.address });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new EntryError(`'${segment.slice(0, 40)}' is not valid percent-encoding`);
  }
}

/** A /v1 body: `{action?, chain?, interface?, address, toInterface?, toAddress?, expire?}` with rfw's defaults (a pair: forward only). */
export function parseEntryBody(body: unknown): { entry: BlockEntry; expire?: number } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new EntryError('the body must be a JSON object such as {"address":"203.0.113.7"}');
  const b = body as Record<string, unknown>;
  const known = new Set(['action', 'chain', 'interface', 'address', 'toInterface', 'toAddress', 'expire']);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new EntryError(`unknown field '${unknown[0]!.slice(0, 30)}' (valid: action, chain, interface, address, toInterface, toAddress, expire)`);
  const text = (name: string, fallback?: string): string => {
    const v = b[name] ?? fallback;
    if (typeof v !== 'string') throw new EntryError(`'${name}' must be a string`);
    return v;
  };
  let entry = blockEntry(parseAction(text('action', 'drop')), parseChain(text('chain', 'input')), parseInterface(text('interface', 'any')), parseNetwork(text('address')));
  if (b['toAddress'] !== undefined || b['toInterface'] !== undefined) {
    if (entry.chain !== 'forward') throw new EntryError(`'toAddress' goes with chain forward only`);
    entry = pairEntry(entry.action, entry.interface, entry, parseInterface(text('toInterface', 'any')), parseNetwork(text('toAddress')));
  }
  const expire = b['expire'];
  if (expire === undefined || expire === null) return { entry };
  if (typeof expire !== 'number' || !Number.isInteger(expire)) throw new EntryError(`'expire' must be a whole number of seconds (1 to ${MAX_EXPIRE_SECONDS})`);
  return { entry, expire: parseExpire(String(expire))! };
}

const parsedNetworks = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number]>();

/**
 * A network parsed once (the whitelist is checked against every drop request), by its
 * own family's parser: ipaddr.parseCIDR tries IPv6 first and throws for every IPv4 one.
 */
function parsedNetwork(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  let parsed = parsedNetworks.get(text);
  if (!parsed) {
    parsed = text.includes(':') ? ipaddr.IPv6.parseCIDR(text) : ipaddr.IPv4.parseCIDR(text);
    if (parsedNetworks.size >= 4096) parsedNetworks.clear();
    parsedNetworks.set(text, parsed);
  }
  return parsed;
}

/** Whether two networks share any address (one contains the other). */
export function networksOverlap(a: string, b: string): boolean {
  const [ipA, prefixA] = parsedNetwork(a);
  const [ipB, prefixB] = parsedNetwork(b);
  if (ipA.kind() !== ipB.kind()) return false;
  const shorter = Math.min(prefixA, prefixB);
  return ipA.match(ipB, shorter);
}

/** A whitelist item (address or network) in canonical form; host bits are cleared. */
export function canonicalNetwork(text: string): string {
  const trimmed = text.trim();
  if (trimmed.includes('/')) {
    const [ip, prefix] = ipaddr.parseCIDR(trimmed);
    const base = ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(trimmed) : networkOfV6(ip as ipaddr.IPv6, prefix);
    return `${base.toString()}/${prefix}`;
  }
  const ip = ipaddr.parse(trimmed);
  return `${ip.toString()}/${ip.kind() === 'ipv4' ? 32 : 128}`;
}
