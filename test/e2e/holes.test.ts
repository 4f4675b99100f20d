/**
 * The false accepts of issue 16, each proved closed by sending the offending packet
 * through the lab: Shorewall files written here, compiled by Gatehouse, loaded into the
 * gateway. A wrong verdict says whether it is a false accept (a hole) or a false drop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { expectVerdicts } from './harness.js';
import { craftedUnavailableReason, expectArrivals, files, loadShorewall } from './shorewall-lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);
const noCrafted = why ?? craftedUnavailableReason();
if (noCrafted && !why) console.warn('skipped crafted-packet cases: ' + noCrafted);

const RED = '203.0.113.2';

describe.skipIf(why)('false accepts of issue 16, closed, proved with packets', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab();
    await lab.routePrivateRangesToGateway();
  });
  afterAll(() => lab?.destroy());

  it('a negated list of two addresses loads and excludes exactly those addresses', async () => {
    // Before: `! -s a ! -s b`, which iptables-restore refuses, so the event failed at apply time.
    await loadShorewall(lab, files(['DROP loc:!192.168.1.11,192.168.1.12 net']));
    await expectVerdicts(lab, [{ from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'dropped', why: '192.168.1.10 is not excluded: DROP' }]);
    await loadShorewall(lab, files(['DROP loc:!192.168.1.10,192.168.1.12 net']));
    await expectVerdicts(lab, [{ from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'accepted', why: '192.168.1.10 is excluded: the loc net ACCEPT policy' }]);
  });

  it('an exclusion inside a list (a!b) gives the excluded address the other verdict, in rules, DNAT sources and snat', async () => {
    // Each pair of loads excludes the probing host, then another one: a false accept or
    // false drop of the excluded host shows in the first, of the included host in the second.
    await loadShorewall(lab, files(['DROP loc:192.168.1.0/24!192.168.1.10 net tcp 80', 'REJECT loc net:198.51.100.0/24!198.51.100.10 tcp 81', 'DNAT net:198.51.100.0/24!198.51.100.10 loc:192.168.1.10:22 tcp 8443']));
    await expectVerdicts(lab, [
      { from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'accepted', why: 'source 192.168.1.10 is excluded from the DROP: the loc net ACCEPT policy' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 81, verdict: 'accepted', why: 'destination 198.51.100.10 is excluded from the REJECT: the loc net ACCEPT policy' },
      { from: 'inet', to: 'green', proto: 'tcp', port: 8443, verdict: 'dropped', options: { address: RED, listenPort: 22 }, why: '198.51.100.10 is excluded from the DNAT: net -> fw DROP' },
    ]);
    await loadShorewall(lab, files(['DROP loc:192.168.1.0/24!192.168.1.50 net tcp 80', 'REJECT loc net:198.51.100.0/24!198.51.100.50 tcp 81', 'DNAT net:198.51.100.0/24!198.51.100.50 loc:192.168.1.10:22 tcp 8443']));
    await expectVerdicts(lab, [
      { from: 'green', to: 'inet', proto: 'tcp', port: 80, verdict: 'dropped', why: 'source 192.168.1.10 is in the list and not excluded: DROP' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 81, verdict: 'rejected', why: 'destination 198.51.100.10 is in the list and not excluded: REJECT' },
      { from: 'inet', to: 'green', proto: 'tcp', port: 8443, verdict: 'accepted', options: { address: RED, listenPort: 22 }, why: 'the forward for every other internet host' },
    ]);
    // snat: the excluded host leaves with its own address (the ISP routes it back).
    await loadShorewall(lab, { ...files([]), snat: 'MASQUERADE 192.168.0.0/16!192.168.1.10 red0\n' });
    expect(await lab.seenSource('green', 'inet', 8000), '192.168.1.10 is excluded from the masquerade').toBe('192.168.1.10');
    await loadShorewall(lab, { ...files([]), snat: 'MASQUERADE 192.168.0.0/16!192.168.1.50 red0\n' });
    expect(await lab.seenSource('green', 'inet', 8000), '192.168.1.10 is masqueraded').toBe(RED);
  });

  it('a DNAT or REDIRECT that changes the port does not open the internal port directly', async () => {
    await loadShorewall(lab, files(['DNAT net loc:192.168.1.10:22 tcp 8443', 'REDIRECT loc 3128 tcp 443'], { policy: ['loc net ACCEPT', 'all all REJECT'] }));
    await expectVerdicts(lab, [
      { from: 'inet', to: 'green', proto: 'tcp', port: 8443, verdict: 'accepted', options: { address: RED, listenPort: 22 }, why: 'the forward itself' },
      { from: 'inet', to: 'green', proto: 'tcp', port: 22, verdict: 'rejected', why: 'net -> loc:22 without translation meets the all all REJECT policy' },
      { from: 'green', to: 'gw', proto: 'tcp', port: 443, verdict: 'accepted', options: { address: '198.51.100.10', listenPort: 3128 }, why: 'the redirect itself' },
      { from: 'green', to: 'gw', proto: 'tcp', port: 3128, verdict: 'rejected', why: 'the proxy port asked for directly meets loc -> fw REJECT' },
    ]);
  });

  it.skipIf(noCrafted)('a forged ICMP error (fragmentation needed, packet too big) from the internet reaches neither the LAN nor the gateway', async () => {
    await loadShorewall(lab, files(['ACCEPT net loc udp 9999']));
    const inet4 = '198.51.100.10';
    const inet6 = '2001:db8:2::10';
    await expectArrivals(lab, [
      { from: 'inet', to: 'green', family: 4, src: inet4, dst: '192.168.1.10', proto: 'icmp', options: { type: 3, code: 4 }, expect: 'blocked', why: 'no connection: net -> loc DROP' },
      { from: 'inet', to: 'gw', family: 4, src: inet4, dst: RED, proto: 'icmp', options: { type: 3, code: 4 }, expect: 'blocked', why: 'no connection: net -> fw DROP' },
      { from: 'inet', to: 'green', family: 6, src: inet6, dst: 'fd00:1::10', proto: 'icmp', options: { type: 2, code: 0 }, expect: 'blocked', why: 'no connection: net -> loc DROP' },
      { from: 'inet', to: 'gw', family: 6, src: inet6, dst: '2001:db8:1::2', proto: 'icmp', options: { type: 2, code: 0 }, expect: 'blocked', why: 'no connection: net -> fw DROP' },
      { from: 'inet', to: 'green', family: 4, src: inet4, dst: '192.168.1.10', proto: 'udp', options: { dport: 9999 }, expect: 'arrived', why: 'control: a crafted packet the rules open does arrive' },
    ]);
    // An error that belongs to a connection is RELATED and still passes: green refuses a
    // port the rules open, and the internet host must hear the refusal.
    await lab.exec('green', 'iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '9999', '-j', 'REJECT']);
    try {
      await expectVerdicts(lab, [{ from: 'inet', to: 'green', proto: 'udp', port: 9999, verdict: 'rejected', why: "green's port unreachable is RELATED" }]);
    } finally {
      await lab.exec('green', 'iptables', ['-F', 'INPUT']);
    }
  });

  it.skipIf(noCrafted)('INVALID_DISPOSITION and RELATED_DISPOSITION decide the fate of INVALID and RELATED packets', async () => {
    // SYN+FIN is INVALID to conntrack; without tcpflags only the disposition decides.
    const synFin = { from: 'inet', to: 'green', family: 4, src: '198.51.100.10', dst: '192.168.1.10', proto: 'tcp', options: { flags: 'SF', dport: 22 } } as const;
    for (const [setting, expected] of [['DROP', 'blocked'], ['REJECT', 'blocked'], ['CONTINUE', 'arrived']] as const) {
      await loadShorewall(lab, files(['ACCEPT net loc tcp 22'], { conf: [`INVALID_DISPOSITION=${setting}`] }));
      await expectArrivals(lab, [{ ...synFin, expect: expected, why: `INVALID_DISPOSITION=${setting}${setting === 'CONTINUE' ? ': the packet meets ACCEPT net loc tcp 22, as in Shorewall' : ''}` }]);
    }
    await loadShorewall(lab, files(['ACCEPT net loc udp 9999'], { conf: ['RELATED_DISPOSITION=DROP'] }));
    await lab.exec('green', 'iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '9999', '-j', 'REJECT']);
    try {
      await expectVerdicts(lab, [{ from: 'inet', to: 'green', proto: 'udp', port: 9999, verdict: 'dropped', why: "RELATED_DISPOSITION=DROP: green's port unreachable is dropped" }]);
    } finally {
      await lab.exec('green', 'iptables', ['-F', 'INPUT']);
    }
  });

  it('an interface the interfaces file does not list meets the all all policy, not a silent drop', async () => {
    const interfaces = ['net red0 -', 'loc green0 -', 'gst blue0 -'];
    await loadShorewall(lab, files([], { interfaces, policy: ['loc net ACCEPT', 'net all DROP', 'all all REJECT'] }));
    await expectVerdicts(lab, [
      { from: 'orange', to: 'gw', proto: 'tcp', port: 22, verdict: 'rejected', options: { address: '192.168.20.1' }, why: 'orange0 is unlisted: INPUT ends with the all all REJECT policy' },
      { from: 'orange', to: 'inet', proto: 'tcp', port: 80, verdict: 'rejected', why: 'orange0 is unlisted: FORWARD ends with the all all REJECT policy' },
    ]);
    await loadShorewall(lab, files([], { interfaces, policy: ['loc net ACCEPT', 'net all DROP', 'all all ACCEPT'] }));
    await expectVerdicts(lab, [
      { from: 'orange', to: 'inet', proto: 'tcp', port: 80, verdict: 'accepted', why: 'orange0 is unlisted: the all all ACCEPT policy, as in Shorewall' },
      { from: 'inet', to: 'gw', proto: 'tcp', port: 22, verdict: 'dropped', options: { address: RED }, why: 'a listed interface keeps its own policy: net all DROP' },
    ]);
  });
});

