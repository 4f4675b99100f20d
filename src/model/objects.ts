/**
 * Firewall objects (`host;k`, `host-group;k`, `cidr;k`, `iprange;k`, `zone;k`, `role;r`,
 * `mac;k`, literals, `any`, `fw`) resolved to endpoints: a zone and, optionally, the
 * addresses inside it, one endpoint per zone and family (groups are split per zone).
 */
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import {
  type Family,
  type ParsedAddress,
  firstAddress,
  networkOf,
  parseAddress,
  parseHostOrNetwork,
  parseMac,
  parseRange,
  plainText,
  shorewallText,
} from './addresses.js';
import { type NetworkView, zoneOfAddress, zoneOfRole } from './network.js';
import { propOf } from './settings.js';

export interface Endpoint {
  /** Shorewall zone (`loc`, `net`, `$FW`, `all+`, ...). */
  zone: string;
  /** The family the endpoint belongs to; `any` for whole zones and MACs. */
  family: Family | 'any';
  /** Addresses inside the zone, written for that family; empty means the whole zone. */
  addresses: string[];
  /** Plain addresses (no brackets), for columns that take no zone. */
  plain: string[];
}

export function endpointText(e: Endpoint): string {
  return e.addresses.length === 0 ? e.zone : `${e.zone}:${e.addresses.join(',')}`;
}

export function inFamily(e: Endpoint, family: Family): boolean {
  return e.family === 'any' || e.family === family;
}

const HOST_TYPES = new Set(['host', 'local', 'remote']);

export interface ObjectResolver {
  /** Resolve a Src/Dst-style reference; `place` names the record that holds it. */
  endpoints(ref: string, place: Place, options?: { allowMac?: boolean }): Endpoint[];
  /** The addresses of a hosts-database object (host, group, cidr, iprange, local, remote). */
  addresses(ref: string, place: Place): ParsedAddress[];
}

export function objectResolver(view: NetworkView, dbs: Record<string, Database>): ObjectResolver {
  const hosts = dbs['hosts'] ?? {};
  const macs = dbs['macs'] ?? {};
  const cache = new Map<string, Endpoint[]>();

  const missing = (place: Place, what: string, hint: string): GatehouseError =>
    new GatehouseError(`refers to ${what}, which does not exist`, { place, hint });

  const invalid = (place: Place, what: string, hint: string): GatehouseError =>
    new GatehouseError(what, { place, hint });

  function hostAddress(key: string, place: Place, via?: string): ParsedAddress {
    const record = hosts[key];
    const viaText = via ? ` (member of host-group '${via}')` : '';
    if (!record) throw missing(place, `host '${key}'${viaText}`, 'create it in the hosts database or fix the reference');
    const ipText = propOf(hosts, key, 'IpAddress');
    const parsed = ipText === undefined ? undefined : parseHostOrNetwork(ipText);
    if (!parsed || parsed.kind !== 'host') {
      throw invalid(
        place,
        `host '${key}'${viaText} has ${ipText === undefined ? 'no IpAddress' : `the IpAddress '${ipText}', which is not an IP address`}`,
        `set hosts/${key}/IpAddress to an IPv4 or IPv6 address`,
      );
    }
    return parsed;
  }

  function addresses(ref: string, place: Place): ParsedAddress[] {
    const semi = ref.indexOf(';');
    const kind = ref.slice(0, semi);
    const key = ref.slice(semi + 1);
    const record = hosts[key];
    switch (kind) {
      case 'host':
      case 'local':
      case 'remote':
        if (record && !HOST_TYPES.has(record.type)) {
          throw invalid(place, `'${ref}' names a ${record.type} record, not a host`, `use '${record.type};${key}'`);
        }
        return [hostAddress(key, place)];
      case 'host-group': {
        if (!record || record.type !== 'host-group') {
          throw missing(place, `host-group '${key}'`, 'create it in the hosts database or fix the reference');
        }
        const members = (propOf(hosts, key, 'Members') ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
        if (members.length === 0) throw invalid(place, `host-group '${key}' has no Members`, 'add hosts to it or remove the reference');
        return members.map((m) => hostAddress(m, place, key));
      }
      case 'cidr': {
        if (!record || record.type !== 'cidr') throw missing(place, `cidr '${key}'`, 'create it in the hosts database or fix the reference');
        const text = propOf(hosts, key, 'Address') ?? '';
        const parsed = parseHostOrNetwork(text);
        if (!parsed || parsed.kind === 'range') {
          throw invalid(place, `cidr '${key}' has the Address '${text}', which is not a network`, 'write it like 10.10.0.0/16 or 2001:db8::/48');
        }
        return [parsed.kind === 'network' ? networkOf(parsed.ip, parsed.prefix) : parsed];
      }
      case 'iprange': {
        if (!record || record.type !== 'iprange') throw missing(place, `iprange '${key}'`, 'create it in the hosts database or fix the reference');
        const start = propOf(hosts, key, 'Start') ?? '';
        const end = propOf(hosts, key, 'End') ?? '';
        const parsed = parseRange(start, end);
        if (!parsed) {
          throw invalid(place, `iprange '${key}' from '${start}' to '${end}' is not a range`, 'Start and End must be addresses of one family, Start first');
        }
        return [parsed];
      }
      default: {
        const literal = parseAddress(ref);
        if (literal) return [literal];
        throw invalid(place, `'${ref}' is not an address or a host object`, 'use an IP, a CIDR, a-b, or host;K, host-group;K, cidr;K, iprange;K');
      }
    }
  }

  function fromAddresses(list: ParsedAddress[]): Endpoint[] {
    if (list.length === 1) {
      // One address (a literal, a host, a cidr, a range: most references): its own endpoint.
      const a = list[0]!;
      return [{ zone: zoneOfAddress(view, firstAddress(a)), family: a.family, addresses: [shorewallText(a)], plain: [plainText(a)] }];
    }
    // One endpoint per (family, zone), in order of first appearance.
    const groups = new Map<string, Endpoint>();
    for (const a of list) {
      const zone = zoneOfAddress(view, firstAddress(a));
      const id = `${a.family} ${zone}`;
      let e = groups.get(id);
      if (!e) {
        e = { zone, family: a.family, addresses: [], plain: [] };
        groups.set(id, e);
      }
      const text = shorewallText(a);
      if (!e.addresses.includes(text)) {
        e.addresses.push(text);
        e.plain.push(plainText(a));
      }
    }
    return [...groups.values()];
  }

  function resolve(ref: string, place: Place, allowMac: boolean): Endpoint[] {
    const lower = ref.toLowerCase();
    if (lower === 'any') return [{ zone: 'all+', family: 'any', addresses: [], plain: [] }];
    if (lower === 'fw') return [{ zone: '$FW', family: 'any', addresses: [], plain: [] }];
    const semi = ref.indexOf(';');
    const kind = semi < 0 ? '' : ref.slice(0, semi);
    const key = ref.slice(semi + 1);
    switch (kind) {
      case 'role': {
        if (key === 'red' && view.mode === 'server') return [{ zone: 'net', family: 'any', addresses: [], plain: [] }];
        if (!view.interfaces.some((i) => i.role === key)) {
          throw missing(place, `role '${key}'`, `no interface has that role; roles in use: ${[...new Set(view.interfaces.map((i) => i.role))].join(', ') || 'none'}`);
        }
        return [{ zone: zoneOfRole(key), family: 'any', addresses: [], plain: [] }];
      }
      case 'zone': {
        const zone = view.zoneRecords.get(key);
        if (!zone) throw missing(place, `zone '${key}'`, 'create a zone record in the networks database or fix the reference');
        return [{ zone: zone.zone, family: zone.network.family, addresses: [], plain: [] }];
      }
      case 'mac': {
        if (!allowMac) throw invalid(place, `'${ref}' can only be a source`, 'a MAC address identifies the sender; use it in Src');
        const record = macs[key];
        if (!record || record.type !== 'mac') throw missing(place, `mac '${key}'`, 'create it in the macs database or fix the reference');
        const mac = parseMac(propOf(macs, key, 'Address') ?? '');
        if (!mac) throw invalid(place, `mac '${key}' has no valid Address`, 'write it like aa:bb:cc:dd:ee:ff');
        const zoneRef = propOf(macs, key, 'Zone');
        if (zoneRef === undefined) throw invalid(place, `mac '${key}' has no Zone`, 'set macs/<key>/Zone to a role (green, blue...) or a zone record');
        const zone = view.zoneRecords.get(zoneRef)?.zone ?? (view.interfaces.some((i) => i.role === zoneRef) ? zoneOfRole(zoneRef) : undefined);
        if (zone === undefined) throw missing(place, `zone or role '${zoneRef}' (Zone of mac '${key}')`, 'use a role that an interface has, or a zone record key');
        return [{ zone, family: 'any', addresses: [`~${mac}`], plain: [] }];
      }
      default:
        return fromAddresses(addresses(ref, place));
    }
  }

  return {
    endpoints(ref, place, options = {}) {
      const id = `${options.allowMac ? 'm' : ''}${ref}`;
      const hit = cache.get(id);
      if (hit) return hit;
      const result = resolve(ref, place, options.allowMac ?? false);
      cache.set(id, result);
      return result;
    },
    addresses,
  };
}
