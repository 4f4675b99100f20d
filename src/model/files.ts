/** Assembles the rows of every generated file for one address family. */
import type { Database } from '../db/index.js';
import { type Family, parseHostOrNetwork, shorewallText } from './addresses.js';
import { type NetworkView, zoneRecordNetwork } from './network.js';
import { propOf } from './settings.js';
import { ipsBypassMangle, nfqueueRules } from './nfqueue.js';
import { commentText, named, namedGroups, row } from './text.js';
import type { CommentedRows, FamilyFiles, FirewallSettings, NetworkInterface, Row } from './types.js';

const BUILTIN_ORDER = ['loc', 'blue', 'orang'];

/** Zone names of a family in a stable order: loc, blue, orang, custom roles, net, zone records. */
export function familyZones(view: NetworkView, family: Family): string[] {
  const roleZones = new Set(view.interfaces.map((i) => i.zone));
  if (view.mode === 'server') roleZones.add('net');
  const custom = [...roleZones].filter((z) => !BUILTIN_ORDER.includes(z) && z !== 'net').sort();
  const records = [...view.zoneRecords.values()].filter((z) => zoneRecordNetwork(z, family) !== undefined).map((z) => z.zone);
  return [...BUILTIN_ORDER.filter((z) => roleZones.has(z)), ...custom, ...(roleZones.has('net') ? ['net'] : []), ...records];
}

function networkText(family: Family, cidr: string): string {
  const parsed = parseHostOrNetwork(cidr);
  return parsed ? shorewallText(parsed) : cidr;
}

function interfaceRows(view: NetworkView, settings: FirewallSettings, family: Family): Row[] {
  const rows: Row[] = [];
  const mac = (iface: NetworkInterface): string =>
    settings.macValidation && (iface.role === 'green' || iface.role === 'blue') ? ',maclist' : '';
  for (const iface of view.interfaces) {
    const bridge = iface.type === 'bridge' ? ',bridge' : '';
    if (view.mode === 'server' && iface.role === 'green') {
      // One interface for everything: the green networks become the loc zone in hosts.
      rows.push(row('net', iface.name, `dhcp,nosmurfs,optional${mac(iface)}${bridge}`));
    } else if (iface.role === 'red') {
      rows.push(row(iface.zone, iface.name, `dhcp,nosmurfs,optional${bridge}`));
    } else {
      rows.push(row(iface.zone, iface.name, `dhcp,nosmurfs,routeback${mac(iface)}${bridge}`));
    }
  }
  return rows;
}

function hostRows(view: NetworkView, family: Family): Row[] {
  const rows: Row[] = [];
  if (view.mode === 'server') {
    for (const iface of view.interfaces) {
      if (iface.role !== 'green') continue;
      const nets = [...iface[family].map((a) => a.network), ...view.trusted[family]];
      const unique = [...new Set(nets)].map((n) => networkText(family, n));
      if (unique.length > 0) rows.push(row('loc', `${iface.name}:${unique.join(',')}`));
    }
  }
  for (const z of view.zoneRecords.values()) {
    const network = zoneRecordNetwork(z, family);
    if (network !== undefined) rows.push(row(z.zone, `${z.interface}:${shorewallText(network)}`));
  }
  return rows;
}

function policyRows(view: NetworkView, settings: FirewallSettings, zones: string[]): Row[] {
  const has = (z: string): boolean => zones.includes(z);
  const toRed = settings.policy === 'permissive' ? 'ACCEPT' : 'REJECT';
  const interfaceZones = new Set(view.interfaces.map((i) => i.zone));
  const rows: Row[] = [];
  // Traffic to red follows Policy for every inner interface zone.
  for (const z of zones) if (z !== 'net' && interfaceZones.has(z) && has('net')) rows.push(row(z, 'net', toRed));
  for (const z of zones) rows.push(row('$FW', z, 'ACCEPT'));
  if (has('blue')) {
    if (has('loc')) rows.push(row('loc', 'blue', 'ACCEPT'), row('blue', 'loc', 'REJECT'));
    rows.push(row('blue', '$FW', 'REJECT', 'info'));
    if (has('orang')) rows.push(row('blue', 'orang', 'ACCEPT'));
  }
  if (has('orang')) {
    if (has('loc')) rows.push(row('loc', 'orang', 'ACCEPT'), row('orang', 'loc', 'REJECT'));
    rows.push(row('orang', '$FW', 'REJECT', 'info'));
    if (has('blue')) rows.push(row('orang', 'blue', 'REJECT', 'info'));
  }
  if (has('loc')) rows.push(row('loc', '$FW', 'REJECT', 'info'));
  if (has('net')) {
    rows.push(row('net', '$FW', 'DROP', 'info'));
    if (has('loc')) rows.push(row('net', 'loc', 'DROP', 'info'));
    rows.push(row('net', 'all', 'DROP', 'info'));
  }
  rows.push(row('all', 'all', 'REJECT', 'info'));
  return rows;
}

/**
 * MAC validation entries from DHCP reservations (hosts of type local with MacAddress and an
 * IPv4 IpAddress), on the green or blue interface whose network holds the address. IPv4
 * binds the MAC to its address. A reservation names no IPv6 address (SLAAC and privacy
 * addresses change), so on IPv6 the MAC alone is admitted: a host without a reservation
 * cannot get round MAC validation by speaking IPv6.
 */
function maclistRows(hosts: Database, view: NetworkView, family: Family): Row[] {
  const rows: Row[] = [];
  for (const key of Object.keys(hosts).sort()) {
    if (hosts[key]?.type !== 'local') continue;
    const mac = propOf(hosts, key, 'MacAddress');
    const ip = parseHostOrNetwork(propOf(hosts, key, 'IpAddress') ?? '');
    if (mac === undefined || !ip || ip.kind !== 'host' || ip.family !== 'ipv4') continue;
    // Only green and blue interfaces validate MACs; a reservation elsewhere is not checked.
    const iface = view.interfaces.find(
      (i) => (i.role === 'green' || i.role === 'blue') &&
        i.ipv4.some((a) => {
          const net = parseHostOrNetwork(a.network);
          return net?.kind === 'network' && (ip.ip as { match(n: unknown, p: number): boolean }).match(net.ip, net.prefix);
        }),
    );
    if (!iface) continue;
    const macText = mac.toUpperCase().replace(/-/g, ':');
    const line = family === 'ipv4' ? row('ACCEPT', iface.name, macText, ip.ip.toString()) : row('ACCEPT', iface.name, macText);
    // Two reservations of one MAC are one IPv6 entry.
    if (!rows.some((r) => r.line === line.line)) rows.push(line);
  }
  return rows;
}

/** The local services that administer the firewall itself: kept reachable while it is stopped. */
const ADMIN_SERVICES = ['sshd', 'httpd-admin'];

/**
 * The stopped ruleset admits administration only from where the running ruleset does (the
 * zones in each admin service's `access`) and only on the ports the running rules open, so
 * stopping never opens ssh from red when the running rules do not, nor on a stale port.
 */
function stoppedRows(view: NetworkView, family: Family, services: CommentedRows[]): Row[] {
  const sourcesOf = (zone: string): string[] => [
    ...view.interfaces.filter((i) => i.zone === zone).map((i) => i.name),
    ...[...view.zoneRecords.values()].flatMap((z) => {
      const network = z.zone === zone ? zoneRecordNetwork(z, family) : undefined;
      return network === undefined ? [] : [`${z.interface}:${shorewallText(network)}`];
    }),
  ];
  const rows: Row[] = [];
  const admitted = new Set<string>();
  const adminComments = new Set(ADMIN_SERVICES.map((k) => commentText(`service ${k}`)));
  const adminRows = services.filter((g) => adminComments.has(g.comment)).flatMap((g) => g.rows);
  // The internet is admitted while stopped only when no inner zone is: a stopped firewall is
  // a fallback, and remote administration from red alone is what the administrator chose.
  const inner = adminRows.some((r) => r.cells[1] !== 'net' && sourcesOf(r.cells[1] ?? '').length > 0);
  for (const r of adminRows) {
    {
      const [, zone, , proto, dport] = r.cells;
      if (inner && zone === 'net') continue;
      for (const source of sourcesOf(zone ?? '')) {
        admitted.add(source);
        const line = row('ACCEPT', source, '$FW', proto ?? '', dport ?? '');
        if (!rows.some((x) => x.line === line.line)) rows.push(line);
      }
    }
  }
  // Ping from the same places, so an administrator can tell the box is alive.
  const icmp = [...admitted].map((s) => row('ACCEPT', s, '$FW', family === 'ipv4' ? 'icmp' : 'ipv6-icmp'));
  return [...icmp, ...rows];
}

export interface FamilyParts {
  allRules: CommentedRows[];
  rules: CommentedRows[];
  services: CommentedRows[];
  portForwards: CommentedRows[];
  oneToOne: CommentedRows[];
  hairpin: CommentedRows[];
}

export function buildFamilyFiles(
  family: Family,
  view: NetworkView,
  settings: FirewallSettings,
  dbs: Record<string, Database>,
  parts: FamilyParts,
): FamilyFiles {
  const zones = familyZones(view, family);
  const has = (z: string): boolean => zones.includes(z);
  const v4 = family === 'ipv4';
  return {
    family,
    conf: { macListDisposition: settings.macValidationPolicy.toUpperCase(), docker: v4 && settings.docker ? 'Yes' : 'No' },
    zones: named('zones', [row('fw', 'firewall'), ...zones.map((z) => row(z, family))]),
    interfaces: named('interfaces', interfaceRows(view, settings, family)),
    hosts: named('hosts', hostRows(view, family)),
    policy: named('policy', policyRows(view, settings, zones)),
    rules: {
      all: namedGroups('rules', parts.allRules),
      established: named('rules', nfqueueRules(settings.nfqueue, zones)),
      ping: named('rules', [
        ...(has('net') ? [row(settings.externalPing ? 'Ping(ACCEPT)' : 'Ping(DROP)', 'net', '$FW')] : []),
        ...(has('loc') ? [row('Ping(ACCEPT)', 'loc', '$FW')] : []),
      ]),
      dns: named('rules', has('net') ? [row('DNS(ACCEPT)', '$FW', 'net')] : []),
      portForwards: namedGroups('rules', parts.portForwards),
      rules: namedGroups('rules', parts.rules),
      services: namedGroups('rules', parts.services),
      blueDns: named('rules', has('blue') ? [row('ACCEPT', 'blue', '$FW', 'tcp', '53'), row('ACCEPT', 'blue', '$FW', 'udp', '53')] : []),
    },
    snat: {
      oneToOne: v4 ? namedGroups('snat', parts.oneToOne) : [],
      masquerade: v4 ? named('snat', view.interfaces.filter((i) => i.role === 'red').map((i) => row('MASQUERADE', '-', i.name))) : [],
      hairpin: v4 ? namedGroups('snat', parts.hairpin) : [],
    },
    maclist: named('maclist', settings.macValidation ? maclistRows(dbs['hosts'] ?? {}, view, family) : []),
    ipsBypass: named('mangle', ipsBypassMangle(settings.nfqueue, zones)),
    stoppedRules: named('stoppedrules', stoppedRows(view, family, parts.services)),
  };
}
