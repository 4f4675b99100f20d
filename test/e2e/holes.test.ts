/**
 * The false accepts of issue 16, each proved closed by sending the offending packet
 * through the lab: Shorewall files written here, compiled by Gatehouse, loaded into the
 * gateway. A wrong verdict says whether it is a false accept (a hole) or a false drop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { expectVerdicts } from './harness.js';
import { craftedUnavailableReason, describeArrival, loadShorewall, sendCrafted, type Arrival, type CraftedPacket } from './shorewall-lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);
const noCrafted = why ?? craftedUnavailableReason();
if (noCrafted && !why) console.warn('skipped crafted-packet cases: ' + noCrafted);

const RED = '203.0.113.2';

/** The lab's four interfaces as Shorewall zones, with `rules` and `policy` lines added. */
function files(rules: string[], options: { policy?: string[]; conf?: string[]; interfaces?: string[] } = {}): Record<string, string> {
  return {
    zones: 'fw firewall\nnet ipv4\nloc ipv4\ngst ipv4\ndmz ipv4\n',
    interfaces: ['?FORMAT 2', ...(options.interfaces ?? ['net red0 -', 'loc green0 -', 'gst blue0 -', 'dmz orange0 -'])].join('\n') + '\n',
    policy: [...(options.policy ?? ['loc net ACCEPT', '$FW all ACCEPT', 'net all DROP', 'all all REJECT'])].join('\n') + '\n',
    rules: ['?SECTION NEW', ...rules].join('\n') + '\n',
    snat: 'MASQUERADE 192.168.0.0/16 red0\n',
    'shorewall.conf': ['IP_FORWARDING=On', ...(options.conf ?? [])].join('\n') + '\n',
  };
}

async function expectArrivals(lab: Lab, cases: (CraftedPacket & { expect: Arrival; why: string })[]): Promise<void> {
  const seen: Arrival[] = [];
  // One at a time: each listener must see only its own packet's fate.
  for (const c of cases) seen.push(await sendCrafted(lab, c));
  const wrong = cases
    .map((c, i) => ({ c, got: seen[i]! }))
    .filter(({ c, got }) => got !== c.expect)
    .map(({ c, got }) => `${describeArrival(c.expect, got)}: ${c.proto} ${c.src} -> ${c.dst} ${JSON.stringify(c.options ?? {})} ${got} at ${c.to} (${c.why})`);
  expect(wrong, wrong.join('\n')).toEqual([]);
}

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

export { RED, files, expectArrivals, noCrafted };
