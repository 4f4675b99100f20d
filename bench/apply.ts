/**
 * Apply benchmark: a 5,000-rule plan (zone-pair chains) applied into a throwaway
 * network namespace with applyPlan, against `iptables-restore` alone of the same
 * rules.v4 (the kernel floor), measured in the same run. Every apply changes rules.v4
 * (as a database change would), so no run can pass for an unchanged one; rules.v6 is
 * small, large and changed, or large and unchanged. Needs root; skips otherwise.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { applyPlan, firewallStatus } from '../src/apply/index.js';
import { planPaths } from '../src/plan/index.js';
import { writeBenchPlan, zonePairRuleset } from './_plans.js';
import { median, timeAsync } from './_measure.js';

const RULES = 5000;
const RUNS = 7;


interface PlanShape {
  v4Variant: number;
  v6Rules: number;
  v6Variant: number;
}

async function writePlan(dir: string, shape: PlanShape): Promise<string> {
  return writeBenchPlan(dir, zonePairRuleset(4, RULES, shape.v4Variant), zonePairRuleset(6, shape.v6Rules, shape.v6Variant));
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.log('skipped: the apply benchmark needs root (it builds a network namespace)');
    return 0;
  }
  const ns = `ghbench-${randomBytes(3).toString('hex')}`;
  // The floor runs in a namespace of its own: a whole-table restore into the target would replace what Gatehouse owns there.
  const floorNs = `${ns}-fl`;
  const cleanup = (): void => {
    for (const name of [ns, floorNs]) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (cleanup(), process.exit(130)));
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  try {
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['netns', 'add', floorNs]);
    const mode = { kind: 'netns' as const, name: ns };
    // Run i applies four plans, each with a rules.v4 no earlier plan had.
    const plans: { small: string; large: string; largeSameV6: string; largeSameV6Known: string }[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const v4 = 4 * i;
      plans.push({
        small: await writePlan(join(root, `plan-${i}-small-v6`), { v4Variant: v4, v6Rules: 50, v6Variant: v4 }),
        large: await writePlan(join(root, `plan-${i}-large-v6`), { v4Variant: v4 + 1, v6Rules: RULES, v6Variant: v4 + 1 }),
        largeSameV6: await writePlan(join(root, `plan-${i}-large-v6-same`), { v4Variant: v4 + 2, v6Rules: RULES, v6Variant: v4 + 1 }),
        largeSameV6Known: await writePlan(join(root, `plan-${i}-large-v6-same-known`), { v4Variant: v4 + 3, v6Rules: RULES, v6Variant: v4 + 1 }),
      });
    }
    const rulesV4 = zonePairRuleset(4, RULES, 5000);
    const floor = () => execa('ip', ['netns', 'exec', floorNs, 'iptables-restore'], { input: rulesV4 });

    // Warm up both paths once (first load creates the tables and chains).
    await floor();
    const warm = plans[RUNS]!;
    await applyPlan(root, { mode, planDir: warm.small });
    await applyPlan(root, { mode, planDir: warm.large });
    const floorMs: number[] = [];
    const smallMs: number[] = [];
    const largeMs: number[] = [];
    const largeSameMs: number[] = [];
    const largeSameKnownMs: number[] = [];
    const reused: string[] = [];
    const reusedKnown: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const p = plans[i]!;
      floorMs.push(await timeAsync(floor));
      smallMs.push(await timeAsync(() => applyPlan(root, { mode, planDir: p.small })));
      largeMs.push(await timeAsync(() => applyPlan(root, { mode, planDir: p.large })));
      largeSameMs.push(
        await timeAsync(async () => {
          const outcome = (await applyPlan(root, { mode, planDir: p.largeSameV6 })) as { unchanged?: string[] };
          reused.push((outcome.unchanged ?? []).join(',') || 'none');
        }),
      );
      // `gatehouse status` (not timed) settles what the kernel should hold for the running plan.
      await firewallStatus(root);
      largeSameKnownMs.push(
        await timeAsync(async () => {
          const outcome = (await applyPlan(root, { mode, planDir: p.largeSameV6Known })) as { unchanged?: string[] };
          reusedKnown.push((outcome.unchanged ?? []).join(',') || 'none');
        }),
      );
    }
    const f = median(floorMs);
    const rows: [string, number][] = [
      [`iptables-restore of rules.v4 alone (${RULES} rules, floor)`, f],
      [`applyPlan: rules.v4 (${RULES}) changed, rules.v6 (50) changed`, median(smallMs)],
      [`applyPlan: rules.v4 (${RULES}) changed, rules.v6 (${RULES}) changed`, median(largeMs)],
      [`applyPlan: rules.v4 (${RULES}) changed, rules.v6 (${RULES}) unchanged [not reloaded: ${[...new Set(reused)].join(' / ')}]`, median(largeSameMs)],
      [`applyPlan: the same, after a status run [not reloaded: ${[...new Set(reusedKnown)].join(' / ')}]`, median(largeSameKnownMs)],
    ];
    console.log(`median of ${RUNS} runs, namespace ${ns}, plan dir ${planPaths(root).base}; every apply: 200-entry ipset, sysctls, plan kept for rollback`);
    for (const [label, ms] of rows) console.log(`${ms.toFixed(1).padStart(9)} ms  ${(ms / f).toFixed(2)}x floor  ${label}`);
    return 0;
  } finally {
    cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
