/**
 * Time windows past the 400-day horizon, through the commands as built: firewall-adjust
 * records in the plan how long its time windows hold; `gatehouse renew-time-windows` acts
 * on the running plan's record (due: runs firewall-adjust, saying why in its output and in
 * events.log; not due, no time windows, no record, stopped, nothing applied: says why and
 * runs nothing); `gatehouse status` shows it and warns. Dry-run only: no kernel is touched
 * (test/api/units.test.ts runs the timer's service in the lab).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProjectIfStale, projectDir } from '../templates/build.js';

beforeAll(buildProjectIfStale, 180_000);

const DAY = 86_400_000;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function run(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(projectDir, 'bin', `${name}.js`), ...args], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: 'dry-run' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The sample office (its rule 5 is limited to office hours) in a fresh root, in `zone`, with firewall-adjust run (dry-run). */
function sampleRoot(zone: string): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-renew-'));
  roots.push(root);
  expect(run('gatehouse', ['sample', '--root', root]).status).toBe(0);
  expect(run('db', ['--root', root, 'configuration', 'set', 'TimeZone', zone]).status).toBe(0);
  const adjust = run('signal-event', ['--root', root, 'firewall-adjust']);
  expect(adjust.status, adjust.stderr).toBe(0);
  return root;
}

const planDir = (root: string, slot: string) => join(root, 'var/lib/gatehouse/plan', slot);
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { inputs: { timeWindows?: Record<string, unknown> } };

/** The plan store's running plan, as the tests below make it. */
const current = (root: string) => planDir(root, 'plans/test-running');

/** plan/next as the running plan (a dry run applies nothing), with what its record says changed by `edit`. */
function runAsApplied(root: string, edit: (inputs: Record<string, unknown>) => void = () => {}): void {
  const dir = current(root);
  rmSync(dir, { recursive: true, force: true });
  cpSync(planDir(root, 'next'), dir, { recursive: true, dereference: true });
  writeFileSync(planDir(root, 'state.json'), JSON.stringify({ slots: { current: 'test-running' } }));
  const m = manifest(dir) as { inputs: Record<string, unknown> };
  edit(m.inputs);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(m));
  writeFileSync(join(dir, 'applied.json'), JSON.stringify({ appliedAt: new Date().toISOString(), mode: 'dry-run', source: 'plan/next', sha256: {} }));
}


const eventsLog = (root: string) => (existsSync(join(root, 'var/log/gatehouse/events.log')) ? readFileSync(join(root, 'var/log/gatehouse/events.log'), 'utf8') : '');
const events = (root: string) => eventsLog(root).split('\n').filter((l) => / Event: /.test(l)).length;

describe('firewall-adjust records how long the time windows hold', () => {
  it('Europe/Rome: the rule with a window, the horizon 400 days ahead (less the day of margin), the next change past it', () => {
    const before = Date.now();
    const root = sampleRoot('Europe/Rome');
    const tw = manifest(planDir(root, 'next')).inputs.timeWindows!;
    expect(tw['rules']).toEqual(['5']);
    expect(tw['timeZone']).toBe('Europe/Rome');
    const horizon = Date.parse(tw['horizon'] as string);
    expect(horizon).toBeGreaterThanOrEqual(before + 399 * DAY);
    expect(horizon).toBeLessThanOrEqual(Date.now() + 400 * DAY);
    const change = Date.parse(tw['nextChange'] as string);
    expect(tw['holdsUntil']).toBe(tw['nextChange']);
    // Europe/Rome changes at 01:00 UTC, within seven months of any moment.
    expect(change).toBeGreaterThan(horizon);
    expect(change - horizon).toBeLessThan(215 * DAY);
    expect(new Date(change).toISOString()).toMatch(/^\d{4}-(03|10)-\d\dT01:00:00\.000Z$/);
    expect(eventsLog(root)).toContain(`S80compile: time windows of 1 rule hold until ${tw['holdsUntil'] as string} (Europe/Rome)`);
  });

  it('with no enabled rule limited in time the record says so (nothing to renew); a zone without changes has no next change', () => {
    const root = sampleRoot('Asia/Tokyo');
    const tw = manifest(planDir(root, 'next')).inputs.timeWindows!;
    expect(tw['nextChange']).toBeUndefined();
    expect(Date.parse(tw['holdsUntil'] as string) - Date.parse(tw['horizon'] as string)).toBe(400 * DAY);
    expect(run('db', ['--root', root, 'fwrules', 'setprop', '5', 'status', 'disabled']).status).toBe(0);
    expect(run('signal-event', ['--root', root, 'firewall-adjust']).status).toBe(0);
    expect(manifest(planDir(root, 'next')).inputs.timeWindows).toEqual({ rules: [] });
  });
});

describe('gatehouse renew-time-windows', () => {
  let root: string;
  beforeAll(() => {
    root = sampleRoot('Europe/Rome');
  }, 60_000);

  it('nothing applied: says so and runs nothing', () => {
    const n = events(root);
    const r = run('gatehouse', ['renew-time-windows', '--root', root]);
    expect(r, r.stderr).toMatchObject({ status: 0, stdout: 'no plan has been applied: nothing to renew\n' });
    expect(events(root)).toBe(n);
  });

  it('not due (a fresh plan holds for more than 400 days): says until when, runs nothing', () => {
    runAsApplied(root);
    const n = events(root);
    const r = run('gatehouse', ['renew-time-windows', '--root', root]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^the time windows hold until \S+ \(Europe\/Rome changes its UTC offset then\): nothing to renew before \S+\n$/);
    expect(events(root)).toBe(n);
  });

  it('due (they run out within --within days): runs firewall-adjust, and events.log says why before the event', () => {
    runAsApplied(root, (inputs) => void ((inputs['timeWindows'] as Record<string, string>)['holdsUntil'] = new Date(Date.now() + 200 * DAY).toISOString()));
    const n = events(root);
    const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '365']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^the time windows of fwrules\/5 hold until \S+ \(Europe\/Rome changes its UTC offset then\), within 365 days: renewing them with firewall-adjust\n/);
    expect(r.stdout).toMatch(/firewall-adjust ran \d+ actions in \d+ ms in dry-run: nothing applied/);
    expect(events(root)).toBeGreaterThan(n);
    const log = eventsLog(root).split('\n');
    const why = log.findIndex((l) => l.includes('renew-time-windows: the time windows of fwrules/5 hold until'));
    expect(why).toBeGreaterThanOrEqual(0);
    expect(log[why + 1]).toMatch(/ Event: firewall-adjust /);
  });

  it('run out (the record says the change is past): renews', () => {
    runAsApplied(root, (inputs) => {
      const tw = inputs['timeWindows'] as Record<string, string>;
      tw['holdsUntil'] = tw['nextChange'] = new Date(Date.now() - 2 * DAY).toISOString();
    });
    const r = run('gatehouse', ['renew-time-windows', '--root', root]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^the time windows of fwrules\/5 ran out at \S+ \(Europe\/Rome changes its UTC offset then\): they are off by the change since; renewing them with firewall-adjust\n/);
  });

  it('no time windows, no record, a stopped firewall: says why and runs nothing', () => {
    const cases: [(inputs: Record<string, unknown>) => void, string][] = [
      [(i) => void (i['timeWindows'] = { rules: [] }), 'no rule has a time window: nothing to renew\n'],
      [(i) => void delete i['timeWindows'], 'plan/current does not record how long its time windows hold (compiled from files by hand, or by an older Gatehouse): nothing renewed; signal-event firewall-adjust makes a plan that does\n'],
    ];
    for (const [edit, said] of cases) {
      runAsApplied(root, edit);
      const n = events(root);
      const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '365']);
      expect(r, r.stderr).toMatchObject({ status: 0, stdout: said });
      expect(events(root)).toBe(n);
    }
    runAsApplied(root, (inputs) => void ((inputs['timeWindows'] as Record<string, string>)['holdsUntil'] = new Date(Date.now() + 200 * DAY).toISOString()));
    writeFileSync(join(current(root), 'stopped.json'), JSON.stringify({ stoppedAt: new Date().toISOString(), mode: 'dry-run' }));
    const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '365']);
    expect(r.stdout).toContain('the firewall is stopped: nothing renewed');
  });

  it('due while an apply waits for confirmation: not now (events would refuse), nothing run; the next run renews', () => {
    runAsApplied(root, (inputs) => void ((inputs['timeWindows'] as Record<string, string>)['holdsUntil'] = new Date(Date.now() + 200 * DAY).toISOString()));
    const confirm = planDir(root, 'confirm.json');
    const deadline = new Date(Date.now() + 600_000).toISOString();
    writeFileSync(confirm, JSON.stringify({ token: 't', seconds: 600, plan: 'test-running', source: 'plan/next', mode: 'dry-run', pid: process.pid, start: 'test', deadline }));
    try {
      const n = events(root);
      const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '365']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`\nnot now: the apply of plan/next waits for \`gatehouse confirm\` until ${deadline}`);
      expect(r.stdout).toMatch(/; the next run renews them\n$/);
      expect(events(root)).toBe(n);
    } finally {
      rmSync(confirm, { force: true });
    }
  });

  it('refuses a --within that is not a number of days, or one no fresh plan gets out of (every run would renew, then fail)', () => {
    const r = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '-1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--within -1 is not a number of days');
    const long = run('gatehouse', ['renew-time-windows', '--root', root, '--within', '366']);
    expect(long.status).toBe(1);
    expect(long.stderr).toContain('give a number of days between 0 and 365 (a plan an event just made holds for at least 399)');
  });
});

describe('gatehouse status', () => {
  it('shows until when the time windows hold, and warns once they run out within 30 days or have', () => {
    const root = sampleRoot('Europe/Rome');
    runAsApplied(root);
    const ok = run('gatehouse', ['status', '--root', root]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/\ntime windows: 1 rule \(fwrules\/5\), written for Europe\/Rome up to \S+; they hold until \S+ \(Europe\/Rome changes its UTC offset then\)\n/);
    expect(ok.stdout).not.toContain('warning: time windows');
    runAsApplied(root, (inputs) => void ((inputs['timeWindows'] as Record<string, string>)['holdsUntil'] = new Date(Date.now() + 10 * DAY + 3_600_000).toISOString()));
    expect(run('gatehouse', ['status', '--root', root]).stdout).toContain('\nwarning: time windows run out in 11 days: gatehouse renew-time-windows (its daily timer) or signal-event firewall-adjust renews them\n');
    runAsApplied(root, (inputs) => void ((inputs['timeWindows'] as Record<string, string>)['holdsUntil'] = new Date(Date.now() - 3 * DAY - 3_600_000).toISOString()));
    expect(run('gatehouse', ['status', '--root', root]).stdout).toContain("\nwarning: time windows ran out 4 days ago: they are off by Europe/Rome's offset change");
    // Stopped: the stopped ruleset has no windows and the renewal leaves it alone, so no warning names the renewal.
    writeFileSync(join(current(root), 'stopped.json'), JSON.stringify({ stoppedAt: new Date().toISOString(), mode: 'dry-run' }));
    const stopped = run('gatehouse', ['status', '--root', root]);
    expect(stopped.stdout).toMatch(/\ntime windows: 1 rule \(fwrules\/5\), .*; not in force while the firewall is stopped \(gatehouse renew-time-windows looks at them again once it runs\)\n/);
    expect(stopped.stdout).not.toContain('warning: time windows');
  });
});

describe('README', () => {
  it("the renewal commands run as written (GATEHOUSE_ROOT a temporary root, dry run), each saying what it found", () => {
    const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');
    const lines = readme
      .split('\n')
      .filter((l) => l.startsWith('    gatehouse renew-time-windows'))
      .map((l) => l.trim().replace(/\s+#.*$/, ''));
    expect(lines).toEqual(['gatehouse renew-time-windows', 'gatehouse renew-time-windows --within 60']);
    const root = sampleRoot('Europe/Rome');
    runAsApplied(root);
    for (const line of lines) {
      const [name, ...args] = line.split(/\s+/);
      const r = spawnSync(process.execPath, [join(projectDir, 'bin', `${name!}.js`), ...args], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_ROOT: root, GATEHOUSE_APPLY: 'dry-run' } });
      expect(r.status, `${line}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^the time windows hold until \S+ \(Europe\/Rome changes its UTC offset then\): nothing to renew before /);
    }
  });
});
