/**
 * The IPv6 side of host objects and zone records: a rule written for a host or a zone
 * holds for its IPv6 traffic too (Ip6Address, a reservation's MAC, Network6), or the event
 * warns, naming the rule and the host, where that traffic would be accepted.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import { buildModel, formatWarning } from '../../src/model/index.js';

/** The error that fails the event: its place (db/key/prop) and message. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof GatehouseError) return `${e.place?.db}/${e.place?.key}/${e.place?.prop}: ${e.message}`;
    throw e;
  }
  throw new Error('accepted');
}

const rec = (type: string, props: Record<string, string>) => ({ type, props });
const networks: Database = {
  eth0: rec('ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0', ip6addr: 'fd00:1::1/64' }),
  eth1: rec('ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0', ip6addr: '2001:db8:1::2/64' }),
};
const v4only: Database = {
  eth0: rec('ethernet', { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' }),
  eth1: rec('ethernet', { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0' }),
};

function build(dbs: Record<string, Database>) {
  const model = buildModel({ networks, ...dbs }, { timeZone: 'UTC' });
  const lines = (rows: { rows: { line: string }[] }[]) => rows.flatMap((g) => g.rows.map((r) => r.line));
  return { v4: lines(model.v4.rules.rules), v6: lines(model.v6.rules.rules), warnings: model.warnings.map(formatWarning), model };
}
const drop = (props: Record<string, string> = {}): Database => ({ '40': rec('rule', { Src: 'host;pc', Dst: 'role;red', Service: 'any', Action: 'drop', Position: '1', ...props }) });

describe('a host object over IPv6', () => {
  it('a host with Ip6Address is matched by it in the IPv6 ruleset', () => {
    const out = build({ hosts: { pc: rec('host', { IpAddress: '192.168.1.10', Ip6Address: 'fd00:1::10' }) }, fwrules: drop() });
    expect(out.v4).toEqual(['DROP\tloc:192.168.1.10\tnet']);
    expect(out.v6).toEqual(['DROP\tloc:[fd00:1::10]\tnet']);
    expect(out.warnings).toEqual([]);
  });

  it('a host-group gives each member its IPv6 side', () => {
    const out = build({
      hosts: {
        a: rec('host', { IpAddress: '192.168.1.10', Ip6Address: 'fd00:1::10' }),
        b: rec('host', { IpAddress: '192.168.1.11', Ip6Address: 'fd00:1::11' }),
        g: rec('host-group', { Members: 'a,b' }),
      },
      fwrules: drop({ Src: 'host-group;g' }),
    });
    expect(out.v6).toEqual(['DROP\tloc:[fd00:1::10],[fd00:1::11]\tnet']);
  });

  it('a reservation without Ip6Address is refused over IPv6 by its MAC, as a source', () => {
    const out = build({ hosts: { pc: rec('local', { IpAddress: '192.168.1.10', MacAddress: 'AA:BB:CC:DD:EE:01' }) }, fwrules: drop({ Src: 'host;pc' }) });
    expect(out.v6).toEqual(['DROP\tloc:~aa-bb-cc-dd-ee-01\tnet']);
    expect(out.warnings).toEqual([]);
  });

  it('a reservation\'s MAC never admits it: an ACCEPT from it stays IPv4 only', () => {
    const out = build({ hosts: { pc: rec('local', { IpAddress: '192.168.1.10', MacAddress: 'aa:bb:cc:dd:ee:01' }) }, fwrules: drop({ Action: 'accept' }) });
    expect(out.v4).toEqual(['ACCEPT\tloc:192.168.1.10\tnet']);
    expect(out.v6).toEqual([]);
  });

  it('a DROP for a host with no IPv6 side warns, naming the rule and the host, when green\'s IPv6 policy accepts the traffic', () => {
    const out = build({ hosts: { pc: rec('host', { IpAddress: '192.168.1.10' }) }, fwrules: drop() });
    expect(out.v6).toEqual([]);
    expect(out.warnings).toEqual([
      "fwrules/40/Src: DROP holds for host 'pc' over IPv4 only: it has no IPv6 address, and its IPv6 traffic (loc to net) is accepted by the policy loc to net ACCEPT; give hosts/pc an Ip6Address (or make it a DHCP reservation, type local, with its MacAddress)",
    ]);
  });

  it('no warning where the IPv6 policy refuses that traffic anyway (strict policy)', () => {
    const out = build({
      configuration: { firewall: rec('configuration', { Policy: 'strict' }) },
      hosts: { pc: rec('host', { IpAddress: '192.168.1.10' }) },
      fwrules: drop(),
    });
    expect(out.warnings).toEqual([]);
  });

  it('under a strict policy, an ACCEPT rule that would take the host\'s IPv6 traffic brings the warning back', () => {
    const out = build({
      configuration: { firewall: rec('configuration', { Policy: 'strict' }) },
      hosts: { pc: rec('host', { IpAddress: '192.168.1.10' }) },
      fwrules: { ...drop(), '41': rec('rule', { Src: 'role;green', Dst: 'role;red', Service: 'any', Action: 'accept', Position: '2' }) },
    });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/^fwrules\/40\/Src: DROP holds for host 'pc' over IPv4 only: .*accepted by an ACCEPT rule \(ACCEPT loc net\)/);
  });

  it('under a strict policy, an ACCEPT rule for another service does not bring the warning; an icmp (IPv4 only) DROP never warns', () => {
    const out = build({
      configuration: { firewall: rec('configuration', { Policy: 'strict' }) },
      hosts: { pc: rec('host', { IpAddress: '192.168.1.10' }) },
      fwrules: {
        ...drop({ Service: '80' }),
        '41': rec('rule', { Src: 'role;green', Dst: 'role;red', Service: '443', Action: 'accept', Position: '2' }),
        '42': rec('rule', { Src: 'role;green', Dst: 'role;red', Service: '8000-8100', Action: 'accept', Position: '3' }),
        '43': rec('rule', { Src: 'host;pc', Dst: 'role;red', Service: '8080', Action: 'drop', Position: '4' }),
        '44': rec('rule', { Src: 'host;pc', Dst: 'role;red', Service: 'ping', Action: 'drop', Position: '5' }),
      },
      fwservices: { ping: rec('fwservice', { Protocol: 'icmp', Ports: '8' }) },
    });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatch(/^fwrules\/43\/Src: DROP holds for host 'pc' over IPv4 only: .*an ACCEPT rule \(ACCEPT loc net tcp 8000:8100\)/);
  });

  it('a DROP for a host-group warns once, naming every member without an IPv6 side', () => {
    const out = build({
      hosts: {
        a: rec('host', { IpAddress: '192.168.1.10' }),
        b: rec('host', { IpAddress: '192.168.1.11', Ip6Address: 'fd00:1::11' }),
        c: rec('host', { IpAddress: '192.168.1.12' }),
        g: rec('host-group', { Members: 'a,b,c' }),
      },
      fwrules: drop({ Src: 'host-group;g' }),
    });
    expect(out.v6).toEqual(['DROP\tloc:[fd00:1::11]\tnet']);
    expect(out.warnings).toEqual([
      "fwrules/40/Src: DROP holds for hosts 'a', 'c' over IPv4 only: they have no IPv6 address, and their IPv6 traffic (loc to net) is accepted by the policy loc to net ACCEPT; give each of hosts/a, hosts/c an Ip6Address (or make it a DHCP reservation, type local, with its MacAddress)",
    ]);
  });

  it('no warning when the host\'s interface carries no IPv6', () => {
    const model = buildModel({ networks: v4only, hosts: { pc: rec('host', { IpAddress: '192.168.1.10' }) }, fwrules: drop() }, { timeZone: 'UTC' });
    expect(model.warnings).toEqual([]);
  });

  it('a host as the destination of a REJECT warns on Dst, and a reservation\'s MAC does not stand for it there', () => {
    const out = build({
      hosts: { srv: rec('local', { IpAddress: '192.168.1.20', MacAddress: 'aa:bb:cc:dd:ee:02' }) },
      fwrules: { '9': rec('rule', { Src: 'role;green', Dst: 'host;srv', Service: 'any', Action: 'reject' }) },
    });
    expect(out.v6).toEqual([]);
    expect(out.warnings).toEqual([
      "fwrules/9/Dst: REJECT holds for host 'srv' over IPv4 only: it has no IPv6 address, and its IPv6 traffic (loc to loc) is accepted by the zone's own traffic (loc to loc is accepted); give hosts/srv an Ip6Address",
    ]);
  });

  it('an Ip6Address that is not IPv6 is refused by the schema, naming the prop', () => {
    expect(failure(() => build({ hosts: { pc: rec('host', { IpAddress: '192.168.1.10', Ip6Address: '192.168.1.11' }) }, fwrules: drop() }))).toMatch(/^hosts\/pc\/Ip6Address: /);
  });

  it('Ip6Address beside an IPv6 IpAddress is refused', () => {
    expect(failure(() => build({ hosts: { pc: rec('host', { IpAddress: 'fd00:1::10', Ip6Address: 'fd00:1::11' }) }, fwrules: drop() }))).toMatch(/^hosts\/pc\/Ip6Address: .*IPv6 already/);
  });
});

describe('a zone record over IPv6', () => {
  const guest = (props: Record<string, string> = {}): Database => ({ ...networks, guest: rec('zone', { Interface: 'eth0', Network: '192.168.1.0/28', ...props }) });

  it('with Network6 the zone is in the IPv6 zones and hosts files, and rules naming it hold for IPv6', () => {
    const model = buildModel(
      { networks: guest({ Network6: 'fd00:1::/120' }), fwrules: { '30': rec('rule', { Src: 'zone;guest', Dst: 'role;red', Service: 'any', Action: 'reject' }) } },
      { timeZone: 'UTC' },
    );
    expect(model.v6.zones.map((r) => r.line)).toContain('guest\tipv6');
    expect(model.v6.hosts.map((r) => r.line)).toEqual(['guest\teth0:[fd00:1::]/120']);
    expect(model.v4.hosts.map((r) => r.line)).toEqual(['guest\teth0:192.168.1.0/28']);
    expect(model.v6.rules.rules.flatMap((g) => g.rows.map((r) => r.line))).toEqual(['REJECT\tguest\tnet']);
    expect(model.warnings.map(formatWarning)).toEqual([]);
  });

  it('without Network6 it warns, naming the record and the prop that would fix it', () => {
    const model = buildModel({ networks: guest() }, { timeZone: 'UTC' });
    expect(model.warnings.map(formatWarning)).toEqual([
      "networks/guest/Network: zone 'guest' holds IPv4 only: over IPv6 its hosts are in zone loc of eth0, so rules and policies that name the zone do not hold for their IPv6 traffic (set networks/guest/Network6 to their IPv6 network, refuse it by MAC with a mac; Src, or remove IPv6 from eth0)",
    ]);
  });

  it('a host inside a zone record with Network6 is matched by MAC in that zone too', () => {
    const model = buildModel(
      { networks: guest({ Network6: 'fd00:1::/120' }), hosts: { pc: rec('local', { IpAddress: '192.168.1.5', MacAddress: 'aa:bb:cc:dd:ee:03' }) }, fwrules: drop({ Src: 'host;pc' }) },
      { timeZone: 'UTC' },
    );
    expect(model.v6.rules.rules.flatMap((g) => g.rows.map((r) => r.line))).toEqual(['DROP\tloc:~aa-bb-cc-dd-ee-03\tnet', 'DROP\tguest:~aa-bb-cc-dd-ee-03\tnet']);
  });

  it('Network6 that is not IPv6, or beside an IPv6 Network, is refused', () => {
    expect(failure(() => buildModel({ networks: guest({ Network6: '10.0.0.0/24' }) }, { timeZone: 'UTC' }))).toMatch(/^networks\/guest\/Network6: /);
    expect(failure(() => buildModel({ networks: guest({ Network: 'fd00:1::/120', Network6: 'fd00:1::/121' }) }, { timeZone: 'UTC' }))).toMatch(/^networks\/guest\/Network6: .*IPv6 already/);
  });
});
