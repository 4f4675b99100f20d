/**
 * Concurrent compiles and reads: `gatehouse compile` processes rewrite plan/next again and
 * again from two different directories while this process reads it; every read must be one
 * plan, never rules.v4 of one compile with rules.v6 of another.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan, planPaths, readPlan } from '../../src/plan/index.js';
import { temporaryRoot } from '../apply/plans.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';

const GOLDEN = join(import.meta.dirname, '../golden/compile');

describe('plan/next read while compiles replace it', () => {
  let root: string;
  beforeAll(async () => {
    await buildProjectIfStale();
    root = await temporaryRoot();
  }, 120_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('every read is one whole plan', async () => {
    const sources = [join(GOLDEN, 'gateway/input'), join(GOLDEN, 'server-mode/input')];
    const whole = new Map<string, string>();
    for (const [i, dir] of sources.entries()) {
      const p = await compilePlan({ dir });
      whole.set(p.rulesV4 + p.rulesV6, ['gateway', 'server'][i]!);
    }
    let stop = false;
    const compiles = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await execa('node', [join(projectDir, 'bin/gatehouse.js'), 'compile', '--root', root, '--dir', sources[i % 2]!, '--apply', 'dry-run'], { reject: false });
        expect(r.stderr).toBe('');
      }
    })();
    const seen = new Set<string>();
    let reads = 0;
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      const plan = await readPlan(planPaths(root).next).catch((e: Error) => (/does not exist/.test(e.message) ? undefined : Promise.reject(e)));
      if (!plan) continue;
      reads++;
      const v4 = plan.plan.parts['filter.v4']!['rules.v4']!;
      const v6 = plan.plan.parts['filter.v6']!['rules.v6']!;
      const kind = whole.get(v4 + v6);
      expect(kind, `read ${reads}: rules.v4 and rules.v6 of different compiles`).toBeDefined();
      seen.add(kind!);
    }
    stop = true;
    await compiles;
    expect(reads).toBeGreaterThan(20);
    expect([...seen].sort()).toEqual(['gateway', 'server']);
  }, 60_000);
});
