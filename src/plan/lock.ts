/**
 * An inter-process lock that knows its holder. The lock file is made whole (written aside,
 * then hard-linked into place, which fails when it exists) and names the holder's pid, the
 * start time of that process and what it does. A holder that no longer runs (killed, even
 * with SIGKILL) is noticed at once and its lock taken over, with no stale timeout to wait
 * out; a live holder is waited for, and a message names the lock file and the holder.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { GatehouseError } from '../errors/index.js';

export interface LockHolder {
  pid: number;
  /** The process start time (clock ticks since boot, /proc/<pid>/stat), so a reused pid is not taken for the holder. */
  start: string;
  /** What the holder does, for messages: `gatehouse apply`, `event firewall-adjust`. */
  purpose: string;
  since: string;
  /** Tells two holdings by the same process apart. */
  token?: string;
}

export interface LockOptions {
  purpose: string;
  /** Called once when the lock is busy, with a sentence naming the lock file and its holder. */
  onWait?: (message: string, holder: LockHolder | undefined) => void;
  /** Give up after this long (default: wait as long as a live holder holds it). */
  timeoutMs?: number;
  /** Called when a dead holder's lock is taken over. */
  onTakeOver?: (message: string) => void;
}

export interface HeldLock {
  file: string;
  release(): Promise<void>;
}

/** Start time of a process, or undefined when it does not run (or /proc is unreadable). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs: the pid exists and started when the holder did. */
export function holderAlive(holder: Pick<LockHolder, 'pid' | 'start'>): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(holder.pid);
  return start === undefined || holder.start === '' || start === holder.start;
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'an unknown process';
  return `${holder.purpose} (pid ${holder.pid}, since ${holder.since})`;
}

export async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await readFile(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function me(purpose: string): LockHolder {
  return { pid: process.pid, start: processStart(process.pid) ?? '', purpose, since: new Date().toISOString(), token: randomBytes(6).toString('hex') };
}

/** Places `file` holding `holder`, atomically; false when it already exists. */
async function place(file: string, holder: LockHolder): Promise<boolean> {
  const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(aside, JSON.stringify(holder) + '\n', { mode: 0o600 });
  try {
    await link(aside, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/** A lock file nobody can read the holder of, left for this long, is taken as abandoned. */
const UNREADABLE_GRACE_MS = 2000;

/**
 * Removes `file` when its holder is dead, under a short second lock so two processes never
 * both break it (one of them would remove the other's fresh lock).
 */
async function breakIfAbandoned(file: string, onTakeOver?: (message: string) => void): Promise<void> {
  const breaker = `${file}.break`;
  if (!(await place(breaker, me('breaking a stale lock')))) {
    const other = await readHolder(breaker);
    if (other && holderAlive(other)) return;
    const age = await stat(breaker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (!other && age < UNREADABLE_GRACE_MS) return;
    await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    // Only breakers remove a dead holder's lock, and they take turns here: the file read is the file removed.
    const holder = await readHolder(file);
    if (holder && holderAlive(holder)) return;
    if (!holder) {
      // Gone meanwhile (released): nothing to break. Unreadable: only once it has stayed so for a while.
      const age = await stat(file).then((s) => Date.now() - s.mtimeMs, () => undefined);
      if (age === undefined || age < UNREADABLE_GRACE_MS) return;
    }
    await unlink(file).catch(() => undefined);
    onTakeOver?.(`took over ${file}: its holder, ${describeHolder(holder)}, no longer runs`);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** Tries once; undefined when a live process holds the lock. */
export async function tryLock(file: string, options: LockOptions): Promise<HeldLock | undefined> {
  const holder = me(options.purpose);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await place(file, holder)) return heldLock(file, holder);
    await breakIfAbandoned(file, options.onTakeOver);
  }
  return undefined;
}

export async function acquireLock(file: string, options: LockOptions): Promise<HeldLock> {
  const started = Date.now();
  let told = false;
  for (let wait = 5; ; wait = Math.min(wait * 1.5, 100)) {
    const held = await tryLock(file, options);
    if (held) return held;
    const holder = await readHolder(file);
    if (!told) {
      told = true;
      options.onWait?.(`waiting for ${file}, held by ${describeHolder(holder)}`, holder);
    }
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
      throw new GatehouseError(`${file} is held by ${describeHolder(holder)}`, {
        hint: holder ? `wait for it to finish, or end it (kill ${holder.pid}); a holder that no longer runs is taken over at once` : 'remove the file if no Gatehouse command runs',
      });
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

function heldLock(file: string, holder: LockHolder): HeldLock {
  return {
    file,
    async release() {
      // Only our own lock: a lock taken over from us (we were thought dead) is not ours to remove.
      const now = await readHolder(file);
      if (now && now.pid === holder.pid && now.token === holder.token) await unlink(file).catch(() => undefined);
    },
  };
}
