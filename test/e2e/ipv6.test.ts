/**
 * IPv6 parity (issue 16 item 7), configured with `db` and `signal-event` and proved with
 * packets: ICMPv6 fwservices open ICMPv6 only, neighbour discovery and the ICMPv6 errors
 * of real connections pass while the policies drop everything else, and MAC validation
 * holds on IPv6 as on IPv4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const ORANGE6 = 'fd00:20::10';

describe.skipIf(why)('IPv6 parity, through db and signal-event, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('ICMPv6 fwservices (ping6, Protocol icmpv6) open ping for IPv6 only; an icmp service for IPv4 only', async () => {
    await gh.adjust();
    const ping = (family: 4 | 6) => ({ from: 'inet', to: 'orange', proto: 'icmp', options: { family } }) as const;
    await expectVerdicts(lab, [
      { ...ping(4), verdict: 'dropped', why: 'net -> orang DROP policy' },
      { ...ping(6), verdict: 'dropped', why: 'net -> orang DROP policy' },
    ]);
    await gh.db('hosts', 'set', 'web6', 'host', 'IpAddress', ORANGE6);
    await gh.db('fwrules', 'set', '1', 'rule', 'Position', '10', 'Src', 'role;red', 'Dst', 'role;orange', 'Service', 'ping6', 'Action', 'accept');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...ping(6), verdict: 'accepted', why: 'the ping6 fwservice (ipv6-icmp echo-request)' },
      { ...ping(4), verdict: 'dropped', why: 'ping6 opens nothing in IPv4' },
    ]);
    await gh.db('fwservices', 'set', 'echo6', 'fwservice', 'Protocol', 'icmpv6', 'Ports', '128');
    await gh.db('fwrules', 'setprop', '1', 'Service', 'fwservice;echo6', 'Dst', 'host;web6');
    await gh.db('fwrules', 'set', '2', 'rule', 'Position', '20', 'Src', 'role;red', 'Dst', 'role;orange', 'Service', 'ping', 'Action', 'accept');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...ping(6), verdict: 'accepted', why: 'Protocol icmpv6, type 128, to an IPv6 host object' },
      { ...ping(4), verdict: 'accepted', why: 'the ping fwservice (icmp) in IPv4' },
    ]);
    await gh.db('fwrules', 'delete', '1');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...ping(6), verdict: 'dropped', why: 'ping (icmp) opens nothing in IPv6' },
      { ...ping(4), verdict: 'accepted', why: 'the ping fwservice (icmp) in IPv4' },
    ]);
    await gh.db('fwrules', 'delete', '2');
  });

  it('neighbour discovery works through the ruleset, and a real packet-too-big reaches the sender as RELATED', async () => {
    await gh.adjust();
    // Forget every neighbour, so the next packets need solicitations and advertisements
    // through the loaded ruleset (green <-> gw on green0, gw <-> isp on red0).
    await lab.exec('green', 'ip', ['-6', 'neigh', 'flush', 'all']);
    await lab.exec('gw', 'ip', ['-6', 'neigh', 'flush', 'all']);
    await lab.exec('isp', 'ip', ['-6', 'neigh', 'flush', 'all']);
    await expectVerdicts(lab, [
      { from: 'green', to: 'gw', proto: 'icmp', verdict: 'accepted', options: { family: 6, address: 'fd00:1::1', timeoutMs: 2000 }, why: 'green resolves the gateway by neighbour discovery' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', options: { family: 6, timeoutMs: 2000 }, why: 'the gateway resolves green and the ISP by neighbour discovery' },
    ]);
    const neighbours = await lab.exec('gw', 'ip', ['-6', 'neigh', 'show', 'dev', 'green0']);
    expect(neighbours, 'the gateway learned green by neighbour discovery').toMatch(/fd00:1::10 .*(REACHABLE|STALE|DELAY|PROBE)/);

    // The ISP's link to the internet host carries 1280 bytes: a 1400-byte echo from green
    // makes the ISP answer packet-too-big, which the gateway must forward to green (RELATED
    // to the echo) while forged ones from the internet are dropped (test/e2e/holes.test.ts).
    await lab.exec('isp', 'ip', ['link', 'set', 'inet0', 'mtu', '1280']);
    try {
      const result = await lab.exec('green', 'sh', ['-c', 'ping -6 -n -c 1 -W 2 -s 1400 -M do 2001:db8:2::10 2>&1; true']);
      expect(result, 'green must hear the ISP\'s packet-too-big (FALSE DROP of a RELATED ICMPv6 error otherwise)').toMatch(/[Pp]acket too big|mtu ?= ?1280/);
    } finally {
      await lab.exec('isp', 'ip', ['link', 'set', 'inet0', 'mtu', '1500']);
    }
  });

  it('MAC validation holds on IPv6: only a reserved MAC reaches anywhere, over either family', async () => {
    const greenMac = (await lab.exec('green', 'cat', ['/sys/class/net/eth0/address'])).trim();
    await gh.db('configuration', 'setprop', 'firewall', 'MACValidation', 'enabled', 'MACValidationPolicy', 'drop');
    await gh.db('hosts', 'set', 'pc', 'local', 'IpAddress', '192.168.1.10', 'MacAddress', greenMac);
    await gh.adjust();
    const out = (from: 'green' | 'blue', family: 4 | 6) => ({ from, to: 'inet', proto: 'tcp', port: 443, options: { family } }) as const;
    await expectVerdicts(lab, [
      { ...out('green', 4), verdict: 'accepted', why: "green's MAC and address are reserved" },
      { ...out('green', 6), verdict: 'accepted', why: "green's MAC is reserved" },
      { ...out('blue', 4), verdict: 'dropped', why: 'blue has no reservation: MACValidationPolicy drop' },
      { ...out('blue', 6), verdict: 'dropped', why: 'blue has no reservation: IPv6 must not get round MAC validation' },
    ]);
    await gh.db('hosts', 'setprop', 'pc', 'MacAddress', '02:00:00:00:00:99');
    await gh.adjust();
    await expectVerdicts(lab, [
      { ...out('green', 4), verdict: 'dropped', why: "green's MAC is not the reserved one" },
      { ...out('green', 6), verdict: 'dropped', why: "green's MAC is not the reserved one: IPv6 too" },
    ]);
    await gh.db('configuration', 'setprop', 'firewall', 'MACValidation', 'disabled');
    await gh.adjust();
  });
});
