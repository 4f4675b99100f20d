/**
 * Logging (issue 16 item 5): a policy or rule with a log level becomes a rate-limited LOG
 * rule with Shorewall's prefix, and a logged drop really passes through it. The proof
 * reads the LOG rule's packet counter in the gateway namespace (iptables-save -c): the
 * kernel's LOG output itself goes to the host's kernel log, which only sees other
 * namespaces with the global sysctl nf_log_all_netns, and host sysctls are off limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { expectVerdicts } from './harness.js';
import { files, loadShorewall } from './shorewall-lab.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

/** Packets counted by the rule whose text contains `needle`. */
async function counted(lab: Lab, needle: string): Promise<number> {
  const saved = await lab.exec('gw', 'iptables-save', ['-c', '-t', 'filter']);
  const line = saved.split('\n').find((l) => l.includes(needle));
  if (!line) throw new Error(`no rule with ${needle} in the gateway:\n${saved.split("\n").filter((l) => l.includes("LOG")).join("\n")}`);
  return Number(/^\[(\d+):/.exec(line)?.[1] ?? 'NaN');
}

describe.skipIf(why)('logged drops reach a rate-limited LOG rule with a Shorewall prefix', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab();
  });
  afterAll(() => lab?.destroy());

  it('net -> fw DROP info and a DROP:info rule: the dropped probes pass through their LOG rules, limited by LOGLIMIT', async () => {
    await loadShorewall(
      lab,
      files(['DROP:info loc $FW tcp 2323'], { policy: ['loc net ACCEPT', '$FW all ACCEPT', 'net all DROP info', 'all all REJECT'], conf: ['LOGLIMIT="s:1/sec:10"'] }),
    );
    const policyLog = '"Shorewall:net-fw:DROP:"';
    const ruleLog = '"Shorewall:loc-fw:DROP:"';
    const before = [await counted(lab, policyLog), await counted(lab, ruleLog)];
    await expectVerdicts(lab, [
      { from: 'inet', to: 'gw', proto: 'tcp', port: 23, verdict: 'dropped', options: { address: '203.0.113.2' }, why: 'net all DROP info' },
      { from: 'green', to: 'gw', proto: 'tcp', port: 2323, verdict: 'dropped', why: 'DROP:info rule' },
    ]);
    expect(await counted(lab, policyLog), 'packets through the policy LOG rule').toBeGreaterThan(before[0]!);
    expect(await counted(lab, ruleLog), 'packets through the rule LOG rule').toBeGreaterThan(before[1]!);
    const saved = await lab.exec('gw', 'iptables-save', ['-t', 'filter']);
    expect(saved).toMatch(/-m hashlimit --hashlimit-upto 1\/sec --hashlimit-burst 10 --hashlimit-mode srcip --hashlimit-name \S+ -j LOG --log-prefix "?Shorewall:net-fw:DROP:"? --log-level 6/);
  });
});
