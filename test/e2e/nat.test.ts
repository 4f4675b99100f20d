/**
 * Address translation proved by the source address servers see: masquerading, port
 * forwards (with Allow, with and without hairpin NAT) and one-to-one NAT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, expectVerdicts, closeLabRoot, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const RED = '203.0.113.2';

describe.skipIf(why)('NAT, through db and signal-event, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
    await gh.db('hosts', 'set', 'web', 'host', 'IpAddress', '192.168.20.10');
    await gh.db('portforward', 'set', '1', 'pf', 'Proto', 'tcp', 'Src', '8080', 'Dst', '80', 'DstHost', 'host;web', 'status', 'enabled');
    await gh.db('portforward', 'set', '2', 'pf', 'Proto', 'tcp', 'Src', '2222', 'Dst', '22', 'DstHost', 'host;web', 'Allow', '198.51.100.0/24', 'status', 'enabled');
    await gh.adjust();
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('LAN traffic to the internet leaves with the red address (masquerading)', async () => {
    expect(await lab.seenSource('green', 'inet', 8000), 'the internet host must see the gateway, not 192.168.1.10').toBe(RED);
    expect(await lab.seenSource('blue', 'inet', 8000), 'guests are masqueraded too').toBe(RED);
  });

  it('a port forward takes the internet to the DMZ server, keeping the client address', async () => {
    await expectVerdicts(lab, [
      { from: 'inet', to: 'orange', proto: 'tcp', port: 8080, verdict: 'accepted', options: { address: RED, listenPort: 80 }, why: 'pf 8080 -> web:80' },
      { from: 'inet', to: 'orange', proto: 'tcp', port: 80, verdict: 'dropped', why: 'net -> orange policy DROP: only forwarded ports pass' },
    ]);
    expect(await lab.seenSource('inet', 'orange', 8080, { address: RED, listenPort: 80 })).toBe('198.51.100.10');
  });

  it('Allow restricts a port forward to the listed sources', async () => {
    await expectVerdicts(lab, [
      { from: 'inet', to: 'orange', proto: 'tcp', port: 2222, verdict: 'accepted', options: { address: RED, listenPort: 22 }, why: 'inet is in Allow 198.51.100.0/24' },
      { from: 'isp', to: 'orange', proto: 'tcp', port: 2222, verdict: 'dropped', options: { address: RED, listenPort: 22 }, why: 'the ISP router is not in Allow' },
    ]);
  });

  it('without hairpin NAT the LAN cannot use the public address of a port forward', async () => {
    await expectVerdicts(lab, [
      { from: 'green', to: 'orange', proto: 'tcp', port: 8080, verdict: 'rejected', options: { address: RED, listenPort: 80 }, why: 'HairpinNat disabled: the gateway refuses' },
    ]);
  });

  it('with hairpin NAT the LAN reaches the forward through the public address, seen as the gateway', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'HairpinNat', 'enabled');
    await gh.adjust();
    await expectVerdicts(lab, [
      { from: 'green', to: 'orange', proto: 'tcp', port: 8080, verdict: 'accepted', options: { address: RED, listenPort: 80 }, why: 'HairpinNat enabled' },
    ]);
    // As on NethServer: source NAT to the gateway's address in the client's network, so replies return through it.
    expect(await lab.seenSource('green', 'orange', 8080, { address: RED, listenPort: 80 }), 'hairpin traffic must come from the gateway').toBe('192.168.1.1');
  });

  it('one-to-one NAT: the DMZ server goes out with its own public alias, others keep the red address', async () => {
    await lab.exec('gw', 'ip', ['address', 'add', '203.0.113.3/24', 'dev', 'red0']);
    await gh.db('networks', 'set', 'red0:0', 'alias', 'role', 'alias', 'ipaddr', '203.0.113.3', 'netmask', '255.255.255.0', 'FwObjectNat', 'host;web');
    await gh.adjust();
    expect(await lab.seenSource('orange', 'inet', 8001), 'web must leave as its alias 203.0.113.3').toBe('203.0.113.3');
    expect(await lab.seenSource('green', 'inet', 8001), 'the LAN is still masqueraded').toBe(RED);
  });
});
