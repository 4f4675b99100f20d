/**
 * Apply figures as an administrator types the commands (`gatehouse apply ...`, a fresh
 * process each time, in a throwaway network namespace), against the kernel floor measured
 * in the same run: `iptables-restore` and `ip6tables-restore` of the same two rulesets
 * (5,000 rules each), run as commands too, in a second namespace.
 *   - apply of a changed plan (the other of two plans differing in one rule per family);
 *   - apply of the plan already in force (unchanged), right after its apply, and after a
 *     `gatehouse status` (which keeps what the kernel should show, so nothing is reloaded);
 *   - recovery after SIGKILL: `gatehouse apply` killed while it changes the kernel (seen in
 *     the journal), then the next `gatehouse apply`, which first puts the kernel back on one
 *     plan, then applies; and `gatehouse status` right after the kill.
 * Medians of RUNS runs; the load average is printed before and after. Needs root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { projectDir } from '../src/layout/index.js';
import { planPaths } from '../src/plan/index.js';
import { median, timeAsync } from './_measure.js';
import { writeBenchPlan, zonePairRuleset } from './_plans.js';

const RULES = 5000;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
async function writePlan(dir: string, variant: number): Promise<{ dir: string; v4: string; v6: string }> {
  const v4 = zonePairRuleset(4, RULES, variant);
  const v6 = zonePairRuleset(6, RULES, variant);
  return { dir: await writeBenchPlan(dir, v4, v6), v4, v6 };
}

const bin = join(projectDir(), 'bin/gatehouse.js');

/** The parts an apply's outcome line says were left in the kernel. */
function notReloaded(stdout: string): string {
  return /; (.*) unchanged and still in the kernel/.exec(stdout)?.[1] ?? 'none';
}


function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the apply-commands benchmark needs root (it builds network namespaces)');
    return 0;
  }
  const ns = `ghbench-${randomBytes(3).toString('hex')}`;
  const floorNs = `ghbenchf-${randomBytes(3).toString('hex')}`;
  const cleanup = (): void => {
    for (const n of [ns, floorNs]) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (cleanup(), process.exit(130)));
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-cmd-'));
  const loadBefore = load();
  try {
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['netns', 'add', floorNs]);
    const plans = [await writePlan(join(root, 'plan-a'), 1), await writePlan(join(root, 'plan-b'), 2)];
    const apply = (plan: string) => execa('node', [bin, 'apply', '--root', root, '--apply', `netns:${ns}`, '--plan', plan]);
    const floor = async () => {
      await execa('ip', ['netns', 'exec', floorNs, 'iptables-restore'], { input: plans[0]!.v4 });
      await execa('ip', ['netns', 'exec', floorNs, 'ip6tables-restore'], { input: plans[0]!.v6 });
    };
    // Warm-up: the tables exist, a plan is in force.
    await floor();
    await apply(plans[0]!.dir);
    await apply(plans[1]!.dir);
    let inForce = 1;

    const floorMs: number[] = [];
    const changedMs: number[] = [];
    const unchangedMs: number[] = [];
    const unchangedKnownMs: number[] = [];
    const kept: string[] = [];
    const keptKnown: string[] = [];
    const recoveryMs: number[] = [];
    const statusAfterKillMs: number[] = [];
    let interrupted = 0;
    for (let i = 0; i < RUNS; i++) {
      floorMs.push(await timeAsync(floor));
      const other = 1 - inForce;
      changedMs.push(await timeAsync(() => apply(plans[other]!.dir)));
      inForce = other;
      unchangedMs.push(await timeAsync(async () => kept.push(notReloaded((await apply(plans[inForce]!.dir)).stdout))));
      // A status (not timed) keeps what the kernel should show for each family.
      await execa('node', [bin, 'status', '--root', root], { reject: false });
      unchangedKnownMs.push(await timeAsync(async () => keptKnown.push(notReloaded((await apply(plans[inForce]!.dir)).stdout))));

      // SIGKILL while the kernel is being changed (the journal names the process), then the next apply.
      const target = 1 - inForce;
      const child = spawn('node', [bin, 'apply', '--root', root, '--apply', `netns:${ns}`, '--plan', plans[target]!.dir], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const state = (() => {
          try {
            return JSON.parse(readFileSync(planPaths(root).state, 'utf8')) as { transition?: { pid: number } };
          } catch {
            return {};
          }
        })();
        if (state.transition?.pid === child.pid || child.exitCode !== null || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      if (child.exitCode === null) interrupted++;
      child.kill('SIGKILL');
      await exited;
      statusAfterKillMs.push(await timeAsync(() => execa('node', [bin, 'status', '--root', root], { reject: false })));
      recoveryMs.push(await timeAsync(() => apply(plans[target]!.dir)));
      inForce = target;
    }
    const f = median(floorMs);
    const rows: [string, number][] = [
      [`iptables-restore + ip6tables-restore of the same rulesets (${RULES} rules each; floor)`, f],
      [`gatehouse apply, plan unchanged (already in force) [not reloaded: ${[...new Set(kept)].join(' / ')}]`, median(unchangedMs)],
      [`gatehouse apply, plan unchanged, after a gatehouse status [not reloaded: ${[...new Set(keptKnown)].join(' / ')}]`, median(unchangedKnownMs)],
      ['gatehouse apply, plan changed (one rule per family)', median(changedMs)],
      [`gatehouse status right after a SIGKILL of apply (${interrupted}/${RUNS} kills hit a kernel change)`, median(statusAfterKillMs)],
      ['gatehouse apply after a SIGKILL of apply (recovery to one plan, then the apply)', median(recoveryMs)],
    ];
    console.log(`whole commands (node bin/gatehouse.js), median of ${RUNS} runs, namespaces ${ns} and ${floorNs}; load average before: ${loadBefore}, after: ${load()}`);
    for (const [label, ms] of rows) console.log(`${ms.toFixed(0).padStart(7)} ms  ${(ms / f).toFixed(2)}x floor  ${label}`);
    const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}`;
    console.log(`ranges (ms): floor ${spread(floorMs)}; unchanged ${spread(unchangedMs)}; unchanged after status ${spread(unchangedKnownMs)}; changed ${spread(changedMs)}; status after kill ${spread(statusAfterKillMs)}; apply after kill ${spread(recoveryMs)}`);
    return 0;
  } finally {
    cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
