import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApplyMode, applyPlan, describeApplyOutcome, firewallStatus, stopFirewall } from '../../src/apply/index.js';
import { planPaths } from '../../src/plan/index.js';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

/** Packets counted by the v6 forward rule accepting established traffic (in Gatehouse's FORWARD chain); a restore resets it to 0. */
async function establishedV6Packets(lab: Lab): Promise<number> {
  const listing = await lab.exec('gw', 'ip6tables', ['-L', 'gatehouse-FORWARD', '-v', '-x', '-n']);
  const line = listing.split('\n').find((l) => /RELATED,ESTABLISHED|ESTABLISHED,RELATED/.test(l));
  if (!line) throw new Error(`no established rule in the v6 FORWARD chain:\n${listing}`);
  return Number(line.trim().split(/\s+/)[0]);
}

describe.skipIf(why)('a ruleset that has not changed is not reloaded', () => {
  let lab: Lab;
  let mode: ApplyMode;
  let root: string;
  const roots: string[] = [];

  beforeAll(async () => {
    lab = await createLab();
    mode = { kind: 'netns', name: lab.ns.gw };
  });
  afterAll(async () => {
    await lab?.destroy();
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  beforeEach(async () => {
    root = await temporaryRoot();
    roots.push(root);
    await applyPlan(root, { mode, planDir: await writePlanFiles(join(root, 'first'), gatewayPlan()) });
    // Whether apply read the kernel back in time depends on load; status always settles
    // what the kernel should hold, so the skip below never depends on timing.
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('an identical filter.v6 still in the kernel keeps its counters, and the outcome says it was not reloaded', async () => {
    expect(await lab.probe('green', 'orange', 'tcp', 80, { family: 6, timeoutMs: 3000 })).toBe('accepted');
    const before = await establishedV6Packets(lab);
    expect(before).toBeGreaterThan(0);
    const next = await writePlanFiles(join(root, 'v4-only'), gatewayPlan({ extraV4Rule: '-A INPUT -p tcp --dport 9 -j DROP' }));
    const outcome = await applyPlan(root, { mode, planDir: next });
    expect(outcome.unchanged).toContain('filter.v6');
    expect(outcome.unchanged).not.toContain('filter.v4');
    expect(describeApplyOutcome(outcome)).toMatch(/filter\.v6(, sysctls)? unchanged and still in the kernel, so not reloaded/);
    expect(await establishedV6Packets(lab)).toBeGreaterThanOrEqual(before);
    expect(await lab.exec('gw', 'iptables', ['-S', 'gatehouse-INPUT'])).toContain('--dport 9 -j DROP');
  });

  it('an identical filter.v6 is reloaded when the kernel no longer holds it', async () => {
    // The state chain no longer names what the plan left: every owned chain is rewritten.
    const state = /^-N (gatehouse-state-\S+)$/m.exec(await lab.exec('gw', 'ip6tables', ['-S']))![1]!;
    await lab.exec('gw', 'ip6tables', ['-X', state]);
    await lab.exec('gw', 'ip6tables', ['-I', 'gatehouse-FORWARD', '1', '-s', 'fd00:10::10', '-j', 'ACCEPT']);
    const next = await writePlanFiles(join(root, 'v4-only'), gatewayPlan({ extraV4Rule: '-A INPUT -p tcp --dport 9 -j DROP' }));
    const outcome = await applyPlan(root, { mode, planDir: next });
    expect(outcome.unchanged).not.toContain('filter.v6');
    expect(await lab.exec('gw', 'ip6tables', ['-S', 'gatehouse-FORWARD'])).not.toContain('fd00:10::10');
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('a rule added by hand inside a chain of Gatehouse is removed when the same filter.v6 is applied again (the state chain left alone)', async () => {
    const next = await writePlanFiles(join(root, 'v4-only'), gatewayPlan({ extraV4Rule: '-A INPUT -p tcp --dport 9 -j DROP' }));
    await applyPlan(root, { mode, planDir: next });
    await lab.exec('gw', 'ip6tables', ['-I', 'gatehouse-FORWARD', '1', '-s', 'fd00:10::10', '-j', 'ACCEPT']);
    expect((await firewallStatus(root)).kernel).toBe('differs');
    const again = await writePlanFiles(join(root, 'v4-only-again'), gatewayPlan({ extraV4Rule: '-A INPUT -p tcp --dport 9 -j DROP' }));
    const outcome = await applyPlan(root, { mode, planDir: again });
    expect(outcome.unchanged, 'a false accept: the hand-inserted ACCEPT was kept as unchanged').not.toContain('filter.v6');
    expect(await lab.exec('gw', 'ip6tables', ['-S', 'gatehouse-FORWARD'])).not.toContain('fd00:10::10');
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('a rule another tool inserted above the hook of Gatehouse stays, below it, when an unchanged filter.v6 is applied', async () => {
    await lab.exec('gw', 'ip6tables', ['-I', 'FORWARD', '1', '-s', 'fd00:10::10', '-j', 'ACCEPT']);
    expect((await firewallStatus(root)).differences['filter.v6']!.join('\n')).toContain("FORWARD: 1 rule(s) of other tools before Gatehouse's");
    const next = await writePlanFiles(join(root, 'v4-only'), gatewayPlan({ extraV4Rule: '-A INPUT -p tcp --dport 9 -j DROP' }));
    const outcome = await applyPlan(root, { mode, planDir: next });
    expect(outcome.unchanged).toContain('filter.v6');
    expect((await lab.exec('gw', 'ip6tables', ['-S', 'FORWARD'])).split('\n').filter((l) => l.startsWith('-A'))).toEqual([
      '-A FORWARD -j gatehouse-FORWARD',
      '-A FORWARD -s fd00:10::10/128 -j ACCEPT',
    ]);
    expect((await firewallStatus(root)).kernel).toBe('matches');
  });

  it('with nothing recorded, status works out what the kernel should hold, keeps it, and still sees drift', async () => {
    const current = planPaths(root).current;
    await rm(join(current, 'records'), { recursive: true, force: true });
    expect((await firewallStatus(root)).kernel).toBe('matches');
    expect(await readFile(join(current, 'records', 'filter.v4'), 'utf8')).toContain('-j MASQUERADE');
    await lab.exec('gw', 'iptables', ['-t', 'nat', '-I', 'PREROUTING', '1', '-p', 'tcp', '--dport', '2222', '-j', 'DNAT', '--to-destination', '192.168.1.10']);
    await rm(join(current, 'records'), { recursive: true, force: true });
    const status = await firewallStatus(root);
    expect(status.kernel).toBe('differs');
    expect(status.differences['filter.v4']!.join('\n')).toContain('--dport 2222');
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(new RegExp(`gh-ref-${process.pid}-`));
  });

  it('a stopped firewall is always reloaded, even with the same plan', async () => {
    await stopFirewall(root, { mode });
    const outcome = await applyPlan(root, { mode, planDir: join(root, 'first') });
    expect(outcome.unchanged).not.toContain('filter.v4');
    expect(outcome.unchanged).not.toContain('filter.v6');
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });
});
