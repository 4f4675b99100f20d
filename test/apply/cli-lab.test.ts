import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planPaths } from '../../src/plan/index.js';
import { readPending } from '../../src/apply/index.js';
import { type Lab, createLab, labUnavailableReason } from '../lab/lab.js';
import { gatewayPlan, temporaryRoot, writePlanFiles } from './plans.js';
import { buildProjectIfStale } from '../templates/build.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const noScript = spawnSync('sh', ['-c', 'command -v script']).status === 0 ? undefined : 'script (util-linux) is not installed, so no pseudo-terminal';
if (!why && noScript) console.warn('skipped keypress test: ' + noScript);

const gatehouse = (args: string[]) => execa('node', ['bin/gatehouse.js', ...args], { reject: false });

describe.skipIf(why)('gatehouse apply --confirm, confirm, stop and status against the lab', () => {
  let lab: Lab;
  let root: string;
  let apply: string;
  const roots: string[] = [];

  beforeAll(async () => {
    await buildProjectIfStale();
    lab = await createLab();
    apply = `netns:${lab.ns.gw}`;
  });
  afterAll(async () => {
    await lab?.destroy();
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // Each case starts with the good plan running (green -> orange web accepted) and a REJECT plan in next.
    root = await temporaryRoot();
    roots.push(root);
    const good = await writePlanFiles(join(root, 'good'), gatewayPlan());
    const first = await gatehouse(['apply', '--root', root, '--apply', apply, '--plan', good]);
    expect(first.stderr).toBe('');
    await writePlanFiles(planPaths(root).next, gatewayPlan({ greenToOrangeWeb: 'REJECT' }));
  });

  it('no confirmation in time restores the previous ruleset and exits non-zero saying so', async () => {
    const run = await gatehouse(['apply', '--root', root, '--apply', apply, '--confirm', '1']);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toMatch(/not confirmed within 1s: the previous plan is back in force/);
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('accepted');
    const rejected = await readFile(join(planPaths(root).rejected, 'summary.json'), 'utf8');
    expect(rejected).toContain('REJECT');
  });

  it('gatehouse confirm from a second process keeps the new plan', async () => {
    const waiting = gatehouse(['apply', '--root', root, '--apply', apply, '--confirm', '20']);
    for (let i = 0; i < 200 && (await readPending(root))?.deadline === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
    const confirm = await gatehouse(['confirm', '--root', root]);
    expect(confirm.exitCode).toBe(0);
    const run = await waiting;
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('confirmed: the new plan stays');
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
  });

  it.skipIf(noScript)('a keypress on the terminal confirms and keeps the new plan', async () => {
    // `script` gives the apply a pseudo-terminal; what we write to its stdin is typed there.
    const command = ['node', 'bin/gatehouse.js', 'apply', '--root', root, '--apply', apply, '--confirm', '20'].join(' ');
    const terminal = execa('script', ['-qfec', command, '/dev/null'], { reject: false, stdin: 'pipe' });
    let seen = '';
    await new Promise<void>((done, fail) => {
      terminal.stdout!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (seen.includes('or press any key')) done();
      });
      void terminal.then((r) => fail(new Error(`apply ended before asking for a key: ${String(r.stdout)} ${String(r.stderr)}`)));
    });
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
    terminal.stdin!.write('y');
    const run = await terminal;
    expect(run.exitCode, String(run.stdout)).toBe(0);
    expect(String(run.stdout)).toContain('confirmed: the new plan stays');
    expect(await lab.probe('green', 'orange', 'tcp', 80)).toBe('rejected');
  });

  it('gatehouse confirm with nothing waiting is an error', async () => {
    const confirm = await gatehouse(['confirm', '--root', root]);
    expect(confirm.exitCode).toBe(1);
    expect(confirm.stderr).toMatch(/no apply is waiting for confirmation/);
  });

  it('stop closes forwarding but keeps administration from green working', async () => {
    const stop = await gatehouse(['stop', '--root', root, '--apply', apply]);
    expect(stop.exitCode).toBe(0);
    const verdicts = await Promise.all([
      lab.probe('green', 'gw', 'tcp', 22),
      lab.probe('green', 'gw', 'tcp', 980),
      lab.probe('green', 'orange', 'tcp', 80),
      lab.probe('inet', 'orange', 'tcp', 8080, { address: '203.0.113.2', listenPort: 80 }),
    ]);
    expect(verdicts).toEqual(['accepted', 'accepted', 'dropped', 'dropped']);
    const status = await gatehouse(['status', '--root', root]);
    expect(status.stdout).toMatch(/state: stopped/);
    expect(status.stdout).toMatch(/kernel: matches/);
  });

  it('status says which plan runs, when it was applied, and that the kernel matches', async () => {
    const status = await gatehouse(['status', '--root', root]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/state: running/);
    expect(status.stdout).toContain(`plan: ${join(root, 'good')}`);
    expect(status.stdout).toMatch(new RegExp(`applied: \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z in ${apply}`));
    expect(status.stdout).toMatch(/kernel: matches what was loaded/);
  });

  it('status detects a kernel that no longer matches the plan', async () => {
    // A rule added by hand to a chain Gatehouse owns, and one inserted above Gatehouse's hook.
    await lab.exec('gw', 'iptables', ['-I', 'gatehouse-FORWARD', '1', '-s', '192.168.10.10', '-j', 'ACCEPT']);
    await lab.exec('gw', 'iptables', ['-I', 'INPUT', '1', '-s', '192.168.10.11', '-j', 'ACCEPT']);
    const status = await gatehouse(['status', '--root', root]);
    expect(status.exitCode, status.stderr).toBe(2);
    expect(status.stdout).toMatch(/kernel: DIFFERS/);
    expect(status.stdout).toContain('filter.v4 + -A gatehouse-FORWARD -s 192.168.10.10/32 -j ACCEPT');
    expect(status.stdout).toContain("filter.v4 + INPUT: 1 rule(s) of other tools before Gatehouse's (first: -A INPUT -s 192.168.10.11/32 -j ACCEPT)");
  });
});
