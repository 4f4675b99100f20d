/**
 * Fault tests: `gatehouse apply` killed (SIGKILL, SIGTERM, SIGHUP) at many points of a
 * real apply of a large plan, in a namespace of the test's own, and `apply --confirm` killed
 * at points before and after the plan is in (the previous plan is back by the deadline). After each kill, status,
 * stop and a new apply must work at once; recovery puts both families on one plan; the
 * lock is never stale and nothing piles up in the plan store.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan, readPending, recoverPlanStore } from '../../src/apply/index.js';
import { holderAlive, planPaths } from '../../src/plan/index.js';
import { labUnavailableReason } from '../lab/lab.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { largePlan, temporaryRoot, writePlanFiles, endProcessesAndNamespace } from './plans.js';

// A few kills run in the normal suite (well under a minute); many points with GATEHOUSE_KILL_TESTS=1.
const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);
const MANY = process.env['GATEHOUSE_KILL_TESTS'] === '1';
if (!why && !MANY) console.warn('kill test: 4 kills; GATEHOUSE_KILL_TESTS=1 kills at 6 points for each signal, and 4 of apply --confirm');

const node = (args: string[]) => execa('node', [join(projectDir, 'bin/gatehouse.js'), ...args], { reject: false });

describe.skipIf(why)('apply killed at any point: status, stop and the next apply work at once', () => {
  const ns = `gh-kill-${randomBytes(3).toString('hex')}`;
  let root: string;
  let plans: Record<number, string>;
  let applySeconds = 1;
  const watchdogs = new Set<number>();

  const markers = async (): Promise<{ v4: number[]; v6: number[] }> => {
    const find = (save: string) => [...save.matchAll(/-A (?:gatehouse-)?OUTPUT -p udp -m udp --dport (4000\d) -j ACCEPT/g)].map((m) => Number(m[1]));
    const [v4, v6] = await Promise.all(['iptables-save', 'ip6tables-save'].map((c) => execa('ip', ['netns', 'exec', ns, c]).then((r) => r.stdout)));
    return { v4: find(v4!), v6: find(v6!) };
  };

  beforeAll(async () => {
    await buildProjectIfStale();
    execFileSync('ip', ['netns', 'add', ns]);
    root = await temporaryRoot();
    plans = {};
    for (const m of [40001, 40002]) plans[m] = await writePlanFiles(join(root, `plan-${m}`), largePlan(m));
    await applyPlan(root, { mode: { kind: 'netns', name: ns }, planDir: plans[40001]! });
    const started = Date.now();
    const r = await node(['apply', '--root', root, '--apply', `netns:${ns}`, '--plan', plans[40002]!]);
    expect(r.stderr).toBe('');
    applySeconds = (Date.now() - started) / 1000;
  }, 120_000);

  afterAll(async () => {
    endProcessesAndNamespace(watchdogs, ns);
    if (root) await rm(root, { recursive: true, force: true });
  });

  const seen = new Set<string>();

  /**
   * Starts an apply of plan `to` (the plan in force is the other one), kills it with
   * `signal` after `delay` ms, then checks that status, recovery, stop and the next apply
   * work at once and leave one plan, both families, and nothing behind.
   */
  async function killRound(round: number, signal: NodeJS.Signals, delay: number, confirm: boolean): Promise<void> {
    const to = round % 2 === 0 ? 40001 : 40002;
    const from = to === 40001 ? 40002 : 40001;
    const args = ['apply', '--root', root, '--apply', `netns:${ns}`, '--plan', plans[to]!, ...(confirm ? ['--confirm', '2'] : [])];
    const child = spawn('node', [join(projectDir, 'bin/gatehouse.js'), ...args], { stdio: 'ignore' });
    // Listened for from the start: an apply that ends before the kill must not leave the test waiting forever.
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, delay));
    if (child.exitCode !== null) seen.add('finished before the kill');
    child.kill(signal);
    await exited;
    const context = `round ${round}: ${signal} of ${confirm ? 'apply --confirm' : 'apply'} after ${delay} ms`;

    // status answers at once (rolling back first only an unconfirmed plan past its deadline).
    const t0 = Date.now();
    const status = await node(['status', '--root', root]);
    expect([0, 2], `${context}: status ${status.stderr}`).toContain(status.exitCode);
    if (/interrupted/.test(status.stdout)) seen.add('interrupted');

    if (confirm) {
      // Nobody confirms: whatever point the apply reached, the plan before is in force by the deadline.
      const pending = await readPending(root);
      if (pending?.watchdog) watchdogs.add(pending.watchdog.pid);
      if (pending?.deadline) {
        seen.add('killed while waiting for confirmation');
        await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(pending.deadline!) - Date.now()) + 100));
      }
      const after = await node(['status', '--root', root]);
      expect(after.exitCode, `${context}: ${after.stdout} ${after.stderr}`).toBe(0);
      expect(await readPending(root), context).toBeUndefined();
      expect(await markers(), context).toEqual({ v4: [from], v6: [from] });
    } else if (round % 3 === 0) {
      // Recovery alone: both families on one plan, the old one or the new one.
      const said = await recoverPlanStore(root);
      if (said) seen.add('recovered');
      const m = await markers();
      expect(m.v4, `${context}: ${said ?? 'nothing to recover'}`).toEqual(m.v6);
      expect(m.v4.length, context).toBe(1);
    }
    const t1 = Date.now();
    if (round % 2 === 1) {
      const stop = await node(['stop', '--root', root, '--apply', `netns:${ns}`]);
      expect(stop.exitCode, `${context}: stop ${stop.stderr}`).toBe(0);
      expect(await markers(), context).toEqual({ v4: [], v6: [] });
    }
    const apply = await node(['apply', '--root', root, '--apply', `netns:${ns}`, '--plan', plans[to]!]);
    expect(apply.exitCode, `${context}: apply ${apply.stderr}`).toBe(0);
    // No waiting on a stale lock: each command takes about as long as an apply (generous for a loaded machine).
    const seconds = (Date.now() - t1 + (confirm ? 0 : t1 - t0)) / 1000;
    expect(seconds, `${context}: status, stop and apply took ${seconds}s`).toBeLessThan(20 + applySeconds * 4);
    expect(await markers(), context).toEqual({ v4: [to], v6: [to] });
    const after = await node(['status', '--root', root]);
    expect(after.exitCode, `${context}: ${after.stdout}`).toBe(0);

    // Nothing piles up: no lock left, at most current and previous stored (and the one plan a rollback rejected).
    const base = planPaths(root).base;
    expect(existsSync(planPaths(root).lock), context).toBe(false);
    const stored = readdirSync(join(base, 'plans'));
    expect(stored.length, `${context}: ${stored.join(' ')}`).toBeLessThanOrEqual(existsSync(planPaths(root).rejected) ? 3 : 2);
    expect(readdirSync(base).filter((n) => !['plans', 'state.json', 'current', 'previous', 'rejected'].includes(n)), context).toEqual([]);
  }

  const signals = ['SIGKILL', 'SIGTERM', 'SIGHUP'] as const;
  // Kill points spread from the process start to the end of a whole apply.
  const points = MANY ? 6 : 1;
  const rounds = [
    ...Array.from({ length: signals.length * points }, (_, i) => ({ signal: signals[i % signals.length]!, point: (Math.floor(i / signals.length) + 0.5) / points, confirm: false })),
    ...(MANY ? [0.3, 0.6, 0.9, 1.5] : [0.6]).map((point) => ({ signal: 'SIGKILL' as const, point, confirm: true })),
  ];
  it(`recovers after ${rounds.length} kills spread over apply and apply --confirm`, async () => {
    for (const [round, { signal, point, confirm }] of rounds.entries()) await killRound(round, signal, Math.round(point * applySeconds * 1000), confirm);
    const sets = execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'list', '-n'], { encoding: 'utf8' }).trim().split('\n');
    expect(sets).toEqual(['gw_blocked']);
    for (const pid of watchdogs) expect(holderAlive({ pid, start: '' }), `watchdog ${pid} still runs`).toBe(false);
    console.log(`kill test: apply took ${applySeconds.toFixed(2)} s; ${rounds.length} kills; seen: ${[...seen].join(', ') || 'no interrupted transition'}`);
  }, MANY ? 900_000 : 240_000);
});
