/**
 * Value checks for record props. A check is a pure function from the stored string to
 * `undefined` (valid) or a phrase saying what would be valid, which the validator puts
 * into a one-line error naming db, key and prop.
 */
import { createRequire } from 'node:module';

// Loaded with require: importing this CommonJS package as ESM costs several times more
// (the loader scans its source for exports). And loaded on first use: most values (IPv4
// addresses, names) are checked without it, and a `db setprop` should not pay for it.
let ipaddrModule: typeof import('ipaddr.js') | undefined;
const ipaddr = (): typeof import('ipaddr.js') => (ipaddrModule ??= createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js'));

/** `undefined` when the value is valid, else what a valid value looks like. */
export type ValueCheck = (value: string) => string | undefined;

export { hasControlCharacter } from '../names.js';
import { NO_ZONE_ROLES, ROLE_ZONES, ZONE_NAME_MAX, reservedZoneProblem, suggestZoneName, zoneOfRole } from './zones.js';

/** Four decimal octets without leading zeros (ipaddr.js's isValidFourPartDecimal), without building an address. */
const FOUR_PART_DECIMAL = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

export function isIPv4(text: string): boolean {
  // The model checks every address of every record in each event: a parse per value was a tenth of it.
  const m = FOUR_PART_DECIMAL.exec(text);
  return m !== null && +m[1]! <= 255 && +m[2]! <= 255 && +m[3]! <= 255 && +m[4]! <= 255;
}

export function isIPv6(text: string): boolean {
  // Zone indexes (fe80::1%eth0) have no place in firewall rules.
  return !text.includes('%') && text.includes(':') && ipaddr().IPv6.isValid(text);
}

export function isIP(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** An address with a prefix length: 192.168.1.0/24 or 2001:db8::/64. */
export function isCIDR(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const addr = text.slice(0, slash);
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len)) return false;
  if (isIPv4(addr)) return Number(len) <= 32;
  if (isIPv6(addr)) return Number(len) <= 128;
  return false;
}

/** A bare address or an address with a prefix. */
export function isAddressOrCIDR(text: string): boolean {
  return isIP(text) || isCIDR(text);
}

/** Compare two addresses of the same family; undefined when families differ. */
export function compareAddresses(a: string, b: string): number | undefined {
  const pa = ipaddr().parse(a).toByteArray();
  const pb = ipaddr().parse(b).toByteArray();
  if (pa.length !== pb.length) return undefined;
  for (let i = 0; i < pa.length; i++) {
    if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  }
  return 0;
}

export function isNetmask(text: string): boolean {
  if (!isIPv4(text)) return false;
  const n = ipaddr().IPv4.parse(text).toByteArray().reduce((acc, b) => acc * 256 + b, 0);
  const inverted = 0xffffffff - n;
  // A netmask is ones then zeros: its complement plus one is a power of two.
  return ((inverted + 1) & inverted) === 0;
}

export function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
}

/** `a-b` or `a:b` with a <= b. */
function portRangeProblem(text: string): string | undefined {
  const m = /^(\d+)[-:](\d+)$/.exec(text);
  if (!m) return undefined;
  const [lo, hi] = [m[1]!, m[2]!];
  if (!isPort(lo) || !isPort(hi)) return `ports are 1..65535, got '${text}'`;
  if (Number(lo) > Number(hi)) return `a port range runs low to high, '${text}' is backwards (write ${hi}-${lo})`;
  return '';
}

/** One port, or a range `a-b`/`a:b` written low to high. */
export const portOrRange: ValueCheck = (v) => {
  const range = portRangeProblem(v);
  if (range !== undefined) return range === '' ? undefined : range;
  return isPort(v) ? undefined : 'a port 1..65535 or a range low-high such as 1024-2048';
};

/** Exactly one port. */
export const portOrSingle: ValueCheck = (v) => (isPort(v) ? undefined : 'one port 1..65535 (the internal port; leave empty to keep the external one)');

/** Comma list of ports and ranges. */
export const portList: ValueCheck = (v) => {
  for (const item of v.split(',')) {
    const problem = portOrRange(item);
    if (problem) return `a comma list of ports 1..65535 and ranges low-high (${item === '' ? 'an empty item' : problem})`;
  }
  return undefined;
};

export function oneOf(...allowed: string[]): ValueCheck {
  return (v) => (allowed.includes(v) ? undefined : `one of ${allowed.join(', ')}`);
}

export function oneOfIgnoringCase(...allowed: string[]): ValueCheck {
  const lower = allowed.map((a) => a.toLowerCase());
  return (v) => (lower.includes(v.toLowerCase()) ? undefined : `one of ${allowed.join(', ')} (any case)`);
}

export const enabledDisabled: ValueCheck = oneOf('enabled', 'disabled');
export const yesNo: ValueCheck = oneOf('yes', 'no');

export function integerBetween(min: number, max: number): ValueCheck {
  return (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `a whole number from ${min} to ${max}`;
}

/** Accepts anything; documents that the prop is known and free text. */
export const freeText: ValueCheck = () => undefined;

export function textAtMost(n: number): ValueCheck {
  return (v) => (v.length <= n ? undefined : `text of at most ${n} characters (this one has ${v.length})`);
}

export const ipv4: ValueCheck = (v) => (isIPv4(v) ? undefined : 'an IPv4 address such as 192.168.1.1');
export const ipAddress: ValueCheck = (v) =>
  isIP(v) ? undefined : 'an IPv4 or IPv6 address such as 192.168.1.10 or 2001:db8::10';
export const cidr: ValueCheck = (v) =>
  isCIDR(v) ? undefined : 'a network with prefix such as 192.168.1.0/24 or 2001:db8:1::/64';
export const addressOrCidr: ValueCheck = (v) =>
  isAddressOrCIDR(v) ? undefined : 'an IPv4/IPv6 address or network such as 10.0.0.1, 10.0.0.0/8 or 2001:db8::/32';
export const ipv6Address: ValueCheck = (v) => (isIPv6(v) ? undefined : 'an IPv6 address such as 2001:db8:1::10');
export const ipv6Network: ValueCheck = (v) =>
  isCIDR(v) && isIPv6(v.slice(0, v.indexOf('/'))) ? undefined : 'an IPv6 network such as 2001:db8:1:8000::/65';
export const ipv6WithPrefix: ValueCheck = (v) =>
  isCIDR(v) && isIPv6(v.slice(0, v.indexOf('/'))) ? undefined : 'an IPv6 address with its prefix such as 2001:db8:1::1/64';
export const netmask: ValueCheck = (v) =>
  isNetmask(v) ? undefined : 'a dotted netmask such as 255.255.255.0';

export function commaListOf(item: ValueCheck, what: string): ValueCheck {
  return (v) => {
    for (const part of v.split(',')) {
      if (part === '' || item(part) !== undefined) return `a comma list of ${what} ('${part}' is not one)`;
    }
    return undefined;
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A record key used as a reference target (host, zone, service names...). */
export const objectName: ValueCheck = (v) =>
  NAME.test(v) ? undefined : 'a name of letters, digits, dot, dash and underscore';

// The kernel's limit (IFNAMSIZ) is 16 bytes with the final NUL: 15 characters.
const INTERFACE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$/;
export const interfaceName: ValueCheck = (v) =>
  INTERFACE.test(v) ? undefined : 'an interface name of at most 15 characters such as eth0, br0, bond0, eth0.10 or ppp0';

/** Log levels of rules and port forwards (`none` logs nothing). */
export const LOG_LEVELS = ['none', 'debug', 'info', 'notice', 'warning', 'err', 'crit', 'alert', 'emerg'];
export const logLevel: ValueCheck = (v) => (LOG_LEVELS.includes(v.toLowerCase()) ? undefined : `one of ${LOG_LEVELS.join(', ')}`);

/** A zone a service's access or a MAC's Zone may name: a role or a zone record key. */
export const roleOrZone: ValueCheck = (v) =>
  /^[A-Za-z][A-Za-z0-9_]*$/.test(v) ? undefined : 'a role (green, red, blue, orange, custom) or a zone record key';

const ROLE = /^[a-z][a-z0-9_]*$/;
export const roleName: ValueCheck = (v) =>
  ROLE.test(v) ? undefined : 'a role such as green, red, blue, orange, bridged, slave, pppoe, alias (lowercase letters, digits, _)';

const MAC = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
export const macAddress: ValueCheck = (v) => (MAC.test(v) ? undefined : 'a MAC address such as 00:11:22:33:44:55');

export const timeOfDay: ValueCheck = (v) =>
  /^([01]\d|2[0-3]):[0-5]\d$/.test(v) ? undefined : 'a time HH:MM from 00:00 to 23:59';

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
export const weekdays: ValueCheck = (v) => {
  const days = v.split(',');
  if (days.some((d) => !WEEKDAYS.includes(d))) return `a comma list of ${WEEKDAYS.join(', ')}`;
  if (new Set(days).size !== days.length) return 'a comma list of weekdays, each at most once';
  return undefined;
};

/** Shorewall zone names: a letter then letters, digits or _, 2..5 characters, not reserved. */
export const zoneName: ValueCheck = (v) => {
  if (!/^[A-Za-z][A-Za-z0-9_]+$/.test(v)) return 'a zone name: a letter then letters, digits or _, 2 to 5 characters';
  if (v.length > ZONE_NAME_MAX) return `a zone name of at most ${ZONE_NAME_MAX} characters ('${v}' has ${v.length})`;
  const reserved = reservedZoneProblem(v);
  if (reserved) return `a zone name that is free (${reserved})`;
  return undefined;
};

/**
 * An interface's role: a built-in one, one that makes no zone, or a custom role whose zone
 * (its first 5 characters) is not reserved or built in.
 */
export const interfaceRole: ValueCheck = (v) => {
  const form = roleName(v);
  if (form) return form;
  if (Object.hasOwn(ROLE_ZONES, v) || NO_ZONE_ROLES.has(v)) return undefined;
  const zone = zoneOfRole(v);
  const reserved = reservedZoneProblem(zone);
  if (reserved) {
    return `green, red, blue, orange, bridged, slave, pppoe or a custom role whose zone (its first ${ZONE_NAME_MAX} characters, '${zone}') is free: ${reserved}; e.g. '${suggestZoneName(zone, new Set())}'`;
  }
  return undefined;
};

/** A decimal number, e.g. a rate (percent or absolute). */
export const nonNegativeNumber: ValueCheck = (v) =>
  /^\d+(\.\d+)?$/.test(v) ? undefined : 'a number such as 10 or 2.5';

/** Shell-safe event names for the firewall key's `event` prop. */
export const eventName: ValueCheck = (v) =>
  NAME.test(v) ? undefined : 'an event name of letters, digits, dot, dash and underscore';

export const emailAddress: ValueCheck = (v) =>
  /^[^\s@,]+@[^\s@,]+$/.test(v) ? undefined : 'an email address such as root@localhost';
