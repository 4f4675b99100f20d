/**
 * Values Gatehouse reads but has nothing to act on, each with a warning naming it: the
 * SIP/H.323 helpers, VPN zones, bandwidths on interfaces that are not shaped, and trusted
 * networks outside server mode.
 */
import type { Database } from '../db/index.js';
import type { NetworkView } from './network.js';
import { propOf } from './settings.js';
import type { ModelWarning } from './types.js';

export function unsupportedSettingWarnings(dbs: Record<string, Database>, view: NetworkView): ModelWarning[] {
  const configuration = dbs['configuration'] ?? {};
  const out: ModelWarning[] = [];
  const firewall = (prop: string): string | undefined => propOf(configuration, 'firewall', prop);
  if (firewall('SipAlg') === 'enabled') {
    out.push({ place: { db: 'configuration', key: 'firewall', prop: 'SipAlg' }, message: "'enabled' has no effect: Gatehouse does not load the SIP and H.323 connection-tracking helpers" });
  }
  if (firewall('VpnPolicy') === 'permissive') {
    out.push({ place: { db: 'configuration', key: 'firewall', prop: 'VpnPolicy' }, message: "'permissive' has no effect: Gatehouse has no VPN zones (ovpn, ivpn) to open between" });
  }
  // Traffic shaping (src/qos) shapes red interfaces only, as NethServer does.
  const networks = dbs['networks'] ?? {};
  for (const key of Object.keys(networks).sort()) {
    const red = view.byName.get(key)?.role === 'red';
    if (red) continue;
    for (const prop of ['FwInBandwidth', 'FwOutBandwidth', 'TCLinklayer']) {
      const value = propOf(networks, key, prop);
      if (value === undefined) continue;
      const why = view.byName.has(key) ? 'only red interfaces are shaped' : `'${key}' is not an active interface (type ${networks[key]!.type})`;
      out.push({ place: { db: 'networks', key, prop }, message: `'${value}' has no effect: ${why}` });
    }
  }
  // A zone record holds one network of one family; over the other family its hosts are in
  // their interface's zone, so what names the zone (rules, its own policies) misses that traffic.
  for (const [key, z] of view.zoneRecords) {
    if (z.network6 !== undefined) continue;
    const other = z.network.family === 'ipv4' ? 'ipv6' : 'ipv4';
    const iface = view.byName.get(z.interface);
    if (!iface || iface[other].length === 0) continue;
    const otherName = other === 'ipv6' ? 'IPv6' : 'IPv4';
    out.push({
      place: { db: 'networks', key, prop: 'Network' },
      message:
        `zone '${z.zone}' holds ${z.network.family === 'ipv4' ? 'IPv4' : 'IPv6'} only: over ${otherName} its hosts are in zone ${iface.zone} of ${iface.name}, ` +
        `so rules and policies that name the zone do not hold for their ${otherName} traffic (` +
        (other === 'ipv6' ? `set networks/${key}/Network6 to their IPv6 network, ` : `put the IPv4 network in Network and this one in Network6, `) +
        `refuse it by MAC with a mac; Src, or remove ${otherName} from ${iface.name})`,
    });
  }
  if (view.mode === 'gateway') {
    for (const key of Object.keys(networks).sort()) {
      if (networks[key]!.type !== 'network') continue;
      out.push({ place: { db: 'networks', key }, message: `trusted network (Mask ${propOf(networks, key, 'Mask') ?? 'none'}) has no effect in gateway mode: the green zone is the green interfaces' networks (trusted networks join it only in server mode)` });
    }
  }
  return out;
}
