/**
 * gatehouse renew-time-windows and status against the zone the running windows were written
 * for: the machine's zone moved with no event (no TimeZone record), and a --within margin
 * no fresh plan gets out of. Dry-run only, as test/cli/renew-time-windows.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProjectIfStale, projectDir } from '../templates/build.js';

beforeAll(buildProjectIfStale, 180_000);

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function run(name: string, args: string[], tz = 'Europe/Rome'): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectDir, 'bin', `${name}.js`), ...args], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: 'dry-run', TZ: tz } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const planDir = (root: string, slot: string) => join(root, 'var/lib/gatehouse/plan', slot);

/** The sample office (rule 5 limited to office hours), firewall-adjust run on a machine in `tz` (no TimeZone record), plan/next made the running plan. */
function runningSample(tz: string): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-renew-tz-'));
  roots.push(root);
  expect(run('gatehouse', ['sample', '--root', root], tz).status).toBe(0);
  const adjust = run('signal-event', ['--root', root, 'firewall-adjust'], tz);
  expect(adjust.status, adjust.stderr).toBe(0);
  const dir = planDir(root, 'plans/review-running');
  cpSync(planDir(root, 'next'), dir, { recursive: true, dereference: true });
  writeFileSync(planDir(root, 'state.json'), JSON.stringify({ slots: { current: 'review-running' } }));
  writeFileSync(join(dir, 'applied.json'), JSON.stringify({ appliedAt: new Date().toISOString(), mode: 'dry-run', source: 'plan/next', sha256: {} }));
  return root;
}

describe('renew-time-windows and the time zone', () => {
  it('the machine moved to another time zone (no TimeZone record: the windows follow the machine): the running windows are an hour and more off, so they are renewed', () => {
    const root = runningSample('Europe/Rome');
    const tw = (JSON.parse(readFileSync(join(planDir(root, 'plans/review-running'), 'plan.json'), 'utf8')) as { inputs: { timeWindows: { timeZone: string } } }).inputs.timeWindows;
    expect(tw.timeZone).toBe('Europe/Rome');
    // timedatectl set-timezone America/New_York: no event runs; the daily timer is the only thing that looks.
    const r = run('gatehouse', ['renew-time-windows', '--root', root], 'America/New_York');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout, 'the daily check still trusts the Europe/Rome columns').toMatch(/America\/New_York/);
    expect(r.stdout).toMatch(/renewing/);
    const status = run('gatehouse', ['status', '--root', root], 'America/New_York');
    expect(status.stdout).toContain('\nwarning: time windows were written for Europe/Rome, but the time zone is now America/New_York: ');
  });

  it('a --within no fresh plan gets out of is refused: every daily run would renew, then exit 1 saying the new plan still runs out', () => {
    // A plan made a minute ago holds 399 days at the least (Europe/Rome: up to ~613, a zone without changes 799).
    // With --within 1000 (accepted: 0 to 3650) it is due at once; under --apply host the renewal's own fresh plan
    // is due again, so every daily run applies the databases and exits 1 ("but plan/current still runs out").
    const root = runningSample('Europe/Rome');
    const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '1000']);
    expect(r.stdout, 'accepted, and a plan made a minute ago is due').not.toMatch(/within 1000 days: renewing them/);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--within 1000');
  });
});
