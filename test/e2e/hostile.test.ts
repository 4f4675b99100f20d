/**
 * Hostile packets (issue 16 item 4), hand-built with test/e2e/crafted.py and sent through
 * the lab: impossible TCP flags (tcpflags), broadcast sources (nosmurfs), a LAN source
 * arriving on red (routefilter), an out-of-state ACK. Each verdict is Shorewall's for
 * the same files; a wrong one is named a false accept (hole) or a false drop.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { craftedUnavailableReason, expectArrivals, files, loadShorewall, type CraftedPacket } from './shorewall-lab.js';

const why = labUnavailableReason() ?? craftedUnavailableReason();
if (why) console.warn('skipped: ' + why);

const INET = '198.51.100.10';
const GREEN = '192.168.1.10';
const toGreen = (options: Record<string, string | number>, src = INET): CraftedPacket => ({ from: 'inet', to: 'green', family: 4, src, dst: GREEN, proto: 'tcp', options });

describe.skipIf(why)('hostile packets meet the protections of the interfaces file', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab();
    await lab.routePrivateRangesToGateway();
  });
  afterAll(() => lab?.destroy());

  const rules = ['ACCEPT net loc tcp 22', 'ACCEPT net $FW tcp 22'];

  it('tcpflags drops SYN+FIN, NULL and Xmas scans to a port the rules open; a SYN passes', async () => {
    await loadShorewall(lab, files(rules, { interfaces: ['net red0 tcpflags', 'loc green0 -', 'gst blue0 -', 'dmz orange0 -'] }));
    await expectArrivals(lab, [
      { ...toGreen({ flags: 'SF', dport: 22 }), expect: 'blocked', why: 'SYN+FIN: tcpflags' },
      { ...toGreen({ flags: 'none', dport: 22 }), expect: 'blocked', why: 'NULL scan: tcpflags' },
      { ...toGreen({ flags: 'FPU', dport: 22 }), expect: 'blocked', why: 'Xmas scan: tcpflags' },
      { ...toGreen({ flags: 'S', dport: 22 }), expect: 'arrived', why: 'control: a plain SYN to the open port' },
    ]);
  });

  it('nosmurfs drops broadcast sources, from the internet and from the LAN', async () => {
    await loadShorewall(lab, files(rules, { interfaces: ['net red0 nosmurfs', 'loc green0 nosmurfs', 'gst blue0 -', 'dmz orange0 -'] }));
    await expectArrivals(lab, [
      { from: 'inet', to: 'gw', family: 4, src: '203.0.113.255', dst: '203.0.113.2', proto: 'tcp', options: { dport: 22 }, expect: 'blocked', why: "red0's broadcast address as source: nosmurfs" },
      { from: 'green', to: 'inet', family: 4, src: '192.168.1.255', dst: INET, proto: 'tcp', options: { dport: 80 }, expect: 'blocked', why: "green0's broadcast address as source: nosmurfs" },
      { from: 'inet', to: 'gw', family: 4, src: INET, dst: '203.0.113.2', proto: 'tcp', options: { dport: 22 }, expect: 'arrived', why: 'control: the same packet from a real source' },
    ]);
  });

  it('routefilter drops a LAN source arriving on red; without it the same packet passes, as in Shorewall', async () => {
    const spoofed = { ...toGreen({ dport: 22 }, '192.168.1.50') };
    await loadShorewall(lab, files(rules, { interfaces: ['net red0 routefilter,logmartians', 'loc green0 -', 'gst blue0 -', 'dmz orange0 -'] }));
    await expectArrivals(lab, [
      { ...spoofed, expect: 'blocked', why: 'routefilter: 192.168.1.50 routes back through green0, not red0' },
      { ...toGreen({ dport: 22 }), expect: 'arrived', why: 'control: the real internet source passes the reverse-path check' },
    ]);
    await loadShorewall(lab, files(rules, { conf: ['ROUTE_FILTER=Yes'] }));
    await expectArrivals(lab, [{ ...spoofed, expect: 'blocked', why: 'ROUTE_FILTER=Yes: every interface' }]);
    await loadShorewall(lab, files(rules));
    await expectArrivals(lab, [{ ...spoofed, expect: 'arrived', why: 'no routefilter: the net zone may send to loc:22 from any address' }]);
  });

  it('an out-of-state ACK meets the rules as conntrack sees it: a new connection, as in Shorewall', async () => {
    await loadShorewall(lab, files(rules, { interfaces: ['net red0 tcpflags,nosmurfs,routefilter', 'loc green0 -', 'gst blue0 -', 'dmz orange0 -'] }));
    await expectArrivals(lab, [
      { ...toGreen({ flags: 'A', dport: 80, ack: 12345 }), expect: 'blocked', why: 'port 80 is not open: net -> loc DROP' },
      { ...toGreen({ flags: 'A', dport: 22, ack: 12345 }), expect: 'arrived', why: 'conntrack picks the ACK up as NEW; ACCEPT net loc tcp 22 applies, as in Shorewall' },
    ]);
  });
});
