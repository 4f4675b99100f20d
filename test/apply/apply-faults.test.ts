import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApplyMode, applyPlan } from '../../src/apply/index.js';
import { planPaths } from '../../src/plan/index.js';
import { describeError } from '../../src/errors/index.js';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const BAD_RULE = '-A FORWARD -p tcp --dport 80 -m no-such-match --whatever -j ACCEPT';

describe.skipIf(why)('apply faults leave the previous ruleset in force', () => {
  let lab: Lab;
  let root: string;
  let mode: ApplyMode;
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
    // Each case starts from a fresh root with the good plan running (green -> orange web accepted).
    root = await temporaryRoot();
    roots.push(root);
    await writePlanFiles(planPaths(root).next, gatewayPlan());
    await applyPlan(root, { mode });
  });

  async function failedApply(options: Parameters<typeof applyPlan>[1]): Promise<string> {
    const e = await applyPlan(root, options).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, 'the apply should have failed').toBeDefined();
    return describeError(e);
  }

  it('a rule the kernel refuses fails naming the step and keeps the previous ruleset', async () => {
    const next = await writePlanFiles(join(root, 'bad'), gatewayPlan({ greenToOrangeWeb: 'REJECT', extraV4Rule: BAD_RULE }));
    const message = await failedApply({ mode, planDir: next });
    expect(message).toMatch(/failed at part filter\.v4: iptables-restore \(rules\.v4\) failed .*; the previous plan is back in force/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('a v6 failure after v4 was loaded rolls v4 back too', async () => {
    const next = await writePlanFiles(join(root, 'bad6'), gatewayPlan({ greenToOrangeWeb: 'REJECT', extraV6Rule: BAD_RULE }));
    const message = await failedApply({ mode, planDir: next });
    expect(message).toMatch(/failed at part filter\.v6: ip6tables-restore/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('the plan directories are put back after a failed apply', async () => {
    const before = await readFile(join(planPaths(root).current, 'applied.json'), 'utf8');
    const next = await writePlanFiles(join(root, 'bad'), gatewayPlan({ extraV4Rule: BAD_RULE }));
    await failedApply({ mode, planDir: next });
    expect(await readFile(join(planPaths(root).current, 'applied.json'), 'utf8')).toBe(before);
    await expect(readFile(join(planPaths(root).previous, 'applied.json'))).rejects.toThrow();
  });

  it('a missing ipset command fails clearly before anything changes', async () => {
    // A PATH holding every kernel tool except ipset.
    const bin = join(root, 'bin-without-ipset');
    await mkdir(bin);
    for (const tool of ['ip', 'iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save', 'sysctl']) {
      await symlink(`/usr/sbin/${tool}`, join(bin, tool));
    }
    const next = await writePlanFiles(join(root, 'reject'), gatewayPlan({ greenToOrangeWeb: 'REJECT' }));
    const message = await failedApply({ mode, planDir: next, env: { PATH: bin } });
    expect(message).toMatch(/kernel command not found: ipset \(install the Debian package \(ipset\)/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('a namespace that does not exist is refused and the running ruleset is untouched', async () => {
    const message = await failedApply({ mode: { kind: 'netns', name: `${lab.ns.gw}-gone` } });
    expect(message).toMatch(/network namespace '.*-gone' does not exist/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('a corrupt plan directory is refused and the running ruleset is untouched', async () => {
    const next = await writePlanFiles(join(root, 'corrupt'), { ...gatewayPlan({ greenToOrangeWeb: 'REJECT' }), 'rules.v4': '*filter\n:INPUT ACCEPT [0:0]\n' });
    const message = await failedApply({ mode, planDir: next });
    expect(message).toMatch(/corrupt\/rules\.v4: table filter \(line 1\) has no COMMIT/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
  });

  it('with no previous plan, a failed apply loads the stopped ruleset, never an open firewall', async () => {
    const fresh = await temporaryRoot();
    roots.push(fresh);
    const next = await writePlanFiles(planPaths(fresh).next, gatewayPlan({ extraV4Rule: BAD_RULE }));
    const e = await applyPlan(fresh, { mode, planDir: next }).catch((err: unknown) => err);
    expect(describeError(e)).toMatch(/there was no previous plan, so the stopped ruleset is loaded \(closed, not open\)/);
    const verdicts = await Promise.all([
      lab.probe('green', 'orange', 'tcp', 80),
      lab.probe('green', 'gw', 'tcp', 22),
      lab.probe('inet', 'gw', 'tcp', 22, { address: '203.0.113.2' }),
    ]);
    expect(verdicts).toEqual(['dropped', 'accepted', 'dropped']);
  });
});
