/** Service references to protocol/port sets: `any`, ports, `fwservice;k`, bare names, `service;k`. */
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import { icmpTypeProblem } from '../icmp/index.js';
import type { Family } from './addresses.js';
import { propOf } from './settings.js';

export interface ServicePorts {
  /** Empty for "any protocol". */
  proto: string;
  /** Shorewall port list (`80,443`, `5000:5100`), empty for none. */
  dport: string;
  families: Family[];
}

const BOTH: Family[] = ['ipv4', 'ipv6'];
const PORT_ITEM = /^(\d{1,5})(?:[-:](\d{1,5}))?$/;

/** `80,443` or `5000-5100` -> `80,443` / `5000:5100`; undefined if any item is not a port or range. */
export function portList(text: string): string | undefined {
  const items = text.split(',').map((s) => s.trim());
  const out: string[] = [];
  for (const item of items) {
    const m = PORT_ITEM.exec(item);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || a > 65535 || b < 1 || b > 65535 || b < a) return undefined;
    out.push(m[2] === undefined ? `${a}` : `${a}:${b}`);
  }
  return out.length > 0 ? out.join(',') : undefined;
}

const ANY: ServicePorts[] = [{ proto: '', dport: '', families: BOTH }];

export interface ServiceResolver {
  resolve(ref: string, place: Place): { ports: ServicePorts[]; local: boolean };
}

export function serviceResolver(dbs: Record<string, Database>): ServiceResolver {
  const fwservices = dbs['fwservices'] ?? {};
  const configuration = dbs['configuration'] ?? {};
  const cache = new Map<string, { ports: ServicePorts[]; local: boolean }>();

  function fwservice(key: string, place: Place): ServicePorts[] {
    const record = fwservices[key];
    if (!record || record.type !== 'fwservice') {
      throw new GatehouseError(`refers to service '${key}', which does not exist`, {
        place,
        hint: 'create it in the fwservices database (Protocol, Ports) or fix the reference',
      });
    }
    const servicePlace = { db: 'fwservices', key };
    const protocol = (propOf(fwservices, key, 'Protocol') ?? '').toLowerCase();
    const portsText = propOf(fwservices, key, 'Ports');
    const tcpUdpPorts = (): string => {
      const ports = portsText === undefined ? '' : portList(portsText);
      if (ports === undefined) {
        throw new GatehouseError(`Ports '${portsText ?? ''}' is not a port list`, {
          place: { ...servicePlace, prop: 'Ports' },
          hint: 'write ports like 80,443 or one range like 5000-5100',
        });
      }
      return ports;
    };
    const icmpType = (family: 4 | 6): string => {
      const type = portsText ?? '';
      const problem = type === '' ? undefined : icmpTypeProblem(family, type);
      if (problem !== undefined) {
        throw new GatehouseError(`ICMP type '${type}' is not valid`, {
          place: { ...servicePlace, prop: 'Ports' },
          hint: `give ${problem}, or leave Ports empty`,
        });
      }
      return type;
    };
    switch (protocol) {
      case 'tcp':
      case 'udp':
        return [{ proto: protocol, dport: tcpUdpPorts(), families: BOTH }];
      case 'tcpudp':
      case 'tcp,udp': {
        const ports = tcpUdpPorts();
        return [
          { proto: 'tcp', dport: ports, families: BOTH },
          { proto: 'udp', dport: ports, families: BOTH },
        ];
      }
      // ICMP types differ between the families: icmp is IPv4 only, ipv6-icmp IPv6 only.
      case 'icmp':
        return [{ proto: 'icmp', dport: icmpType(4), families: ['ipv4'] }];
      case 'ipv6-icmp':
      case 'icmpv6':
        return [{ proto: 'ipv6-icmp', dport: icmpType(6), families: ['ipv6'] }];
      case 'gre':
      case 'ah':
      case 'esp':
        return [{ proto: protocol, dport: '', families: BOTH }];
      default:
        throw new GatehouseError(`Protocol '${protocol}' is not supported`, {
          place: { ...servicePlace, prop: 'Protocol' },
          hint: 'use tcp, udp, tcpudp, icmp, ipv6-icmp (or icmpv6), gre, ah or esp',
        });
    }
  }

  function localService(key: string, place: Place): ServicePorts[] {
    const record = configuration[key];
    if (!record || record.type !== 'service') {
      throw new GatehouseError(`refers to local service '${key}', which does not exist`, {
        place,
        hint: 'name a record of type service in the configuration database',
      });
    }
    const out = localServicePorts(configuration, key);
    if (out.length === 0) {
      throw new GatehouseError(`local service '${key}' has no ports`, {
        place,
        hint: `set TCPPort(s) or UDPPort(s) on configuration/${key}`,
      });
    }
    return out;
  }

  function resolveUncached(ref: string, place: Place): { ports: ServicePorts[]; local: boolean } {
    if (ref === '' || ref.toLowerCase() === 'any') return { ports: ANY, local: false };
    const bare = portList(ref);
    if (bare !== undefined && !ref.includes(',')) {
      return { ports: [{ proto: 'tcp', dport: bare, families: BOTH }, { proto: 'udp', dport: bare, families: BOTH }], local: false };
    }
    const semi = ref.indexOf(';');
    if (semi < 0) {
      // A bare name, as NethServer writes it: the fwservice of that name, else the local service.
      if (fwservices[ref]?.type !== 'fwservice' && configuration[ref]?.type === 'service') return { ports: localService(ref, place), local: true };
      return { ports: fwservice(ref, place), local: false };
    }
    const kind = ref.slice(0, semi);
    const key = ref.slice(semi + 1);
    if (kind === 'fwservice') return { ports: fwservice(key, place), local: false };
    if (kind === 'service') return { ports: localService(key, place), local: true };
    if (kind === 'ndpi') {
      throw new GatehouseError(`nDPI service '${key}' is not supported by Gatehouse`, {
        place,
        hint: 'match the traffic by ports with a fwservice instead',
      });
    }
    throw new GatehouseError(`'${ref}' is not a service`, {
      place,
      hint: 'use any, a port, a range a-b, a service name, fwservice;K or service;K',
    });
  }

  return {
    resolve(ref, place) {
      const hit = cache.get(ref);
      if (hit) return hit;
      const result = resolveUncached(ref, place);
      cache.set(ref, result);
      return result;
    },
  };
}

/** Ports of a local `service` record in configuration: TCPPorts or TCPPort, UDPPorts or UDPPort. */
export function localServicePorts(configuration: Database, key: string): ServicePorts[] {
  const out: ServicePorts[] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const prop = proto === 'tcp' ? 'TCP' : 'UDP';
    const usedProp = propOf(configuration, key, `${prop}Ports`) !== undefined ? `${prop}Ports` : `${prop}Port`;
    const text = propOf(configuration, key, usedProp);
    if (text === undefined) continue;
    const ports = portList(text);
    if (ports === undefined) {
      throw new GatehouseError(`${usedProp} '${text}' is not a port list`, {
        place: { db: 'configuration', key, prop: usedProp },
        hint: 'write ports like 22 or 80,443 or 5000-5100',
      });
    }
    out.push({ proto, dport: ports, families: BOTH });
  }
  return out;
}
