/**
 * Review findings proved by packets: each case names the record, what the databases say,
 * and the wrong verdict the running firewall gave before its fix.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const RED = '203.0.113.2';

describe.skipIf(why)('review findings, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('a port forward compiled while red had no address opens only the forwarded path, not the internal host to the internet', async () => {
    // Red (DHCP, PPPoE) has no address when the event compiles: the nat rule matches any local
    // address of red, and the filter accept could not name the original destination.
    await gh.db('hosts', 'set', 'web', 'host', 'IpAddress', '192.168.20.10');
    await gh.db('portforward', 'set', '7', 'pf', 'Proto', 'tcp', 'Src', '9090', 'DstHost', 'host;web', 'status', 'enabled');
    await lab.exec('gw', 'ip', ['-4', 'address', 'flush', 'dev', 'red0']);
    await gh.adjust();
    // The lease comes back; the plan stays as compiled.
    await lab.exec('gw', 'ip', ['address', 'add', `${RED}/24`, 'dev', 'red0']);
    await lab.exec('gw', 'ip', ['route', 'replace', 'default', 'via', '203.0.113.1']);
    // The forward itself waits for interface-update (its nat rule needs the address), but
    // its accept must not stand alone: before the fix it let the internet reach web:9090
    // directly (false accept), with no translation at all.
    await expectVerdicts(lab, [
      { from: 'inet', to: 'orange', proto: 'tcp', port: 9090, verdict: 'dropped', why: 'not through the forward: web itself, net -> orange policy DROP' },
      { from: 'isp', to: 'orange', proto: 'tcp', port: 9090, verdict: 'dropped', why: 'the same from the red segment' },
    ]);
    // Once the event runs again with the address, the forward works and still only as translated.
    await gh.adjust();
    await expectVerdicts(lab, [
      { from: 'inet', to: 'orange', proto: 'tcp', port: 9090, verdict: 'accepted', options: { address: RED }, why: 'pf 7: red:9090 -> web:9090' },
      { from: 'inet', to: 'orange', proto: 'tcp', port: 9090, verdict: 'dropped', why: 'not through the forward: web itself' },
    ]);
  }, 120_000);
});
