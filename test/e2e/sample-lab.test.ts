/**
 * The built-in sample network (`gatehouse sample`) applied in the lab: prints the probe
 * matrix (this file is what `npm run lab` runs) and checks every verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, type Expectation, describeWrongVerdict, formatMatrix, closeLabRoot, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const RED = '203.0.113.2';

/** What the sample's databases promise (src/sample). */
const SAMPLE_MATRIX: Expectation[] = [
  { from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', why: 'permissive: LAN to internet' },
  { from: 'green', to: 'inet', proto: 'tcp', port: 8080, verdict: 'accepted', why: 'rule 4 drops only the DHCP pool, admin-pc is outside it' },
  { from: 'green', to: 'orange', proto: 'tcp', port: 80, verdict: 'accepted', why: 'LAN to DMZ' },
  { from: 'green', to: 'blue', proto: 'tcp', port: 80, verdict: 'accepted', why: 'LAN to guests' },
  { from: 'green', to: 'gw', proto: 'tcp', port: 980, verdict: 'accepted', why: 'administration from green' },
  { from: 'green', to: 'orange', proto: 'tcp', port: 80, verdict: 'accepted', options: { address: RED, listenPort: 80 }, why: 'pf 1 through hairpin NAT' },
  { from: 'blue', to: 'green', proto: 'tcp', port: 445, verdict: 'rejected', why: 'rule 1: guests never reach staff' },
  { from: 'blue', to: 'orange', proto: 'tcp', port: 80, verdict: 'accepted', why: 'guests may browse the DMZ' },
  { from: 'blue', to: 'gw', proto: 'tcp', port: 980, verdict: 'rejected', why: 'no administration from blue' },
  { from: 'orange', to: 'green', proto: 'udp', port: 514, verdict: 'accepted', why: 'rule 3: DMZ logs to admin-pc' },
  { from: 'orange', to: 'green', proto: 'tcp', port: 22, verdict: 'rejected', why: 'DMZ never opens to the LAN otherwise' },
  { from: 'orange', to: 'blue', proto: 'tcp', port: 80, verdict: 'rejected', why: 'DMZ to guests' },
  { from: 'inet', to: 'orange', proto: 'tcp', port: 80, verdict: 'accepted', options: { address: RED, listenPort: 80 }, why: 'pf 1: public web site' },
  { from: 'inet', to: 'orange', proto: 'tcp', port: 2222, verdict: 'accepted', options: { address: RED, listenPort: 22 }, why: 'pf 2: partner network in Allow' },
  { from: 'isp', to: 'orange', proto: 'tcp', port: 2222, verdict: 'dropped', options: { address: RED, listenPort: 22 }, why: 'pf 2: ISP not in Allow' },
  { from: 'inet', to: 'orange', proto: 'tcp', port: 22, verdict: 'accepted', why: 'rule 6: partner maintains the web server' },
  { from: 'inet', to: 'orange', proto: 'tcp', port: 23, verdict: 'dropped', why: 'internet to DMZ' },
  { from: 'inet', to: 'green', proto: 'tcp', port: 80, verdict: 'dropped', why: 'internet to LAN' },
  { from: 'inet', to: 'gw', proto: 'icmp', verdict: 'accepted', options: { address: RED }, why: 'ExternalPing enabled' },
  { from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', options: { family: 6 }, why: 'IPv6 LAN to internet' },
  { from: 'blue', to: 'green', proto: 'tcp', port: 80, verdict: 'rejected', options: { family: 6 }, why: 'IPv6 guests to LAN' },
  { from: 'inet', to: 'green', proto: 'tcp', port: 80, verdict: 'dropped', options: { family: 6 }, why: 'IPv6 internet to LAN' },
];

describe.skipIf(why)('the sample network in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('every verdict of the probe matrix is what the sample promises', async () => {
    const sample = await gh.gatehouse(['sample', '--force']);
    expect(sample.code, sample.stderr).toBe(0);
    await gh.adjust();
    const seen = await Promise.all(SAMPLE_MATRIX.map((c) => lab.probe(c.from, c.to, c.proto, c.port, c.options ?? {})));
    console.log(`probe matrix of the sample network (gateway namespace ${lab.ns.gw}):\n${formatMatrix(SAMPLE_MATRIX, seen)}`);
    const wrong = SAMPLE_MATRIX.flatMap((c, i) => (seen[i] === c.verdict ? [] : [`${describeWrongVerdict(c.verdict, seen[i]!)}: ${c.from} -> ${c.to} ${c.proto}/${String(c.port)} (${c.why ?? ''})`]));
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});
