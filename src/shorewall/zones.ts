/**
 * zones, interfaces, hosts and policy: who the zones are, which interfaces and
 * addresses make them up, and what happens to traffic no rule decides.
 */
import { SHOREWALL_COLUMNS } from './columns.js';
import { GatehouseError } from '../errors/index.js';
import { readAddressList, readLogLevel } from './address.js';
import type { FileItem, Row } from './lines.js';
import type {
  Family,
  Host,
  HostOptions,
  Interface,
  InterfaceOptions,
  Policy,
  PolicyVerdict,
  Zone,
  ZoneSelector,
  ZoneType,
} from './types.js';

/** What file parsers share: the zones and interfaces known so far. */
export interface ParseContext {
  family: Family;
  firewallZone: string;
  zones: Map<string, Zone>;
  interfaces: Map<string, Interface>;
  /** Zone selectors already read, by text: rules repeat the same few, and sharing them keeps the configuration small. */
  selectors: Map<string, ZoneSelector>;
}

export const ZONE_COLUMNS = SHOREWALL_COLUMNS.zones;
const RESERVED_ZONE_NAMES = new Set(['all', 'any', 'none', 'source', 'dest']);
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function rows(items: FileItem[], file: string): Row[] {
  const out: Row[] = [];
  for (const item of items) {
    if (item.kind === 'row') out.push(item.row);
    else if (item.kind === 'section') {
      throw new GatehouseError('?SECTION belongs in the rules file', { place: { file, line: item.line } });
    }
  }
  return out;
}

function rejectExtraColumns(row: Row): void {
  const extra = row.extraColumnIndex();
  if (extra !== undefined) throw row.fail(extra, 'unexpected extra column', 'remove it, or check for a stray space');
}

export function parseZones(items: FileItem[], family: Family): Zone[] {
  const zones: Zone[] = [];
  const seen = new Set<string>();
  for (const row of rows(items, 'zones')) {
    rejectExtraColumns(row);
    const name = row.need(0, 'a zone name');
    if (name.includes(':')) throw row.fail(0, `nested zone '${name}' is not supported yet`, 'declare the zone without a parent');
    if (!ZONE_NAME.test(name)) throw row.fail(0, `'${name}' is not a valid zone name`, 'expected a letter followed by letters, digits or _');
    if (name.length > 5) throw row.fail(0, `zone name '${name}' is longer than 5 characters`, 'use at most 5 characters (loc, net, blue, orang)');
    if (RESERVED_ZONE_NAMES.has(name.toLowerCase())) throw row.fail(0, `'${name}' is a reserved word`, 'choose another zone name');
    if (seen.has(name)) throw row.fail(0, `zone '${name}' is declared twice`);
    const typeText = row.need(1, 'a zone type: firewall, ip, ipv4 or ipv6').toLowerCase();
    const allowed: ZoneType[] = ['firewall', 'ip', 'ipv4', 'ipv6'];
    if (!(allowed as string[]).includes(typeText)) {
      const known = ['ipsec', 'ipsec4', 'ipsec6', 'bport', 'bport4', 'bport6', 'vserver', 'loopback', 'local'];
      throw row.fail(1, known.includes(typeText) ? `zone type '${typeText}' is not supported yet` : `unknown zone type '${typeText}'`, 'expected firewall, ip, ipv4 or ipv6');
    }
    const type = typeText as ZoneType;
    if (family === 6 && type === 'ipv4') throw row.fail(1, 'an ipv4 zone in an IPv6 configuration', 'expected ipv6, ip or firewall');
    if (family === 4 && type === 'ipv6') throw row.fail(1, 'an ipv6 zone in an IPv4 configuration', 'expected ipv4, ip or firewall');
    for (const col of [2, 3, 4]) {
      if (row.get(col) !== undefined) throw row.fail(col, 'zone options are not supported yet', 'leave the column as -');
    }
    seen.add(name);
    zones.push({ name, type, place: { file: 'zones', line: row.line } });
  }
  const firewalls = zones.filter((z) => z.type === 'firewall');
  if (firewalls.length !== 1) {
    throw new GatehouseError(firewalls.length === 0 ? 'no zone of type firewall' : 'more than one zone of type firewall', {
      place: { file: 'zones', ...(firewalls[1] ? { line: firewalls[1].place.line } : {}) },
      hint: 'declare exactly one: fw firewall',
    });
  }
  return zones;
}

const INTERFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}\+?$|^\+$/;
/** Options Gatehouse does not act upon: each is a note naming what is lost (ARP and /proc settings of one interface). */
const UNAPPLIED_INTERFACE_OPTIONS: Record<string, string> = {
  arp_filter: 'ARP replies are not filtered',
  arp_ignore: 'ARP requests are not ignored',
  required: 'the start does not wait for the interface',
  wait: 'the start does not wait for the interface',
  sfilter: 'no source filter for forwarded traffic',
  proxyarp: 'no proxy ARP',
  proxyndp: 'no proxy NDP',
  accept_ra: 'router advertisements are not configured',
};

/** Columns for ?FORMAT 2; format 1 has a BROADCAST column before OPTIONS. */
export function interfaceColumns(format: number): string[] {
  return format === 1 ? ['zone', 'interface', 'broadcast', 'options'] : [...SHOREWALL_COLUMNS.interfaces];
}

export function parseInterfaces(items: FileItem[], ctx: ParseContext, notes: string[]): Interface[] {
  const out: Interface[] = [];
  let format = 1;
  for (const item of items) {
    if (item.kind === 'format') {
      format = item.format;
      continue;
    }
    if (item.kind !== 'row') continue;
    const row = item.row;
    // The row was split with format-2 names; a format-1 file has the BROADCAST column in between.
    const optionsIndex = format === 1 ? 3 : 2;
    if (format === 1) {
      const broadcast = row.get(2);
      if (broadcast !== undefined && broadcast !== 'detect') throw row.fail(2, 'a BROADCAST list is not supported', 'write - or detect, or use ?FORMAT 2');
    }
    const zoneName = row.get(0);
    if (zoneName !== undefined) {
      const zone = ctx.zones.get(zoneName);
      if (!zone) throw row.fail(0, `unknown zone '${zoneName}'`, `expected a zone from the zones file: ${[...ctx.zones.keys()].join(', ')}`);
      if (zone.type === 'firewall') throw row.fail(0, 'the firewall zone has no interfaces', 'name another zone');
    }
    const name = row.need(1, 'an interface name (eth0, ppp+)');
    if (!INTERFACE_NAME.test(name)) throw row.fail(1, `'${name}' is not a valid interface name`, 'expected up to 15 letters, digits, . _ - @, optionally ending in +');
    if (ctx.interfaces.has(name)) throw row.fail(1, `interface '${name}' is declared twice`);
    const options: InterfaceOptions = { ignore: false, routefilter: 'off', logmartians: false, routeback: false, dhcp: false, tcpflags: false, nosmurfs: false, maclist: false, optional: false, bridge: false };
    let physical = name;
    const optionText = row.get(optionsIndex);
    for (const option of optionText === undefined ? [] : optionText.split(',')) {
      const [key, value] = option.split('=', 2) as [string, string | undefined];
      const flag = value === undefined || value === '1' ? true : value === '0' ? false : undefined;
      switch (key) {
        case 'ignore':
        case 'routeback':
        case 'dhcp':
        case 'tcpflags':
        case 'nosmurfs':
        case 'maclist':
        case 'optional':
        case 'bridge':
          if (flag === undefined) throw row.fail(optionsIndex, `option '${option}' takes no value other than 0 or 1`);
          options[key] = flag;
          break;
        case 'routefilter':
          if (value !== undefined && !['0', '1', '2'].includes(value)) throw row.fail(optionsIndex, `'${option}' is not valid`, 'expected routefilter, routefilter=0, 1 or 2');
          options.routefilter = value === '0' ? 'off' : value === '2' ? 'loose' : 'strict';
          break;
        case 'logmartians':
          if (flag === undefined) throw row.fail(optionsIndex, `option '${option}' takes no value other than 0 or 1`);
          options.logmartians = flag;
          break;
        case 'sourceroute':
          // The kernel's all/accept_source_route is 0, which no interface can override: sourceroute=0 is what happens anyway.
          if (value === '0') break;
          notes.push(`interfaces:${row.line}: option '${option}' is not acted upon: source-routed packets stay refused`);
          break;
        case 'forward':
          // IPv6 forwarding is on for every interface when the firewall forwards.
          if (value === undefined || value === '1') break;
          notes.push(`interfaces:${row.line}: option '${option}' is not acted upon: the interface still forwards`);
          break;
        case 'physical':
          if (!value || !INTERFACE_NAME.test(value)) throw row.fail(optionsIndex, `'${option}' is not a valid physical name`, 'expected physical=<kernel interface name>');
          physical = value;
          break;
        default:
          if (Object.hasOwn(UNAPPLIED_INTERFACE_OPTIONS, key)) {
            notes.push(`interfaces:${row.line}: option '${key}' is not acted upon: ${UNAPPLIED_INTERFACE_OPTIONS[key]}`);
            break;
          }
          throw row.fail(optionsIndex, `interface option '${key}' is not supported yet`, 'supported: ignore, routeback, dhcp, tcpflags, nosmurfs, routefilter, logmartians, sourceroute, maclist, optional, bridge, physical=');
      }
    }
    if (options.logmartians && options.routefilter === 'off') {
      notes.push(`interfaces:${row.line}: logmartians without routefilter logs nothing unless ROUTE_FILTER=Yes (Gatehouse logs what the reverse-path check drops)`);
    }
    if (row.get(optionsIndex + 1) !== undefined) throw row.fail(optionsIndex + 1, 'unexpected extra column');
    if (options.ignore) {
      if (zoneName !== undefined) throw row.fail(0, 'an ignored interface belongs to no zone', "write - in the ZONE column, or drop 'ignore'");
      // Shorewall generates nothing for it; the loopback is always accepted anyway.
      if (name !== 'lo' && physical !== 'lo') notes.push(`interfaces:${row.line}: ${name} is ignored: its traffic meets the all policies`);
      continue;
    }
    const iface: Interface = { zone: zoneName, name, physical, options, place: { file: 'interfaces', line: row.line } };
    ctx.interfaces.set(name, iface);
    out.push(iface);
  }
  return out;
}

export const HOST_COLUMNS = SHOREWALL_COLUMNS.hosts;

export function parseHosts(items: FileItem[], ctx: ParseContext): Host[] {
  const out: Host[] = [];
  for (const row of rows(items, 'hosts')) {
    rejectExtraColumns(row);
    const zoneName = row.need(0, 'a zone name');
    const zone = ctx.zones.get(zoneName);
    if (!zone) throw row.fail(0, `unknown zone '${zoneName}'`, `expected a zone from the zones file: ${[...ctx.zones.keys()].join(', ')}`);
    if (zone.type === 'firewall') throw row.fail(0, 'the firewall zone cannot have hosts', 'name another zone');
    const spec = row.need(1, 'interface:addresses (eth0:192.168.1.0/24)');
    const colon = spec.indexOf(':');
    if (colon <= 0) throw row.fail(1, `'${spec}' has no interface`, 'expected interface:addresses (eth0:192.168.1.0/24)');
    const ifName = spec.slice(0, colon);
    if (!ctx.interfaces.has(ifName)) throw row.fail(1, `interface '${ifName}' is not in the interfaces file`, 'declare it there first');
    const addresses = readAddressList(row, 1, spec.slice(colon + 1), { allow: ['net', 'range', 'ipset'] });
    const options: HostOptions = { routeback: false, maclist: false, tcpflags: false, nosmurfs: false };
    const optionText = row.get(2);
    for (const option of optionText === undefined ? [] : optionText.split(',')) {
      if (option === 'routeback' || option === 'maclist' || option === 'tcpflags' || option === 'nosmurfs') options[option] = true;
      else throw row.fail(2, `host option '${option}' is not supported yet`, 'supported: routeback, maclist, tcpflags, nosmurfs');
    }
    out.push({ zone: zoneName, interface: ifName, addresses, options, place: { file: 'hosts', line: row.line } });
  }
  return out;
}

/** `loc`, `loc,net`, `loc,net+`, `all`, `all+`, `all-`, `all+-`, `any`, `all!net,loc`. */
export function readZoneSelector(row: Row, index: number, text: string, ctx: ParseContext): ZoneSelector {
  let selector = ctx.selectors.get(text);
  if (!selector) {
    selector = readNewZoneSelector(row, index, text, ctx);
    ctx.selectors.set(text, selector);
  }
  return selector;
}

function readNewZoneSelector(row: Row, index: number, text: string, ctx: ParseContext): ZoneSelector {
  const m = /^(all|any)(\+?)(-?)(?:!(.+))?$/i.exec(text);
  if (m) {
    const except = m[4] === undefined ? [] : m[4].split(',');
    for (const z of except) checkZone(row, index, z, ctx);
    return { kind: 'all', includeIntra: m[2] === '+', includeFirewall: m[3] !== '-', except };
  }
  let body = text;
  let includeIntra = false;
  if (body.endsWith('+') && body.includes(',')) {
    includeIntra = true;
    body = body.slice(0, -1);
  }
  const names = body.split(',');
  for (const z of names) checkZone(row, index, z, ctx);
  return { kind: 'zones', names, includeIntra };
}

function checkZone(row: Row, index: number, name: string, ctx: ParseContext): void {
  if (!ctx.zones.has(name)) {
    throw row.fail(index, `unknown zone '${name}'`, `expected $FW, all, any or a zone from the zones file: ${[...ctx.zones.keys()].join(', ')}`);
  }
}

export const POLICY_COLUMNS = SHOREWALL_COLUMNS.policy;

export function parsePolicy(items: FileItem[], ctx: ParseContext): Policy[] {
  const out: Policy[] = [];
  for (const row of rows(items, 'policy')) {
    rejectExtraColumns(row);
    const source = readZoneSelector(row, 0, row.need(0, 'a source zone, $FW or all'), ctx);
    const dest = readZoneSelector(row, 1, row.need(1, 'a destination zone, $FW or all'), ctx);
    const policyText = row.need(2, 'ACCEPT, DROP, REJECT, CONTINUE or NONE');
    const [verdictText, actionText] = policyText.split(':', 2) as [string, string | undefined];
    const verdict = verdictText.toUpperCase();
    if (!['ACCEPT', 'DROP', 'REJECT', 'CONTINUE', 'NONE'].includes(verdict)) {
      const known = ['BLACKLIST', 'QUEUE', 'NFQUEUE'].includes(verdict.replace(/\(.*$/, ''));
      throw row.fail(2, known ? `policy '${verdict}' is not supported yet` : `unknown policy '${verdictText}'`, 'expected ACCEPT, DROP, REJECT, CONTINUE or NONE');
    }
    if (actionText !== undefined && actionText.toLowerCase() !== 'none') {
      throw row.fail(2, `policy action '${actionText}' is not supported yet`, 'write the policy alone, or with :None');
    }
    const policy: Policy = { source, dest, policy: verdict as PolicyVerdict, place: { file: 'policy', line: row.line } };
    const levelText = row.get(3);
    if (levelText !== undefined) {
      const level = readLogLevel(row, 3, levelText);
      if (level !== undefined) policy.log = level;
    }
    for (const col of [4, 5]) if (row.get(col) !== undefined) throw row.fail(col, 'policy rate and connection limits are not supported yet', 'leave the column as -');
    out.push(policy);
  }
  return out;
}
