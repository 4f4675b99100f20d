/**
 * nfqueue (issue 16 item 6), configured with `db` and `signal-event` and proved with
 * packets: with `configuration firewall nfqueue enabled` traffic to and from red goes
 * through NFQUEUE 0 (the queue rules' counters grow), and with no IPS reading the queue it
 * still passes (--queue-bypass: no outage). A connection whose packet carries the IPS
 * bypass bit 0x80 keeps it in its connection mark and skips the queue. No IPS runs here:
 * the bypass bit is set by a mangle rule standing in for the IPS's verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labUnavailableReason } from '../lab/lab.js';
import { type E2eRoot, closeLabRoot, expectVerdicts, openLabRoot } from './harness.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

/** Packets counted by the gateway's NFQUEUE rules, per family. */
async function queued(lab: Lab, family: 4 | 6): Promise<number> {
  const saved = await lab.exec('gw', family === 4 ? 'iptables-save' : 'ip6tables-save', ['-c', '-t', 'filter']);
  let packets = 0;
  for (const line of saved.split('\n')) {
    const m = /^\[(\d+):\d+\] -A \S+ .*-j NFQUEUE/.exec(line);
    if (m) packets += Number(m[1]);
  }
  return packets;
}

async function zeroCounters(lab: Lab): Promise<void> {
  await lab.exec('gw', 'iptables', ['-Z']);
  await lab.exec('gw', 'ip6tables', ['-Z']);
}

describe.skipIf(why)('nfqueue, through db and signal-event, in the lab', () => {
  let lab: Lab;
  let gh: E2eRoot;

  beforeAll(async () => {
    ({ lab, gh } = await openLabRoot({ routePrivate: true }));
  });
  afterAll(() => closeLabRoot({ lab, gh }));

  it('sends traffic to and from red through the queue, and with no IPS reading it traffic still passes', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'nfqueue', 'enabled');
    await gh.adjust();
    const rules = await lab.exec('gw', 'iptables-save', ['-t', 'filter']);
    expect(rules).toMatch(/-m conntrack --ctstate ESTABLISHED -m connmark ! --mark 0x80\/0x80 .*-j NFQUEUE --queue-num 0 --queue-bypass/);
    await zeroCounters(lab);
    await expectVerdicts(lab, [
      { from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', why: 'loc -> net through the queue: --queue-bypass with no IPS (an outage otherwise)' },
      { from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', options: { family: 6 }, why: 'the same over IPv6' },
      { from: 'inet', to: 'gw', proto: 'tcp', port: 22, verdict: 'accepted', options: { address: '203.0.113.2' }, why: 'net -> fw (ssh) through the queue' },
      { from: 'inet', to: 'green', proto: 'tcp', port: 80, verdict: 'dropped', why: 'the queue opens nothing the rules do not: net -> loc DROP' },
    ]);
    expect(await queued(lab, 4), 'IPv4 packets that went through the NFQUEUE rules').toBeGreaterThan(0);
    expect(await queued(lab, 6), 'IPv6 packets that went through the NFQUEUE rules').toBeGreaterThan(0);
    // Traffic that does not cross red never meets the queue.
    await zeroCounters(lab);
    await expectVerdicts(lab, [{ from: 'green', to: 'orange', proto: 'tcp', port: 80, verdict: 'accepted', why: 'loc -> orang' }]);
    expect(await queued(lab, 4), 'loc -> orang is not queued').toBe(0);
  });

  it('a connection the IPS marked with the bypass bit 0x80 skips the queue for the rest of its life', async () => {
    // Stands in for the IPS's verdict: the bypass bit on green's packets as they are forwarded.
    await lab.exec('gw', 'iptables', ['-t', 'mangle', '-I', 'FORWARD', '-s', '192.168.1.10', '-j', 'MARK', '--set-xmark', '0x80/0x80']);
    try {
      await zeroCounters(lab);
      await expectVerdicts(lab, [{ from: 'green', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', why: 'bypassed connection' }]);
      expect(await queued(lab, 4), 'packets of a bypassed connection must not be queued').toBe(0);
      await expectVerdicts(lab, [{ from: 'blue', to: 'inet', proto: 'tcp', port: 443, verdict: 'accepted', why: 'blue is not bypassed' }]);
      expect(await queued(lab, 4), "blue's connection is still queued").toBeGreaterThan(0);
    } finally {
      await lab.exec('gw', 'iptables', ['-t', 'mangle', '-D', 'FORWARD', '-s', '192.168.1.10', '-j', 'MARK', '--set-xmark', '0x80/0x80']);
    }
  });

  it('disabled again, nothing is queued', async () => {
    await gh.db('configuration', 'setprop', 'firewall', 'nfqueue', 'disabled');
    await gh.adjust();
    expect(await lab.exec('gw', 'iptables-save', ['-t', 'filter'])).not.toContain('NFQUEUE');
    expect(await lab.exec('gw', 'ip6tables-save', ['-t', 'filter'])).not.toContain('NFQUEUE');
  });
});
