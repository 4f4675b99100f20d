/**
 * The plan store: the directories under $ROOT/var/lib/gatehouse/plan. `next` (compiled,
 * waiting), `current` (in the kernel), `previous` (kept for rollback), `rejected` (rolled
 * back after no confirmation). Only this module writes them; moves are renames, so each
 * directory is whole or absent.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { runtimePaths } from '../layout/index.js';
import { loadedPlanDirectoryFiles, planDirectoryFiles } from './files.js';
import type { LoadedPlan } from './read.js';
import { formatApplyMode, type ApplyMode } from './target.js';
import type { Plan } from './types.js';

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
  /** sha256 of every file of the plan. */
  sha256: Record<string, string>;
}

/** What `stopped.json` records once `gatehouse stop` loaded the stopped state. */
export interface StoppedRecord {
  stoppedAt: string;
  mode: string;
}

/** Per part, what it kept beside the running plan (see PartApplyResult.record). */
export const RECORDS_DIR = 'records';

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

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Promise.all(Object.keys(files).map((name) => writeFile(join(dir, name), files[name] ?? '')));
}

/** Writes `plan` as the directory `out`: every file into a fresh sibling folder, then swapped in by renames. */
export async function writePlanDir(out: string, plan: Plan): Promise<void> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const staging = join(parent, `.${basename(out)}.write-${tag}`);
  const old = join(parent, `.${basename(out)}.old-${tag}`);
  await mkdir(staging);
  try {
    await writeFiles(staging, planDirectoryFiles(plan));
    if (await exists(out)) await rename(out, old);
    await rename(staging, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** Writes a loaded plan's files into `dir`, replacing what was there. */
export async function writeLoadedPlan(dir: string, loaded: LoadedPlan): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFiles(dir, loadedPlanDirectoryFiles(loaded));
}

/** Writes what was applied, and what each part kept, beside the plan's files. */
export async function writeAppliedRecords(dir: string, applied: AppliedRecord, records: Record<string, string>): Promise<void> {
  await Promise.all([writeJson(join(dir, 'applied.json'), applied), writeRecords(dir, records)]);
}

export async function writeRecords(dir: string, records: Record<string, string>): Promise<void> {
  if (Object.keys(records).length === 0) return;
  await mkdir(join(dir, RECORDS_DIR), { recursive: true });
  await Promise.all(Object.entries(records).map(([part, text]) => writeFile(join(dir, RECORDS_DIR, part), text)));
}

/** Forgets what the parts kept: whoever changes the kernel state of the plan clears them first. */
export async function clearRecords(dir: string): Promise<void> {
  await rm(join(dir, RECORDS_DIR), { recursive: true, force: true });
}

export async function readRecords(dir: string): Promise<Record<string, string>> {
  const names = await readdir(join(dir, RECORDS_DIR)).catch(() => [] as string[]);
  const entries = await Promise.all(names.map(async (n) => [n, await readFile(join(dir, RECORDS_DIR, n), 'utf8').catch(() => undefined)] as const));
  return Object.fromEntries(entries.filter((e): e is readonly [string, string] => e[1] !== undefined));
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

export function appliedRecord(plan: LoadedPlan, mode: ApplyMode, source: string, now = new Date()): AppliedRecord {
  return { appliedAt: now.toISOString(), mode: formatApplyMode(mode), source, sha256: plan.digests };
}
