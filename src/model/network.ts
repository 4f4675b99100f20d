/**
 * Interfaces, roles and zones from the networks database, and the zone of any address:
 * zone records first, then interface networks (aliases count for their parent), then `net`.
 */
import type ipaddr from 'ipaddr.js';
import { type Database, INTERFACE_TYPES, NO_ZONE_ROLES, zoneClashes, zoneOfRole } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import {
  type Family,
  type ParsedAddress,
  contains,
  networkOf,
  parseHostOrNetwork,
  plainText,
  prefixOfNetmask,
} from './addresses.js';
import { propOf } from './settings.js';
import type { InterfaceAddress, NetworkInterface, ZoneDefinition } from './types.js';

export { zoneOfRole };

interface ZoneNetwork {
  zone: string;
  network: ParsedAddress & { kind: 'network' };
}

/** A zone record: its zone, interface, network, and optionally its IPv6 network (Network6). */
export interface ZoneRecord {
  zone: string;
  interface: string;
  network: ParsedAddress & { kind: 'network' };
  network6?: ParsedAddress & { kind: 'network' };
}

/** The zone record's network of that family, if it has one. */
export function zoneRecordNetwork(z: ZoneRecord, family: Family): (ParsedAddress & { kind: 'network' }) | undefined {
  if (z.network.family === family) return z.network;
  return family === 'ipv6' ? z.network6 : undefined;
}

export interface NetworkView {
  interfaces: NetworkInterface[];
  byName: Map<string, NetworkInterface>;
  zones: ZoneDefinition[];
  /** Zone records: key -> zone name, interface, network(s). */
  zoneRecords: Map<string, ZoneRecord>;
  /** In lookup order: zone records, then interface networks. */
  lookup: ZoneNetwork[];
  /** Trusted networks (`network` records), as CIDR per family. */
  trusted: Record<Family, string[]>;
  mode: 'gateway' | 'server';
}

function interfaceAddress(
  networks: Database,
  key: string,
  family: Family,
): { address: InterfaceAddress; network: ParsedAddress & { kind: 'network' } } | undefined {
  const prop = family === 'ipv4' ? 'ipaddr' : 'ip6addr';
  const raw = propOf(networks, key, prop);
  if (raw === undefined) return undefined;
  if (family === 'ipv4' && propOf(networks, key, 'bootproto') === 'dhcp') return undefined;
  const bad = (hint: string): GatehouseError =>
    new GatehouseError(`${prop} '${raw}' is not a valid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`, {
      place: { db: 'networks', key, prop },
      hint,
    });
  if (family === 'ipv4') {
    const ip = parseHostOrNetwork(raw);
    if (!ip || ip.kind !== 'host' || ip.family !== 'ipv4') throw bad('write it like 192.168.1.1');
    const maskText = propOf(networks, key, 'netmask');
    if (maskText === undefined) return undefined;
    const prefix = prefixOfNetmask(maskText);
    if (prefix === undefined) {
      throw new GatehouseError(`netmask '${maskText}' is not a valid netmask`, {
        place: { db: 'networks', key, prop: 'netmask' },
        hint: 'write it like 255.255.255.0',
      });
    }
    const network = networkOf(ip.ip, prefix) as ParsedAddress & { kind: 'network' };
    return { address: { address: raw, network: plainText(network), record: key }, network };
  }
  const ip = parseHostOrNetwork(raw);
  if (!ip || ip.kind !== 'network' || ip.family !== 'ipv6') throw bad('write it with its prefix, like 2001:db8:1::1/64');
  const network = networkOf(ip.ip, ip.prefix) as ParsedAddress & { kind: 'network' };
  return { address: { address: ip.ip.toString(), network: plainText(network), record: key }, network };
}

export function readNetwork(networks: Database): NetworkView {
  // The same clashes db refuses, for records written by hand or imported before.
  const clashes = zoneClashes(networks);
  if (clashes.length > 0) {
    const c = clashes[0]!;
    const more = clashes.length > 1 ? ` (and ${clashes.length - 1} more)` : '';
    throw new GatehouseError(`${c.message}${more}`, { place: { db: 'networks', key: c.key, ...(c.prop ? { prop: c.prop } : {}) }, hint: c.hint });
  }
  const keys = Object.keys(networks).sort();
  const interfaces: NetworkInterface[] = [];
  const byName = new Map<string, NetworkInterface>();
  const interfaceNetworks: ZoneNetwork[] = [];

  const addAddresses = (iface: NetworkInterface, key: string): void => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const found = interfaceAddress(networks, key, family);
      if (!found) continue;
      iface[family].push(found.address);
      interfaceNetworks.push({ zone: iface.zone, network: found.network });
    }
  };

  for (const key of keys) {
    const record = networks[key];
    if (!record || !INTERFACE_TYPES.has(record.type)) continue;
    const role = propOf(networks, key, 'role');
    if (role === undefined || NO_ZONE_ROLES.has(role)) continue;
    const zone = zoneOfRole(role);
    const iface: NetworkInterface = { name: key, type: record.type, role, zone, ipv4: [], ipv6: [] };
    interfaces.push(iface);
    byName.set(key, iface);
    addAddresses(iface, key);
  }

  for (const key of keys) {
    const record = networks[key];
    if (!record || record.type !== 'alias') continue;
    const parentName = key.split(':')[0] ?? '';
    const parent = byName.get(parentName);
    if (!parent) {
      throw new GatehouseError(`alias of '${parentName}', which is not a configured interface`, {
        place: { db: 'networks', key },
        hint: 'name an alias <interface>:<n> after an interface that has a role',
      });
    }
    addAddresses(parent, key);
  }

  const zoneRecords = new Map<string, ZoneRecord>();
  const zoneNetworks: ZoneNetwork[] = [];
  for (const key of keys) {
    if (networks[key]?.type !== 'zone') continue;
    const zone = key.slice(0, 5);
    const ifaceName = propOf(networks, key, 'Interface');
    if (ifaceName === undefined || !byName.has(ifaceName)) {
      // Skipping it would put its hosts in their interface's zone, with that zone's access:
      // fail, so the running firewall stays as it was. (db refuses a zone without Interface.)
      throw new GatehouseError(
        ifaceName === undefined ? 'a zone record needs Interface' : `Interface '${ifaceName}' is not a configured interface (it has no role, or no longer exists)`,
        { place: { db: 'networks', key, prop: 'Interface' }, hint: `use one of: ${[...byName.keys()].join(', ') || '(no interface has a role)'}, or delete the zone record` },
      );
    }
    const networkText = propOf(networks, key, 'Network');
    const network = networkText === undefined ? undefined : parseHostOrNetwork(networkText);
    if (!network || network.kind !== 'network') {
      throw new GatehouseError(`Network '${networkText ?? ''}' is not a network`, {
        place: { db: 'networks', key, prop: 'Network' },
        hint: 'write a CIDR such as 192.168.1.128/25 or 2001:db8:1:8000::/65',
      });
    }
    const normalized = networkOf(network.ip, network.prefix) as ParsedAddress & { kind: 'network' };
    const record: ZoneRecord = { zone, interface: ifaceName, network: normalized };
    zoneNetworks.push({ zone, network: normalized });
    // The same hosts' IPv6 network: without it, their IPv6 traffic is in the interface's zone.
    const network6Text = propOf(networks, key, 'Network6');
    if (network6Text !== undefined) {
      const parsed6 = parseHostOrNetwork(network6Text);
      if (!parsed6 || parsed6.kind !== 'network' || parsed6.family !== 'ipv6' || normalized.family !== 'ipv4') {
        throw new GatehouseError(
          normalized.family === 'ipv4' ? `Network6 '${network6Text}' is not an IPv6 network` : `Network6 is set, but Network '${networkText}' is IPv6 already`,
          { place: { db: 'networks', key, prop: 'Network6' }, hint: 'put the IPv4 network in Network and the IPv6 one in Network6, such as 2001:db8:1:8000::/65' },
        );
      }
      const network6 = networkOf(parsed6.ip, parsed6.prefix) as ParsedAddress & { kind: 'network' };
      record.network6 = network6;
      zoneNetworks.push({ zone, network: network6 });
    }
    zoneRecords.set(key, record);
  }

  const zones: ZoneDefinition[] = [];
  const seen = new Set<string>();
  for (const iface of interfaces) {
    if (seen.has(iface.zone)) continue;
    seen.add(iface.zone);
    zones.push({ name: iface.zone, origin: { role: iface.role }, families: ['ipv4', 'ipv6'] });
  }
  for (const [key, z] of zoneRecords) zones.push({ name: z.zone, origin: { zoneRecord: key }, families: z.network6 ? ['ipv4', 'ipv6'] : [z.network.family] });

  const trusted: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  for (const key of keys) {
    if (networks[key]?.type !== 'network') continue;
    const mask = propOf(networks, key, 'Mask');
    const prefix = mask === undefined ? undefined : (prefixOfNetmask(mask) ?? (/^\d+$/.test(mask) ? Number(mask) : undefined));
    const parsed = parseHostOrNetwork(prefix === undefined ? key : `${key}/${prefix}`);
    if (!parsed || parsed.kind === 'range') {
      throw new GatehouseError(`trusted network '${key}' with Mask '${mask ?? ''}' is not a network`, {
        place: { db: 'networks', key, prop: 'Mask' },
        hint: 'key the record by the network address and set Mask to a netmask such as 255.255.255.0',
      });
    }
    const net = parsed.kind === 'host' ? parsed : networkOf(parsed.ip, parsed.prefix);
    trusted[net.family].push(plainText(net));
  }

  return {
    interfaces,
    byName,
    zones,
    zoneRecords,
    lookup: [...zoneNetworks, ...interfaceNetworks],
    trusted,
    mode: interfaces.some((i) => i.role === 'red') ? 'gateway' : 'server',
  };
}

/**
 * Networks the routes database reaches through an inner interface (a router on green) are
 * in that interface's zone: their hosts' packets come in on it. Without this, a rule naming
 * such a host put it in `net`, where its traffic never passes, and a DROP had no effect.
 * Malformed routes are left to the routing stage, which refuses them naming the record.
 */
export function withRoutedNetworks(view: NetworkView, routes: Database): NetworkView {
  // In server mode loc is the green networks listed in hosts; the rest of green is net.
  if (view.mode === 'server') return view;
  const extra: ZoneNetwork[] = [];
  for (const key of Object.keys(routes).sort()) {
    if (routes[key]?.type !== 'static' || key === 'default') continue;
    const mask = propOf(routes, key, 'Mask');
    const prefix = mask === undefined ? undefined : prefixOfNetmask(mask);
    const dest = parseHostOrNetwork(prefix === undefined ? key : `${key}/${prefix}`);
    const router = parseHostOrNetwork(propOf(routes, key, 'Router') ?? '');
    if (!dest || dest.kind === 'range' || !router || router.kind !== 'host') continue;
    const device = propOf(routes, key, 'Device');
    const iface =
      device !== undefined
        ? view.byName.get(device)
        : view.interfaces.find((i) =>
            i[router.family].some((a) => {
              const net = parseHostOrNetwork(a.network);
              return net?.kind === 'network' && contains(net, router.ip);
            }),
          );
    if (!iface || iface.zone === 'net') continue;
    const network = (dest.kind === 'host' ? networkOf(dest.ip, dest.family === 'ipv4' ? 32 : 128) : networkOf(dest.ip, dest.prefix)) as ParsedAddress & { kind: 'network' };
    extra.push({ zone: iface.zone, network });
  }
  return extra.length === 0 ? view : { ...view, lookup: [...view.lookup, ...extra] };
}

/** The zone an address belongs to: the first zone record or interface network holding it, else `net`. */
export function zoneOfAddress(view: NetworkView, ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  for (const entry of view.lookup) if (contains(entry.network, ip)) return entry.zone;
  return 'net';
}
