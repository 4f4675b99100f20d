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
});

export { RED, files, expectArrivals, noCrafted };
