/**
 * The plan directories under $ROOT/var/lib/gatehouse/plan: `next` (compiled, waiting),
 * `current` (in the kernel), `previous` (kept for rollback), `rejected` (rolled back
 * after no confirmation). Directory moves are renames, so each is all-or-nothing.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { runtimePaths } from '../layout/index.js';
import type { ApplyMode } from './mode.js';
import { PLAN_FILES, type Plan, type PlanFileName } from './plan.js';
import type { KernelSnapshot } from './kernel.js';

export interface PlanPaths {
  base: string;
  next: string;
  current: string;
  previous: string;
  rejected: string;
  /** The previous plan set aside while an apply may still fail. */
  asidePrevious: string;
  /** The new current plan being written before its rename. */
  staging: string;
}

export function planPaths(root: string): PlanPaths {
  const base = runtimePaths(root).planDir;
  return {
    base,
    next: join(base, 'next'),
    current: join(base, 'current'),
    previous: join(base, 'previous'),
    rejected: join(base, 'rejected'),
    asidePrevious: join(base, '.previous-aside'),
    staging: join(base, '.current-staging'),
  };
}

/** What `applied.json` in a plan directory records. */
export interface AppliedRecord {
  appliedAt: string;
  mode: string;
  /** Where the plan came from. */
  source: string;
  sha256: Record<PlanFileName, string>;
}

/** What `stopped.json` records once `gatehouse stop` loaded the stopped ruleset. */
export interface StoppedRecord {
  stoppedAt: string;
  mode: string;
}

export const KERNEL_SNAPSHOT_FILES = { v4: 'kernel.v4', v6: 'kernel.v6' } as const;

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Holds the plan lock while `work` runs: two applies never interleave their renames. */
export async function withPlanLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  const { base } = planPaths(root);
  await mkdir(base, { recursive: true });
  const release = await lockfile.lock(base, { retries: { retries: 50, minTimeout: 100, maxTimeout: 500 }, stale: 120_000, realpath: false });
  try {
    return await work();
  } finally {
    await release();
  }
}

/** Writes a plan's files (from memory) into `dir`, replacing what was there. */
export async function writePlanFiles(dir: string, plan: Plan): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await Promise.all([
    ...PLAN_FILES.map((name) => writeFile(join(dir, name), plan.files[name])),
    ...Object.entries(plan.extras ?? {}).map(([name, text]) => writeFile(join(dir, name), text)),
  ]);
}

/** Writes what was applied, and what the kernel showed for the families it kept, beside the plan's files. */
export async function writeAppliedRecords(dir: string, applied: AppliedRecord, snapshot: Partial<KernelSnapshot>): Promise<void> {
  await Promise.all([writeJson(join(dir, 'applied.json'), applied), writeSnapshot(dir, snapshot)]);
}

/**
 * Keeps, per family, the normalised save the kernel shows for this plan in its present
 * state (running or stopped). Whoever changes that state clears it first.
 */
export async function writeSnapshot(dir: string, snapshot: Partial<KernelSnapshot>): Promise<void> {
  await Promise.all(
    (['v4', 'v6'] as const).map((f) => (snapshot[f] === undefined ? undefined : writeFile(join(dir, KERNEL_SNAPSHOT_FILES[f]), snapshot[f]))),
  );
}

export async function clearSnapshot(dir: string): Promise<void> {
  await Promise.all(Object.values(KERNEL_SNAPSHOT_FILES).map((f) => rm(join(dir, f), { force: true })));
}

export async function readSnapshot(dir: string): Promise<Partial<KernelSnapshot>> {
  const [v4, v6] = await Promise.all(
    (['v4', 'v6'] as const).map((f) => readFile(join(dir, KERNEL_SNAPSHOT_FILES[f]), 'utf8').catch(() => undefined)),
  );
  return { ...(v4 !== undefined ? { v4 } : {}), ...(v6 !== undefined ? { v6 } : {}) };
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}

/** Moves `from` to `to` (replacing `to`); a missing `from` is fine. */
export async function moveDir(from: string, to: string): Promise<void> {
  if (!(await exists(from))) return;
  await rm(to, { recursive: true, force: true });
  await rename(from, to);
}

export function appliedRecord(plan: Plan, mode: ApplyMode, source: string, now = new Date()): AppliedRecord {
  return {
    appliedAt: now.toISOString(),
    mode: mode.kind === 'netns' ? `netns:${mode.name}` : mode.kind,
    source,
    sha256: plan.digests,
  };
}
