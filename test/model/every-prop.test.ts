/**
 * No silent drop, proved prop by prop: for every record type and prop of the shipped
 * schemas, changing the value (to another value db accepts) changes the generated files
 * or the warnings, or fails the event naming the record. The only exceptions are the props the schema lists as not read by the
 * firewall (network configuration, the event choice), and for those the test proves the
 * opposite, so the list cannot go stale. A prop added to a schema without a case here
 * fails the coverage test.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { monitorSettings } from '../../src/wan/index.js';
import type { Database } from '../../src/db/index.js';
import { loadValidation } from '../../src/db/index.js';
import { renderAll } from './render.js';

const { SCHEMAS, NOT_READ_BY_FIREWALL, validateDatabase } = await loadValidation();

type Dbs = Record<string, Database>;
const rec = (type: string, props: Record<string, string>) => ({ type, props });
const iface = (type: string, role: string, v4: string, v6: string, extra: Record<string, string> = {}) =>
  rec(type, { role, bootproto: 'none', ipaddr: `${v4}.1`, netmask: '255.255.255.0', ip6addr: `${v6}::1/64`, ...extra });

/** One of every record type, each prop set, every object referenced by something. */
function base(): Dbs {
  const hostsOf: Record<string, [string, string]> = { eth0: ['192.168.1', 'fd00:1'], br0: ['192.168.10', 'fd00:10'], bond0: ['192.168.20', 'fd00:20'], 'eth0.10': ['192.168.30', 'fd00:30'], 'eth0:1': ['192.168.50', 'fd00:50'] };
  const hosts: Database = {
    pc: rec('host', { IpAddress: '192.168.1.10', Ip6Address: 'fd00:1::10' }),
    nas: rec('host', { IpAddress: '192.168.1.20' }),
    ext: rec('remote', { IpAddress: '198.51.100.7', Ip6Address: '2001:db8:7::7' }),
    res: rec('local', { IpAddress: '192.168.1.50', Ip6Address: 'fd00:1::50', MacAddress: 'aa:bb:cc:dd:ee:ff' }),
    grp: rec('host-group', { Members: 'pc,nas' }),
    net1: rec('cidr', { Address: '10.10.0.0/16' }),
    rng: rec('iprange', { Start: '192.168.1.100', End: '192.168.1.120' }),
  };
  const fwrules: Database = {
    '1': rec('rule', { Position: '10', Src: 'host;pc', Dst: 'role;red', Service: 'ssh', Action: 'accept', Time: 'time;office', Log: 'none', State: 'new', status: 'enabled' }),
    '2': rec('rule', { Position: '20', Src: 'host-group;grp', Dst: 'cidr;net1', Service: '25', Action: 'drop' }),
    '3': rec('rule', { Position: '30', Src: 'iprange;rng', Dst: 'host;ext', Service: 'any', Action: 'reject' }),
    '4': rec('rule', { Position: '40', Src: 'mac;m1', Dst: 'role;red', Service: 'any', Action: 'accept' }),
    '5': rec('rule', { Position: '50', Src: 'zone;phone', Dst: 'role;red', Service: 'any', Action: 'accept' }),
    '6': rec('rule', { Position: '60', Src: 'role;green', Dst: 'role;red', Service: 'any', Action: 'class;high' }),
    '7': rec('rule', { Position: '70', Src: 'host;res', Dst: 'role;red', Service: 'any', Action: 'drop' }),
    '8': rec('rule', { Position: '80', Src: 'role;green', Dst: 'host;ext', Service: 'any', Action: 'reject' }),
  };
  // A host at .200 of every interface (IPv4 and IPv6): its zone shows where the interface's network is.
  let n = 100;
  for (const [name, [v4, v6]] of Object.entries(hostsOf)) {
    const key = `h-${name.replace(/[.:]/g, '-')}`;
    hosts[`${key}`] = rec('host', { IpAddress: `${v4}.200` });
    hosts[`${key}-6`] = rec('host', { IpAddress: `${v6}::200` });
    fwrules[String(n++)] = rec('rule', { Position: String(n), Src: `host;${key}`, Dst: 'role;red', Service: 'any', Action: 'accept' });
    fwrules[String(n++)] = rec('rule', { Position: String(n), Src: `host;${key}-6`, Dst: 'role;red', Service: 'any', Action: 'accept' });
  }
  return {
    configuration: {
      firewall: rec('configuration', {
        Policy: 'permissive', ExternalPing: 'enabled', HairpinNat: 'enabled', MACValidation: 'enabled', MACValidationPolicy: 'drop', Docker: 'disabled',
        SipAlg: 'disabled', VpnPolicy: 'strict', WanMode: 'balance', CheckIP: '8.8.8.8', MaxNumberPacketLoss: '10', MaxPercentPacketLoss: '50',
        PingInterval: '5', NotifyWan: 'disabled', NotifyWanFrom: 'root@localhost', NotifyWanTo: 'root@localhost', nfqueue: 'disabled', event: 'firewall-gateway-save',
      }),
      sshd: rec('service', { TCPPort: '22', access: 'green,red', status: 'enabled' }),
      web: rec('service', { TCPPorts: '80,443', UDPPort: '443', access: 'green', status: 'enabled' }),
      dns: rec('service', { UDPPorts: '53,5353', access: 'green', status: 'enabled' }),
    },
    networks: {
      eth0: iface('ethernet', 'green', '192.168.1', 'fd00:1', { onboot: 'yes', nm_controlled: 'no', userctl: 'no' }),
      'eth0.10': iface('vlan', 'green', '192.168.30', 'fd00:30'),
      br0: iface('bridge', 'blue', '192.168.10', 'fd00:10'),
      bond0: iface('bond', 'orange', '192.168.20', 'fd00:20'),
      eth1: iface('ethernet', 'red', '203.0.113', '2001:db8:1', { gateway: '203.0.113.254', gateway6: '2001:db8:1::fe', FwInBandwidth: '10000', FwOutBandwidth: '1000', TCLinklayer: 'ethernet' }),
      eth2: iface('ethernet', 'lab', '10.5.0', 'fd00:5'),
      eth3: rec('ethernet', { role: 'bridged', bridge: 'br0' }),
      eth4: rec('ethernet', { role: 'slave', master: 'bond0' }),
      'eth0:1': rec('alias', { role: 'alias', ipaddr: '192.168.50.1', netmask: '255.255.255.0', ip6addr: 'fd00:50::1/64' }),
      'eth1:0': rec('alias', { role: 'alias', ipaddr: '203.0.113.5', netmask: '255.255.255.0', FwObjectNat: 'host;nas' }),
      ppp0: rec('xdsl', { role: 'red', FwInBandwidth: '8000', FwOutBandwidth: '800' }),
      ppp1: rec('xdsl-disabled', { role: 'red', FwInBandwidth: '4000', FwOutBandwidth: '400' }),
      red1: rec('provider', { interface: 'eth1', weight: '1' }),
      red2: rec('provider', { interface: 'ppp0', weight: '2' }),
      phone: rec('zone', { Interface: 'eth2', Network: '10.5.0.128/25', Network6: 'fd00:5::/120' }),
      '10.9.0.0': rec('network', { Mask: '255.255.255.0' }),
    },
    hosts,
    macs: { m1: rec('mac', { Address: '00:11:22:33:44:55', Zone: 'green' }) },
    fwrules,
    fwservices: { ssh: rec('fwservice', { Protocol: 'tcp', Ports: '22' }), dns: rec('fwservice', { Protocol: 'tcpudp', Ports: '53' }) },
    fwtimes: {
      office: rec('time', { WeekDays: 'Mon,Tue', TimeStart: '08:00', TimeStop: '18:00' }),
      night: rec('time', { TimeStart: '22:00', TimeStop: '06:00' }),
    },
    portforward: {
      '1': rec('pf', { Proto: 'tcp', Src: '2222', Dst: '22', DstHost: 'host;pc', Allow: '198.51.100.0/24', OriDst: '203.0.113.5', Log: 'none', status: 'enabled' }),
      '2': rec('pf', { Proto: 'tcp', Src: '8080', DstHost: 'host;nas' }),
    },
    tc: { high: rec('class', { Mark: '2', MinInputRate: '10', MaxInputRate: '50', MinOutputRate: '10', MaxOutputRate: '50', Unit: '%', BindTo: 'eth1' }) },
    routes: {
      '10.20.0.0/24': rec('static', { Router: '192.168.1.254', Device: 'eth0' }),
      '10.30.0.0': rec('static', { Router: '192.168.1.253', Mask: '255.255.255.0' }),
    },
  };
}

/** [db, key, prop, new value]: a change that db accepts. */
const CHANGES: [string, string, string, string][] = [
  ...([['Policy', 'strict'], ['ExternalPing', 'disabled'], ['HairpinNat', 'disabled'], ['MACValidation', 'disabled'], ['MACValidationPolicy', 'reject'], ['Docker', 'enabled'],
    ['SipAlg', 'enabled'], ['VpnPolicy', 'permissive'], ['WanMode', 'backup'], ['nfqueue', 'enabled']] as const)
    .map(([p, v]): [string, string, string, string] => ['configuration', 'firewall', p, v]),
  ['configuration', 'sshd', 'TCPPort', '2222'], ['configuration', 'sshd', 'access', 'green'], ['configuration', 'sshd', 'status', 'disabled'],
  ['configuration', 'web', 'TCPPorts', '8443'], ['configuration', 'web', 'UDPPort', '4443'], ['configuration', 'dns', 'UDPPorts', '53'],
  // The host at .200 of each interface moves zone when its network moves or shrinks.
  ...(['eth0', 'eth0.10', 'br0', 'bond0'] as const).flatMap((k): [string, string, string, string][] => [
    ['networks', k, 'role', 'lab'], ['networks', k, 'bootproto', 'dhcp'], ['networks', k, 'ipaddr', '192.168.99.1'],
    ['networks', k, 'netmask', '255.255.255.128'], ['networks', k, 'ip6addr', 'fd00:99::1/64'],
    ['networks', k, 'FwInBandwidth', '500'], ['networks', k, 'FwOutBandwidth', '50'], ['networks', k, 'TCLinklayer', 'atm'],
  ]),
  ['networks', 'eth0:1', 'ipaddr', '192.168.51.1'], ['networks', 'eth0:1', 'netmask', '255.255.255.128'], ['networks', 'eth0:1', 'ip6addr', 'fd00:51::1/64'],
  ['networks', 'eth1:0', 'FwObjectNat', 'host;pc'],
  ['networks', 'ppp0', 'role', 'lab'], ['networks', 'ppp0', 'FwInBandwidth', '9000'], ['networks', 'ppp0', 'FwOutBandwidth', '900'],
  ['networks', 'ppp1', 'FwInBandwidth', '5000'], ['networks', 'ppp1', 'FwOutBandwidth', '500'],
  ['networks', 'red1', 'interface', 'eth2'], ['networks', 'red1', 'weight', '3'],
  ['networks', 'phone', 'Interface', 'eth0'], ['networks', 'phone', 'Network', '10.5.0.0/25'], ['networks', 'phone', 'Network6', 'fd00:5::/121'],
  ['networks', '10.9.0.0', 'Mask', '255.255.0.0'],
  ['hosts', 'pc', 'IpAddress', '192.168.1.11'], ['hosts', 'ext', 'IpAddress', '198.51.100.8'],
  ['hosts', 'pc', 'Ip6Address', 'fd00:1::11'], ['hosts', 'ext', 'Ip6Address', '2001:db8:7::8'], ['hosts', 'res', 'Ip6Address', 'fd00:1::51'],
  ['hosts', 'res', 'IpAddress', '192.168.1.51'], ['hosts', 'res', 'MacAddress', 'aa:bb:cc:dd:ee:00'],
  ['hosts', 'grp', 'Members', 'pc'], ['hosts', 'net1', 'Address', '10.11.0.0/16'], ['hosts', 'rng', 'Start', '192.168.1.101'], ['hosts', 'rng', 'End', '192.168.1.121'],
  ['macs', 'm1', 'Address', '00:11:22:33:44:66'], ['macs', 'm1', 'Zone', 'blue'],
  ['fwrules', '1', 'Position', '99'], ['fwrules', '1', 'Src', 'host;nas'], ['fwrules', '1', 'Dst', 'any'], ['fwrules', '1', 'Service', 'dns'],
  ['fwrules', '1', 'Action', 'drop'], ['fwrules', '1', 'Time', 'time;night'], ['fwrules', '1', 'Log', 'info'], ['fwrules', '1', 'State', 'all'], ['fwrules', '1', 'status', 'disabled'],
  ['fwservices', 'ssh', 'Protocol', 'udp'], ['fwservices', 'ssh', 'Ports', '2222'],
  ['fwtimes', 'office', 'WeekDays', 'Mon'], ['fwtimes', 'office', 'TimeStart', '09:00'], ['fwtimes', 'office', 'TimeStop', '17:00'],
  ['portforward', '1', 'Proto', 'udp'], ['portforward', '1', 'Src', '2223'], ['portforward', '1', 'Dst', '23'], ['portforward', '1', 'DstHost', 'host;nas'],
  ['portforward', '1', 'SrcHost', '192.0.2.1'], ['portforward', '1', 'Allow', '198.51.100.0/25'], ['portforward', '1', 'OriDst', '203.0.113.2'],
  ['portforward', '1', 'Log', 'info'], ['portforward', '1', 'status', 'disabled'],
  ...(['Mark', 'MinInputRate', 'MaxInputRate', 'MinOutputRate', 'MaxOutputRate'] as const).map((p): [string, string, string, string] => ['tc', 'high', p, p === 'Mark' ? '5' : '20']),
  ['tc', 'high', 'Unit', 'kbit'], ['tc', 'high', 'BindTo', 'ppp0'],
  ['routes', '10.20.0.0/24', 'Router', '192.168.1.253'], ['routes', '10.20.0.0/24', 'Device', 'eth0.10'], ['routes', '10.20.0.0/24', 'Metric', '20'],
  ['routes', '10.30.0.0', 'Mask', '255.255.0.0'],
];

/** Props not read by the firewall: [db, key, prop, new value]; these must change nothing. */
const UNREAD_CHANGES: [string, string, string, string][] = [
  ...(['eth0', 'eth0.10', 'br0', 'bond0'] as const).flatMap((k): [string, string, string, string][] => [
    ['networks', k, 'gateway', '192.0.2.1'], ['networks', k, 'gateway6', '2001:db8::1'], ['networks', k, 'bridge', 'br9'], ['networks', k, 'master', 'bond9'],
    ['networks', k, 'onboot', 'no'], ['networks', k, 'nm_controlled', 'yes'], ['networks', k, 'userctl', 'yes'],
  ]),
  ['configuration', 'firewall', 'event', 'firewall-server-save'],
];

/**
 * Props of the firewall key read at run time by the link monitor (`gatehouse wan-monitor`) and by
 * wan-uplink-update, not by the firewall event: the generated files must not change with them
 * (so this list cannot go stale), and the monitor's settings must.
 */
const LINK_MONITOR_CHANGES: [string, string][] = [
  ['CheckIP', '1.1.1.1'], ['MaxNumberPacketLoss', '20'], ['MaxPercentPacketLoss', '60'], ['PingInterval', '10'],
  ['NotifyWan', 'enabled'], ['NotifyWanFrom', 'fw@example.org'], ['NotifyWanTo', 'ops@example.org'],
];
const MONITOR_SETTINGS_PROPS = new Set(['CheckIP', 'MaxNumberPacketLoss', 'MaxPercentPacketLoss', 'PingInterval']);

/** Databases and keys read by another service, not by the firewall event: their own tests cover them. */
const OTHER_READERS: Record<string, string> = {
  'configuration api': 'the REST API service (gatehouse api) reads it at start',
  apiusers: 'the REST API service checks its users',
  blocklist: 'the REST API service loads it into its run-time sets',
};

/** Values that cannot change (one valid value) or records that are off by their type. */
const NOTHING_TO_CHANGE: Record<string, string> = {
  'networks alias role': "an alias's role can only be 'alias'",
  'networks xdsl-disabled role': 'a disabled PPPoE record is not an interface until its type becomes xdsl (as on NethServer)',
};

function withChange(dbs: Dbs, db: string, key: string, prop: string, value: string): Dbs {
  const copy = structuredClone(dbs);
  copy[db]![key]!.props[prop] = value;
  return copy;
}

const options = { timeZone: 'Europe/Rome', now: new Date('2026-01-15T12:00:00Z') };
/** The generated files and warnings, or the error that fails the event. */
const render = (dbs: Dbs): string => {
  try {
    return JSON.stringify(renderAll(dbs, options));
  } catch (e) {
    return `fails: ${(e as Error).message}`;
  }
};
const baseline = base();
const baselineText = render(baseline);

function typeOf(db: string, key: string): string {
  return baseline[db]![key]!.type;
}

describe('every prop of the shipped schemas changes the generated files or the warnings', () => {
  it('the base databases pass the schema and build', () => {
    for (const [name, data] of Object.entries(baseline)) expect(validateDatabase(name, data), name).toEqual([]);
    expect(baselineText).not.toMatch(/^fails: /);
  });

  it.each(CHANGES.map((c) => [`${c[0]} ${typeOf(c[0], c[1])} ${c[2]}`, ...c] as const))('%s', (_label, db, key, prop, value) => {
    const changed = withChange(baseline, db, key, prop, value);
    expect(validateDatabase(db, changed[db]!), 'the changed value is one db accepts').toEqual([]);
    expect(render(changed)).not.toBe(baselineText);
  });

  it.each(UNREAD_CHANGES.map((c) => [`${c[0]} ${typeOf(c[0], c[1])} ${c[2]}`, ...c] as const))('%s is listed as not read, and indeed changes nothing', (_label, db, key, prop, value) => {
    expect(NOT_READ_BY_FIREWALL[db]?.[prop]).toBeDefined();
    const changed = withChange(baseline, db, key, prop, value);
    expect(validateDatabase(db, changed[db]!)).toEqual([]);
    expect(render(changed)).toBe(baselineText);
  });

  it.each(LINK_MONITOR_CHANGES)('configuration firewall %s is read by the link monitor, not by the firewall event', async (prop, value) => {
    const changed = withChange(baseline, 'configuration', 'firewall', prop, value);
    expect(validateDatabase('configuration', changed['configuration']!)).toEqual([]);
    expect(render(changed)).toBe(baselineText);
    if (MONITOR_SETTINGS_PROPS.has(prop)) {
      const settingsOf = async (dbs: Dbs) => {
        const root = await mkdtemp(join(tmpdir(), 'gh-every-prop-'));
        try {
          await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true, mode: 0o700 });
          await writeFile(join(root, 'var/lib/gatehouse/db/configuration.json'), JSON.stringify(dbs['configuration']), { mode: 0o600 });
          return await monitorSettings(root);
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      };
      expect(await settingsOf(changed)).not.toEqual(await settingsOf(baseline));
    }
  });

  it('every (database, type, prop) of the schemas has a case above', () => {
    const covered = new Set([...CHANGES, ...UNREAD_CHANGES].map(([db, key, prop]) => `${db} ${typeOf(db, key)} ${prop}`));
    for (const [prop] of LINK_MONITOR_CHANGES) covered.add(`configuration configuration ${prop}`);
    for (const k of Object.keys(NOTHING_TO_CHANGE)) covered.add(k);
    const missing: string[] = [];
    for (const [db, schema] of Object.entries(SCHEMAS)) {
      if (OTHER_READERS[db]) continue;
      for (const [type, s] of Object.entries(schema.types)) for (const prop of Object.keys(s.props)) if (!covered.has(`${db} ${type} ${prop}`)) missing.push(`${db} ${type} ${prop}`);
      for (const [key, { type, schema: s }] of Object.entries(schema.keys ?? {})) {
        if (OTHER_READERS[`${db} ${key}`]) continue;
        for (const prop of Object.keys(s.props)) if (!covered.has(`${db} ${type} ${prop}`) || typeOf(db, key) !== type) missing.push(`${db} ${key} ${prop}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
