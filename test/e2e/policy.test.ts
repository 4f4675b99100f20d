/**
 * The zone policy, rules over every kind of object, REJECT versus DROP and ExternalPing,
 * configured only with `db` and `signal-event firewall-adjust` and proved with packets.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Lab, type LabNode, type Verdict, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, type Expectation, expectVerdicts, closeLabRoot, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

/** green > blue > orange > red: a zone reaches those below it, never those above. */
function matrix(policy: 'permissive' | 'strict', family: 4 | 6): Expectation[] {
  const toRed: Verdict = policy === 'permissive' ? 'accepted' : 'rejected';
  const rows: [LabNode, LabNode, Verdict][] = [
    ['green', 'blue', 'accepted'],
    ['green', 'orange', 'accepted'],
    ['green', 'inet', toRed],
    ['blue', 'green', 'rejected'],
    ['blue', 'orange', 'accepted'],
    ['blue', 'inet', toRed],
    ['orange', 'green', 'rejected'],
    ['orange', 'blue', 'rejected'],
    ['orange', 'inet', toRed],
    ['inet', 'green', 'dropped'],
    ['inet', 'blue', 'dropped'],
    ['inet', 'orange', 'dropped'],
  ];
  return rows.map(([from, to, verdict]) => ({ from, to, proto: 'tcp', port: 80, verdict, options: { family }, why: `${policy} policy` }));
}

const toGateway = (from: LabNode, port: number, verdict: Verdict, why: string): Expectation => ({
  from,
  to: 'gw',
  proto: 'tcp',
  port,
  verdict,
  why,
  ...(from === 'inet' ? { options: { address: '203.0.113.2' } } : {}),
});

describe.skipIf(why)('policy and rules, through db and signal-event, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('permissive policy: each zone reaches the zones below it and the internet (IPv4)', async () => {
    await gh.adjust();
    await expectVerdicts(lab, matrix('permissive', 4));
  });

  it('permissive policy holds for IPv6 from the same databases', async () => {
    await expectVerdicts(lab, matrix('permissive', 6));
  });

  it('the gateway itself: admin services from green and red, everything else refused', async () => {
    await expectVerdicts(lab, [
      toGateway('green', 22, 'accepted', 'sshd access green'),
      toGateway('green', 980, 'accepted', 'httpd-admin access green'),
      toGateway('green', 8000, 'rejected', 'loc -> fw REJECT'),
      toGateway('blue', 22, 'rejected', 'blue -> fw REJECT'),
      toGateway('inet', 22, 'accepted', 'sshd access red'),
      toGateway('inet', 980, 'accepted', 'httpd-admin access green,red (the shipped default, as NethServer)'),
      toGateway('inet', 8000, 'dropped', 'net -> fw DROP'),
    ]);
  });

  it('ExternalPing enabled answers pings from the internet, disabled drops them', async () => {
    const ping: Expectation = { from: 'inet', to: 'gw', proto: 'icmp', verdict: 'accepted', options: { address: '203.0.113.2' }, why: 'ExternalPing enabled' };
    await expectVerdicts(lab, [ping]);
    await gh.db('configuration', 'setprop', 'firewall', 'ExternalPing', 'disabled');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...ping, verdict: 'dropped', why: 'ExternalPing disabled' },
      { from: 'green', to: 'gw', proto: 'icmp', verdict: 'accepted', why: 'green may still ping the gateway' },
    ]);
    await gh.db('configuration', 'setprop', 'firewall', 'ExternalPing', 'enabled');
  });

  it('strict policy: nothing goes to the internet unless a rule says so (IPv4 and IPv6)', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'Policy', 'strict');
    await gh.adjust();
    await expectVerdicts(lab, [...matrix('strict', 4), ...matrix('strict', 6)]);
  });

  it('rules over host, host-group, cidr, iprange and role with named and numeric services, REJECT and DROP as the sender sees them', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'Policy', 'permissive');
    await gh.db('hosts', 'set', 'pc', 'host', 'IpAddress', '192.168.1.10');
    await gh.db('hosts', 'set', 'web', 'host', 'IpAddress', '192.168.20.10');
    await gh.db('hosts', 'set', 'lan', 'host-group', 'Members', 'pc');
    await gh.db('hosts', 'set', 'guests', 'cidr', 'Address', '192.168.10.0/24');
    await gh.db('hosts', 'set', 'office', 'iprange', 'Start', '192.168.1.5', 'End', '192.168.1.15');
    await gh.db('fwservices', 'set', 'syslog', 'fwservice', 'Protocol', 'udp', 'Ports', '514');
    await gh.db('fwservices', 'set', 'webapp', 'fwservice', 'Protocol', 'tcp', 'Ports', '8080');
    await gh.db('fwrules', 'set', '1', 'rule', 'Position', '10', 'Src', 'host;web', 'Dst', 'host;pc', 'Service', 'fwservice;syslog', 'Action', 'accept');
    await gh.db('fwrules', 'set', '2', 'rule', 'Position', '20', 'Src', 'role;blue', 'Dst', 'host-group;lan', 'Service', '8443', 'Action', 'accept');
    await gh.db('fwrules', 'set', '3', 'rule', 'Position', '30', 'Src', 'cidr;guests', 'Dst', 'role;orange', 'Service', 'fwservice;webapp', 'Action', 'drop');
    await gh.db('fwrules', 'set', '4', 'rule', 'Position', '40', 'Src', 'iprange;office', 'Dst', 'role;red', 'Service', '25', 'Action', 'reject');
    await gh.db('fwrules', 'set', '5', 'rule', 'Position', '50', 'Src', 'role;green', 'Dst', 'host;web', 'Service', '8081', 'Action', 'reject', 'status', 'disabled');
    await gh.adjust();
    await expectVerdicts(lab, [
      { from: 'orange', to: 'green', proto: 'udp', port: 514, verdict: 'accepted', why: 'host -> host, named udp service' },
      { from: 'orange', to: 'green', proto: 'udp', port: 515, verdict: 'rejected', why: 'orange -> green policy still applies beside the rule' },
      { from: 'blue', to: 'green', proto: 'tcp', port: 8443, verdict: 'accepted', why: 'role -> host-group, numeric port (tcp)' },
      { from: 'blue', to: 'green', proto: 'udp', port: 8443, verdict: 'accepted', why: 'role -> host-group, numeric port (udp too)' },
      { from: 'blue', to: 'orange', proto: 'tcp', port: 8080, verdict: 'dropped', why: 'cidr -> role DROP: the sender hears nothing' },
      { from: 'blue', to: 'orange', proto: 'tcp', port: 8082, verdict: 'accepted', why: 'other ports keep the blue -> orange policy' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 25, verdict: 'rejected', why: 'iprange -> red REJECT: the sender is told at once' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 26, verdict: 'accepted', why: 'other ports keep the green -> red policy' },
      { from: 'green', to: 'orange', proto: 'tcp', port: 8081, verdict: 'accepted', why: 'a disabled rule does nothing' },
    ]);
  });

  it('a rule from a zone object (part of a network) matches only that part', async () => {
    await gh.db('networks', 'set', 'dmzlo', 'zone', 'Interface', 'orange0', 'Network', '192.168.20.0/28');
    await gh.db('fwrules', 'set', '6', 'rule', 'Position', '60', 'Src', 'zone;dmzlo', 'Dst', 'role;green', 'Service', '3306', 'Action', 'accept');
    await gh.adjust();
    await expectVerdicts(lab, [
      { from: 'orange', to: 'green', proto: 'tcp', port: 3306, verdict: 'accepted', why: 'zone dmzlo holds 192.168.20.10' },
      { from: 'orange', to: 'green', proto: 'tcp', port: 3307, verdict: 'rejected', why: 'only the rule\'s port is opened' },
      { from: 'blue', to: 'green', proto: 'tcp', port: 3306, verdict: 'rejected', why: 'blue is not in zone dmzlo' },
    ]);
  });
});
