/**
 * `gatehouse status` never leaks its scratch namespace (gh-ref-*): interrupted by SIGINT,
 * SIGTERM or SIGHUP while the namespace exists, it removes it and ends by that signal; killed
 * outright (SIGKILL), the next status sweeps it, and never one whose creator still runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, scratchCreator } from '../../src/apply/index.js';
import { planPaths, processStart } from '../../src/plan/index.js';
import { labUnavailableReason } from '../lab/lab.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { largePlan, temporaryRoot, writePlanFiles } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
const refsOf = (pid: number): string[] => namespaces().filter((n) => scratchCreator(n)?.pid === pid);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(why)('gatehouse status leaves no scratch namespace behind', () => {
  const ns = `gh-stat-${randomBytes(3).toString('hex')}`;
  let root: string;
  const made: string[] = [];

  beforeAll(async () => {
    await buildProjectIfStale();
    execFileSync('ip', ['netns', 'add', ns]);
    root = await temporaryRoot();
    // A large plan, so that working out what the kernel should hold takes a moment to interrupt.
    await applyPlan(root, { mode: { kind: 'netns', name: ns }, planDir: await writePlanFiles(join(root, 'plan'), largePlan(40001)) });
  }, 120_000);
  afterAll(async () => {
    for (const n of [ns, ...made]) {
      try {
        execFileSync('ip', ['netns', 'del', n]);
      } catch {
        // already gone
      }
    }
    if (root) await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // Without what a status kept, the next one loads the plan into a scratch namespace again.
    await rm(join(planPaths(root).current, 'records'), { recursive: true, force: true });
  });

  /** Starts status and resolves once its scratch namespace exists (undefined if it ended first). */
  async function statusWithScratch(): Promise<{ child: ReturnType<typeof spawn>; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; ref?: string }> {
    const child = spawn('node', [join(projectDir, 'bin/gatehouse.js'), 'status', '--root', root], { stdio: 'ignore' });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    for (let i = 0; i < 400 && child.exitCode === null; i++) {
      const [ref] = refsOf(child.pid!);
      if (ref) return { child, exit, ref };
      await sleep(10);
    }
    return { child, exit };
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} while the scratch namespace exists: it is removed and status ends by the signal`, async () => {
      let tries = 0;
      for (;;) {
        const { child, exit, ref } = await statusWithScratch();
        if (ref === undefined) {
          // Finished before we saw it (a fast machine): try again, a few times.
          expect(++tries, 'status never showed its scratch namespace').toBeLessThan(5);
          await exit;
          await rm(join(planPaths(root).current, 'records'), { recursive: true, force: true });
          continue;
        }
        child.kill(signal);
        const ended = await exit;
        expect(ended.signal).toBe(signal);
        // `ip netns add` may still have been running: then the next status sweeps what it left.
        if (refsOf(child.pid!).length > 0) {
          const next = await execa('node', [join(projectDir, 'bin/gatehouse.js'), 'status', '--root', root], { reject: false });
          expect(next.exitCode, next.stderr).toBe(0);
        }
        expect(refsOf(child.pid!)).toEqual([]);
        return;
      }
    }, 60_000);
  }

  it('SIGKILL leaves it behind; the next status sweeps it, and keeps one whose creator runs', async () => {
    const { child, exit, ref } = await statusWithScratch();
    expect(ref).toBeDefined();
    child.kill('SIGKILL');
    await exit;
    // One of a live creator (this test process), made by hand: not to be swept.
    const live = `gh-ref-${process.pid}-${processStart(process.pid)}-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', live]);
    made.push(live);
    const next = await execa('node', [join(projectDir, 'bin/gatehouse.js'), 'status', '--root', root], { reject: false });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/kernel: matches/);
    expect(namespaces()).not.toContain(ref);
    expect(namespaces()).toContain(live);
  }, 60_000);
});
