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
  contains,
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
import type { NetworkInterface } from './types.js';
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
  /**
   * Set on a reservation's IPv6 side matched by its MAC (it names no IPv6 address): a MAC
   * says which machine, not which address, so it refuses that machine, never admits it.
   */
  byMac?: true;
}

/** A host named by a rule whose IPv6 traffic the rule cannot match, in a zone that carries IPv6. */
export interface Ipv6Gap {
  host: string;
  /** The zone its IPv6 traffic is in. */
  zone: string;
}

export function endpointText(e: Endpoint): string {
  return e.addresses.length === 0 ? e.zone : `${e.zone}:${e.addresses.join(',')}`;
}

export function inFamily(e: Endpoint, family: Family): boolean {
  return e.family === 'any' || e.family === family;
}

const HOST_TYPES = new Set(['host', 'local', 'remote']);
/** References that name machines (hosts and their groups), which have an IPv6 side. */
const HOST_REFERENCES = new Set(['host', 'local', 'remote', 'host-group']);

interface Ipv6Sides {
  addresses: ParsedAddress[];
  macs: Endpoint[];
  gaps: Ipv6Gap[];
}

export interface ObjectResolver {
  /** Resolve a Src/Dst-style reference; `place` names the record that holds it. */
  endpoints(ref: string, place: Place, options?: { allowMac?: boolean }): Endpoint[];
  /** The addresses of a hosts-database object (host, group, cidr, iprange, local, remote). */
  addresses(ref: string, place: Place): ParsedAddress[];
  /**
   * The hosts `ref` names (host, local, remote, host-group members) that have no IPv6 side
   * (no IPv6 address, and as a source no reservation MAC), where their zone carries IPv6.
   */
  ipv6Gaps(ref: string, place: Place, asSource: boolean): Ipv6Gap[];
  /** The type of a hosts record (`host`, `local`, ...), `''` when there is none. */
  hostType(key: string): string;
}

export function objectResolver(view: NetworkView, dbs: Record<string, Database>): ObjectResolver {
  const hosts = dbs['hosts'] ?? {};
  const macs = dbs['macs'] ?? {};
  const cache = new Map<string, Endpoint[]>();
  const sidesCache = new Map<string, Ipv6Sides>();

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

  /** The host's Ip6Address (undefined: none); callers ask only for a host whose IpAddress is IPv4. */
  function hostIpv6(key: string, place: Place): ParsedAddress | undefined {
    const text = propOf(hosts, key, 'Ip6Address');
    if (text === undefined) return undefined;
    const parsed = parseHostOrNetwork(text);
    if (!parsed || parsed.kind !== 'host' || parsed.family !== 'ipv6') {
      throw invalid(place, `host '${key}' has the Ip6Address '${text}', which is not an IPv6 address`, `set hosts/${key}/Ip6Address to an IPv6 address such as 2001:db8:1::10`);
    }
    return parsed;
  }

  /** A host-group's member keys, in order (addresses() gives one address per member, in this order). */
  function groupMembers(key: string): string[] {
    return (propOf(hosts, key, 'Members') ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
  }

  /** Host keys a reference names: itself for host, local, remote; the members of a host-group. */
  function hostKeys(ref: string): string[] {
    const semi = ref.indexOf(';');
    const kind = ref.slice(0, semi);
    const key = ref.slice(semi + 1);
    if (kind === 'host' || kind === 'local' || kind === 'remote') return [key];
    if (kind === 'host-group') return groupMembers(key);
    return [];
  }

  const carriesIpv6 = (zone: string): boolean => view.interfaces.some((i) => i.zone === zone && i.ipv6.length > 0);

  /**
   * Where a host known by its IPv4 address sends IPv6 from: the zones of its segment (the
   * interface whose network holds the address, and that interface's zone records with an
   * IPv6 network) when it is directly attached, else the zone of its address (routed, net).
   */
  let attachedNetworks: { iface: NetworkInterface; network: ParsedAddress & { kind: 'network' } }[] | undefined;
  function ipv6Home(ip: ParsedAddress): { zones: string[]; attached: boolean } {
    const first = firstAddress(ip);
    attachedNetworks ??= view.interfaces.flatMap((iface) =>
      iface.ipv4.flatMap((a) => {
        const network = parseHostOrNetwork(a.network);
        return network?.kind === 'network' ? [{ iface, network }] : [];
      }),
    );
    const iface = attachedNetworks.find((n) => contains(n.network, first))?.iface;
    if (iface) {
      const records = [...view.zoneRecords.values()].filter((z) => z.interface === iface.name && z.network6 !== undefined).map((z) => z.zone);
      return { zones: [iface.zone, ...records].filter((z) => carriesIpv6(z) || records.includes(z)), attached: true };
    }
    const zone = zoneOfAddress(view, first);
    const record = [...view.zoneRecords.values()].find((z) => z.zone === zone);
    if (record) {
      const home = record.network6 !== undefined ? record.zone : view.byName.get(record.interface)?.zone;
      return { zones: home !== undefined && (record.network6 !== undefined || carriesIpv6(home)) ? [home] : [], attached: false };
    }
    return { zones: carriesIpv6(zone) ? [zone] : [], attached: false };
  }

  /** A reservation's MAC, when it stands for the host's IPv6 side as a source. */
  function reservationMac(key: string): string | undefined {
    if (hosts[key]?.type !== 'local') return undefined;
    return parseMac(propOf(hosts, key, 'MacAddress') ?? '');
  }

  /**
   * The IPv6 side of the hosts `ref` names: their IPv6 addresses, or (as a source) their
   * reservation MAC, else a gap; once per reference and side (rules name hosts many times).
   */
  function ipv6Sides(ref: string, list: () => ParsedAddress[], place: Place, asSource: boolean): Ipv6Sides {
    const id = `${asSource ? 's' : 'd'}${ref}`;
    let sides = sidesCache.get(id);
    if (!sides) {
      sides = findIpv6Sides(ref, list(), place, asSource);
      sidesCache.set(id, sides);
    }
    return sides;
  }

  function findIpv6Sides(ref: string, list: ParsedAddress[], place: Place, asSource: boolean): Ipv6Sides {
    const out: Ipv6Sides = { addresses: [], macs: [], gaps: [] };
    const keys = hostKeys(ref);
    keys.forEach((key, i) => {
      const own = list[i];
      if (own === undefined || own.family === 'ipv6') return;
      const v6 = hostIpv6(key, place);
      if (v6) {
        out.addresses.push(v6);
        return;
      }
      const home = ipv6Home(own);
      const mac = asSource && home.attached ? reservationMac(key) : undefined;
      for (const zone of home.zones) {
        if (mac !== undefined) out.macs.push({ zone, family: 'ipv6', addresses: [`~${mac}`], plain: [], byMac: true });
        else out.gaps.push({ host: key, zone });
      }
    });
    return out;
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
        const members = groupMembers(key);
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
        return [{ zone: zone.zone, family: zone.network6 ? 'any' : zone.network.family, addresses: [], plain: [] }];
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
      default: {
        const list = addresses(ref, place);
        // Literals, cidr and iprange name addresses, not machines: they have no other side.
        if (!HOST_REFERENCES.has(kind)) return fromAddresses(list);
        const sides = ipv6Sides(ref, () => list, place, allowMac);
        if (sides.addresses.length === 0 && sides.macs.length === 0) return fromAddresses(list);
        const macs = sides.macs.filter((m, i) => sides.macs.findIndex((o) => o.zone === m.zone && o.addresses[0] === m.addresses[0]) === i);
        return [...fromAddresses([...list, ...sides.addresses]), ...macs];
      }
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
    ipv6Gaps(ref, place, asSource) {
      if (!HOST_REFERENCES.has(ref.slice(0, Math.max(0, ref.indexOf(';'))))) return [];
      return ipv6Sides(ref, () => addresses(ref, place), place, asSource).gaps;
    },
    hostType: (key) => hosts[key]?.type ?? '',
  };
}
