/**
 * The plan store: $ROOT/var/lib/gatehouse/plan. Only this module writes it.
 *
 *     plans/<id>/        one directory per plan, written aside and renamed in whole; its plan
 *                        files never change afterwards (applied.json, stopped.json and records/
 *                        beside them say what happened to it)
 *     next, current, previous, rejected     symbolic links to plans/<id>, each replaced by a rename
 *     state.json         which plan is current, previous and rejected, and the transition in
 *                        progress (the journal): written aside and renamed, so always whole
 *     plan.lock          held by the one command changing the store or the kernel
 *
 * Every change is a rename, so a SIGKILL at any moment leaves the old or the new state, and a
 * transition that was under way is found in state.json by the next command, which puts the
 * kernel back on one plan as a whole (src/apply/recover.ts). A reader resolves a link once and
 * reads a directory that does not change: always one consistent plan. Plans no state and no
 * link names, and half-written directories of processes that no longer run, are removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, readlink, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { runtimePaths } from '../layout/index.js';
import { loadedPlanDirectoryFiles, planDirectoryFiles } from './files.js';
import { type HeldLock, acquireLock, holderAlive, processStart, tryLock } from './lock.js';
import type { LoadedPlan } from './read.js';
import { formatApplyMode, type ApplyMode } from './target.js';
import type { Plan } from './types.js';

export interface PlanPaths {
  base: string;
  /** The links (a hand-made plan may also be a plain directory at `next`). */
  next: string;
  current: string;
  previous: string;
  rejected: string;
  /** The plan directories the links point to. */
  plans: string;
  state: string;
  lock: string;
}

export function planPaths(root: string): PlanPaths {
  const base = runtimePaths(root).planDir;
  return {
    base,
    next: join(base, 'next'),
    current: join(base, 'current'),
    previous: join(base, 'previous'),
    rejected: join(base, 'rejected'),
    plans: join(base, 'plans'),
    state: join(base, 'state.json'),
    lock: join(base, 'plan.lock'),
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

export type Slot = 'current' | 'previous' | 'rejected';

/** A change of the kernel under way, written before the first kernel command. */
export interface Transition {
  action: 'apply' | 'rollback' | 'stop';
  pid: number;
  /** Start time of that process (see lock.ts), so a reused pid is not taken for it. */
  start: string;
  since: string;
  /** The apply mode the kernel was being changed in. */
  mode: string;
  /** What the kernel is put back on as a whole if the transition never finished. */
  recover: { plan: string; state: 'running' | 'stopped' } | { closed: string };
  /** The plan the kernel may partly hold: its parts and sets are removed on recovery. */
  partly?: string;
  /** The slots once recovered. */
  slots: Partial<Record<Slot, string>>;
}

export interface StoreState {
  slots: Partial<Record<Slot, string>>;
  transition?: Transition;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export function planDir(root: string, id: string): string {
  return join(planPaths(root).plans, id);
}

/** Writes a file whole: aside, flushed, then renamed over the old one. */
async function writeWhole(path: string, text: string, sync = false): Promise<void> {
  const aside = `${path}.${process.pid}-${randomBytes(3).toString('hex')}.tmp`;
  const handle = await open(aside, 'w', 0o644);
  try {
    await handle.writeFile(text);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(aside, path);
}

export async function readState(root: string): Promise<StoreState> {
  const text = await readFile(planPaths(root).state, 'utf8').catch(() => undefined);
  if (text === undefined) return { slots: {} };
  try {
    const state = JSON.parse(text) as StoreState;
    return { slots: state.slots ?? {}, ...(state.transition ? { transition: state.transition } : {}) };
  } catch {
    return { slots: {} };
  }
}

/** Replaces state.json (flushed to disk: it is the journal), then points the links at its slots. */
export async function writeState(root: string, state: StoreState): Promise<void> {
  const paths = planPaths(root);
  await mkdir(paths.base, { recursive: true });
  await writeWhole(paths.state, JSON.stringify(state, null, 2) + '\n', true);
  await Promise.all((['current', 'previous', 'rejected'] as const).map((slot) => pointLink(root, paths[slot], state.slots[slot])));
}

/** Makes `link` point at plans/<id> (or removes it), replacing it in one rename. */
async function pointLink(root: string, link: string, id: string | undefined): Promise<void> {
  const target = id === undefined ? undefined : relative(dirname(link), planDir(root, id));
  const now = await readlink(link).catch(() => undefined);
  if (now === target && target !== undefined) return;
  if (target === undefined) {
    await rm(link, { force: true, recursive: now === undefined });
    return;
  }
  const aside = `${link}.${process.pid}-${randomBytes(3).toString('hex')}.link`;
  await symlink(target, aside);
  try {
    await rename(aside, link);
  } catch (e) {
    // A plain directory there (a hand-made plan at `next`): set it aside, then take its place.
    if ((e as NodeJS.ErrnoException).code !== 'EISDIR' && (e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const old = `${link}.${process.pid}-${randomBytes(3).toString('hex')}.old`;
    await rename(link, old);
    await rename(aside, link);
    await rm(old, { recursive: true, force: true });
  }
}

/** The plans/<id> a path leads to, when it is inside the store. */
export async function storedPlanId(root: string, dir: string): Promise<string | undefined> {
  const [real, plans] = await Promise.all([realpath(dir).catch(() => undefined), realpath(planPaths(root).plans).catch(() => undefined)]);
  if (real === undefined || plans === undefined) return undefined;
  const rest = relative(plans, real);
  return rest !== '' && !rest.startsWith('..') && !rest.includes(sep) ? rest : undefined;
}

function newPlanId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

const WRITING = '.writing-';

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await Promise.all(Object.keys(files).map((name) => writeFile(join(dir, name), files[name] ?? '', { mode: 0o444 })));
}

/** Puts a plan's files into plans/<new id>, written aside and renamed in whole. */
async function addFiles(root: string, files: Record<string, string>): Promise<string> {
  const { plans } = planPaths(root);
  await mkdir(plans, { recursive: true });
  const id = newPlanId();
  const aside = join(plans, `${WRITING}${process.pid}-${id}`);
  await mkdir(aside);
  try {
    await writeFiles(aside, files);
    await rename(aside, join(plans, id));
  } catch (e) {
    await rm(aside, { recursive: true, force: true });
    throw e;
  }
  return id;
}

/** Stores a plan read back (the same bytes); returns its id. */
export function addLoadedPlan(root: string, loaded: LoadedPlan): Promise<string> {
  return addFiles(root, loadedPlanDirectoryFiles(loaded));
}

/** The one way to write plan/next: the plan is stored whole, then `next` points at it. */
export async function writeNextPlan(root: string, plan: Plan): Promise<string> {
  const id = await addFiles(root, planDirectoryFiles(plan));
  // Under the lock, so a clean-up never removes the new plan before `next` names it.
  await withPlanLock(root, 'gatehouse compile (plan/next)', async () => {
    await pointLink(root, planPaths(root).next, id);
    await removeUnused(root, await readState(root));
  });
  return planDir(root, id);
}

/** Writes `plan` as a plain directory `out` outside the store: written aside, then swapped in by renames. */
export async function writePlanDir(out: string, plan: Plan): Promise<void> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const aside = join(parent, `.${basename(out)}.write-${tag}`);
  const old = join(parent, `.${basename(out)}.old-${tag}`);
  await mkdir(aside);
  try {
    await writeFiles(aside, planDirectoryFiles(plan));
    if (await exists(out)) await rename(out, old);
    await rename(aside, out);
  } finally {
    await rm(aside, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

export interface PlanLockOptions {
  onWait?: (message: string) => void;
  onTakeOver?: (message: string) => void;
}

/** Holds plan.lock while `work` runs: one command at a time changes the store or the kernel. */
export async function withPlanLock<T>(root: string, purpose: string, work: (lock: HeldLock) => Promise<T>, options: PlanLockOptions = {}): Promise<T> {
  const paths = planPaths(root);
  await mkdir(paths.base, { recursive: true });
  const lock = await acquireLock(paths.lock, { purpose, ...options });
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}

/** Like withPlanLock, but gives up at once (undefined) when a live process holds the lock. */
export async function withPlanLockIfFree<T>(root: string, purpose: string, work: () => Promise<T>): Promise<T | undefined> {
  const paths = planPaths(root);
  const lock = await tryLock(paths.lock, { purpose });
  if (!lock) return undefined;
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/**
 * Removes what nothing names any more: plans no slot, transition or `next` points at,
 * plans half written by processes that no longer run, and leftovers of interrupted renames.
 * Call it holding the lock.
 */
export async function removeUnused(root: string, state: StoreState): Promise<void> {
  const paths = planPaths(root);
  const keep = new Set<string>(Object.values(state.slots).filter((v): v is string => v !== undefined));
  const t = state.transition;
  if (t) {
    for (const id of [...Object.values(t.slots), t.partly, 'plan' in t.recover ? t.recover.plan : t.recover.closed]) if (id) keep.add(id);
  }
  const next = await storedPlanId(root, paths.next);
  if (next) keep.add(next);
  const entries = await readdir(paths.plans).catch(() => [] as string[]);
  await Promise.all(
    entries.map(async (name) => {
      if (name.startsWith(WRITING)) {
        const pid = Number(name.slice(WRITING.length).split('-')[0]);
        if (holderAlive({ pid, start: '' })) return;
      } else if (keep.has(name)) {
        return;
      }
      await rm(join(paths.plans, name), { recursive: true, force: true });
    }),
  );
  // Leftovers of a rename interrupted midway (links, state, records written aside).
  const base = await readdir(paths.base).catch(() => [] as string[]);
  await Promise.all(
    base
      .filter((n) => /\.\d+-[0-9a-f]{6}\.(link|old|tmp)$/.test(n) || /^\.(next|current|previous)[.-]/.test(n))
      .filter((n) => !holderAlive({ pid: Number(/\.(\d+)-[0-9a-f]{6}\./.exec(n)?.[1] ?? 0), start: '' }))
      .map((n) => rm(join(paths.base, n), { recursive: true, force: true })),
  );
}

/** A transition for this process, to write before the first kernel command. */
export function transition(action: Transition['action'], mode: ApplyMode, recover: Transition['recover'], slots: Transition['slots'], partly?: string): Transition {
  return {
    action,
    pid: process.pid,
    start: processStart(process.pid) ?? '',
    since: new Date().toISOString(),
    mode: formatApplyMode(mode),
    recover,
    ...(partly !== undefined ? { partly } : {}),
    slots,
  };
}

/** Writes what was applied, and what each part kept, beside a stored plan's files. */
export async function writeAppliedRecords(dir: string, applied: AppliedRecord, records: Record<string, string>): Promise<void> {
  await clearRecords(dir);
  await Promise.all([writeJson(join(dir, 'applied.json'), applied), writeRecords(dir, records), rm(join(dir, 'stopped.json'), { force: true })]);
}

export async function writeRecords(dir: string, records: Record<string, string>): Promise<void> {
  if (Object.keys(records).length === 0) return;
  await mkdir(join(dir, RECORDS_DIR), { recursive: true });
  await Promise.all(Object.entries(records).map(([part, text]) => writeWhole(join(dir, RECORDS_DIR, part), text)));
}

/** Forgets what the parts kept: whoever changes the kernel state of the plan clears them first. */
export async function clearRecords(dir: string): Promise<void> {
  await rm(join(dir, RECORDS_DIR), { recursive: true, force: true });
}

export async function readRecords(dir: string): Promise<Record<string, string>> {
  const names = await readdir(join(dir, RECORDS_DIR)).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.filter((n) => !n.endsWith('.tmp')).map(async (n) => [n, await readFile(join(dir, RECORDS_DIR, n), 'utf8').catch(() => undefined)] as const),
  );
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
  await writeWhole(path, JSON.stringify(value, null, 2) + '\n');
}

export function appliedRecord(plan: LoadedPlan, mode: ApplyMode, source: string, now = new Date()): AppliedRecord {
  return { appliedAt: now.toISOString(), mode: formatApplyMode(mode), source, sha256: plan.digests };
}

export function stoppedRecord(mode: ApplyMode, now = new Date()): StoppedRecord {
  return { stoppedAt: now.toISOString(), mode: formatApplyMode(mode) };
}
