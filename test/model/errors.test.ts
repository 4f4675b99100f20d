import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { GatehouseError } from '../../src/errors/index.js';
import { buildModel, formatWarning } from '../../src/model/index.js';

const networks: Database = {
  eth0: { type: 'ethernet', props: { role: 'green', bootproto: 'none', ipaddr: '192.168.1.1', netmask: '255.255.255.0' } },
  eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'dhcp' } },
};

function failure(dbs: Record<string, Database>): GatehouseError {
  try {
    buildModel({ networks, ...dbs }, { timeZone: 'UTC' });
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('buildModel accepted the input');
}

const rule = (props: Record<string, string>): Record<string, Database> => ({
  fwrules: { '7': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'drop', Service: 'any', ...props } } },
});

/** The model's warnings, formatted as signal-event prints them. */
function warningsOf(dbs: Record<string, Database>): string[] {
  return buildModel({ networks, ...dbs }, { timeZone: 'UTC' }).warnings.map(formatWarning);
}

describe('a DROP or REJECT rule that cannot be built fails the event (skipping it would open a hole), naming the record and the missing object', () => {
  it('a rule naming a missing host names the rule, the prop and the host', () => {
    const e = failure(rule({ Src: 'host;ghost' }));
    expect(e.place).toEqual({ db: 'fwrules', key: '7', prop: 'Src' });
    expect(e.message).toContain("host 'ghost'");
  });

  it('a host-group with a missing member names the group and the member', () => {
    const e = failure({
      hosts: { g: { type: 'host-group', props: { Members: 'a,gone' } }, a: { type: 'host', props: { IpAddress: '192.168.1.5' } } },
      ...rule({ Dst: 'host-group;g' }),
    });
    expect(e.format()).toContain("fwrules/7/Dst: refers to host 'gone' (member of host-group 'g')");
  });

  it('a missing fwservice is an error, not a silently dropped rule', () => {
    expect(failure(rule({ Service: 'fwservice;nope' })).format()).toContain("fwrules/7/Service: refers to service 'nope'");
  });

  it('a missing time object is an error naming it', () => {
    expect(failure(rule({ Time: 'time;never' })).message).toContain("time 'time;never'");
  });

  it('a role without an interface is an error', () => {
    expect(failure(rule({ Dst: 'role;orange' })).message).toContain("role 'orange'");
  });

  it('a rule from red to red is refused', () => {
    expect(failure(rule({ Src: 'role;red' })).message).toBe('rule goes from the internet (red) to the internet');
  });

  it('a host to itself is refused', () => {
    const e = failure({ hosts: { a: { type: 'host', props: { IpAddress: '192.168.1.5' } } }, ...rule({ Src: 'host;a', Dst: 'host;a' }) });
    expect(e.message).toBe("rule goes from 'host;a' to itself");
  });

  it('green to green stays allowed: two green interfaces talk through the firewall', () => {
    const model = buildModel({ networks, ...rule({ Dst: 'role;green', Action: 'accept' }) }, { timeZone: 'UTC' });
    expect(model.v4.rules.rules[0]?.rows[0]?.line).toBe('ACCEPT\tloc\tloc');
  });

  it('a rule from the firewall to itself is refused', () => {
    expect(failure(rule({ Src: 'fw', Dst: 'fw' })).message).toContain('the firewall to itself');
  });

  it('a local service rule whose Dst is not fw is refused', () => {
    const e = failure({ configuration: { ssh: { type: 'service', props: { TCPPort: '22' } } }, ...rule({ Service: 'service;ssh' }) });
    expect(e.place.prop).toBe('Service');
  });

  it('an IPv4 source with an IPv6 destination matches no family and is refused', () => {
    expect(failure(rule({ Src: '192.168.1.5', Dst: '2001:db8::1' })).message).toContain('no address family');
  });

  it('a port forward without DstHost names the record', () => {
    const e = failure({ portforward: { '3': { type: 'pf', props: { Proto: 'tcp', Src: '80' } } } });
    expect(e.place).toEqual({ db: 'portforward', key: '3', prop: 'DstHost' });
  });


  it('a zone record whose Interface is not a configured interface fails the event (skipping it would widen its hosts\' access)', () => {
    const e = failure({ networks: { ...networks, lab: { type: 'zone', props: { Interface: 'eth9', Network: '10.0.0.0/24' } } } });
    expect(e.format()).toBe("networks/lab/Interface: Interface 'eth9' is not a configured interface (it has no role, or no longer exists) (use one of: eth0, eth1, or delete the zone record)");
  });

  it('a zone record without Interface fails the event (db refuses it too)', () => {
    const e = failure({ networks: { ...networks, lab: { type: 'zone', props: { Network: '10.0.0.0/24' } } } });
    expect(e.format()).toBe('networks/lab/Interface: a zone record needs Interface (set Interface)');
  });

  it('an unknown Policy value names the prop and the valid values', () => {
    const e = failure({ configuration: { firewall: { type: 'configuration', props: { Policy: 'open' } } } });
    expect(e.format()).toBe("configuration/firewall/Policy: 'open' is not valid (valid: one of permissive, strict)");
  });
});

describe('an ACCEPT rule, port forward or NAT entry that cannot be built is skipped with a warning naming it (leaving it out only closes access)', () => {
  it('an ACCEPT rule naming a missing host', () => {
    expect(warningsOf(rule({ Action: 'accept', Src: 'host;ghost' }))).toEqual([
      "fwrules/7/Src: ACCEPT rule skipped: refers to host 'ghost', which does not exist (create it in the hosts database or fix the reference)",
    ]);
  });

  it('an ACCEPT rule naming a missing service, and the rules around it still apply', () => {
    const model = buildModel({
      networks,
      fwrules: {
        '6': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'drop', Service: '25' } },
        '7': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'accept', Service: 'nope' } },
      },
    }, { timeZone: 'UTC' });
    expect(model.warnings.map(formatWarning)).toEqual([
      "fwrules/7/Service: ACCEPT rule skipped: refers to service 'nope', which does not exist (create it in the fwservices database (Protocol, Ports) or fix the reference)",
    ]);
    expect(model.v4.rules.rules.map((g) => g.comment)).toEqual(['RULE 6']);
  });

  it('a port forward to a missing host', () => {
    expect(warningsOf({ portforward: { '3': { type: 'pf', props: { Proto: 'tcp', Src: '80', DstHost: 'host;gone' } } } })).toEqual([
      "portforward/3/DstHost: port forward skipped: refers to host 'gone', which does not exist (create it in the hosts database or fix the reference)",
    ]);
  });

  it('FwObjectNat on an alias of a non-red interface', () => {
    expect(warningsOf({
      networks: { ...networks, 'eth0:0': { type: 'alias', props: { ipaddr: '192.168.1.9', netmask: '255.255.255.0', FwObjectNat: 'host;a' } } },
      hosts: { a: { type: 'host', props: { IpAddress: '192.168.1.5' } } },
    })).toEqual([
      "networks/eth0:0/FwObjectNat: one-to-one NAT skipped: FwObjectNat is set on an alias of 'eth0', which is not a red interface (one-to-one NAT needs a public address: use an alias of a red interface)",
    ]);
  });

  it('a local service whose access names an unknown zone opens the rest', () => {
    const model = buildModel({ networks, configuration: { web: { type: 'service', props: { TCPPort: '443', access: 'green,lab', status: 'enabled' } } } }, { timeZone: 'UTC' });
    expect(model.warnings.map(formatWarning)).toEqual([
      "configuration/web/access: 'lab' skipped: it is neither a role in use nor a zone record (list roles such as green, red, blue, orange, custom roles in use, or zone record keys)",
    ]);
    expect(model.v4.rules.services[0]?.rows.map((r) => r.line)).toEqual(['ACCEPT\tloc\t$FW\ttcp\t443']);
  });
});

describe('defaults and status', () => {
  it('empty props count as missing and get the NethServer defaults', () => {
    const model = buildModel({ networks, configuration: { firewall: { type: 'configuration', props: { Policy: '', ExternalPing: '' } } } }, { timeZone: 'UTC' });
    expect(model.settings.policy).toBe('permissive');
    expect(model.v4.rules.ping[0]?.line).toBe('Ping(ACCEPT)\tnet\t$FW');
  });

  it('a rule without status is enabled and a disabled one is left out', () => {
    const model = buildModel({
      networks,
      fwrules: {
        '1': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'drop' } },
        '2': { type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'reject', status: 'disabled' } },
      },
    }, { timeZone: 'UTC' });
    expect(model.v4.rules.rules.map((g) => g.comment)).toEqual(['RULE 1']);
  });

  it('rules are ordered by Position, then numerically by key', () => {
    const r = (Position: string) => ({ type: 'rule', props: { Src: 'role;green', Dst: 'role;red', Action: 'accept', Position } });
    const model = buildModel({ networks, fwrules: { '10': r('5'), '9': r('5'), '2': r('1'), '1': r('30') } }, { timeZone: 'UTC' });
    expect(model.v4.rules.rules.map((g) => g.comment)).toEqual(['RULE 2', 'RULE 9', 'RULE 10', 'RULE 1']);
  });

  it('no red interface means server mode', () => {
    expect(buildModel({ networks: { eth0: networks['eth0']! } }, { timeZone: 'UTC' }).mode).toBe('server');
  });
});

describe("a port forward's Allow with ! items means what db documents (! excludes)", () => {
  const forward = (allow: string) =>
    buildModel({
      networks: { ...networks, eth1: { type: 'ethernet', props: { role: 'red', bootproto: 'none', ipaddr: '203.0.113.2', netmask: '255.255.255.0' } } },
      portforward: { '3': { type: 'pf', props: { Proto: 'tcp', Src: '2222', Dst: '22', DstHost: '192.168.1.10', Allow: allow, status: 'enabled' } } },
    }, { timeZone: 'UTC' }).v4.rules.portForwards[0]!.rows[0]!.fields!['source'];

  it('networks with an excluded address: the first except the second (not everyone but the network)', () => {
    expect(forward('!203.0.113.9,198.51.100.0/24')).toBe('net:198.51.100.0/24!203.0.113.9');
    expect(forward('198.51.100.0/24,!198.51.100.9')).toBe('net:198.51.100.0/24!198.51.100.9');
  });

  it('only excluded addresses: everyone but them', () => {
    expect(forward('!198.51.100.9,!198.51.100.10')).toBe('net:!198.51.100.9,198.51.100.10');
    expect(forward('!198.51.100.9')).toBe('net:!198.51.100.9');
  });
});
