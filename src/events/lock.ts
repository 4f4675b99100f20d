/**
 * One event at a time per root: an inter-process lock under $ROOT/run/gatehouse. A second
 * `signal-event` waits (and says so) instead of interleaving its actions with the first.
 * A custom action that itself runs `signal-event` inherits the lock through its
 * environment instead of waiting for itself forever.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateDir, runtimePaths } from '../layout/index.js';
import { type LockHolder, acquireLock, describeHolder } from '../plan/index.js';

/** Set in custom actions' environment: the pid holding the root's event lock. */
export const LOCK_HOLDER_ENV = 'GATEHOUSE_EVENT_LOCK_PID';

export interface EventLockOptions {
  event: string;
  /** Told who holds the lock when we have to wait. */
  onWait?: (holder: string) => void;
}

export interface EventLock {
  /** False when an enclosing event of this process tree already holds it. */
  owned: boolean;
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  event: string;
  since: string;
}

function lockPaths(root: string): { dir: string; lock: string; owner: string } {
  const dir = runtimePaths(root).runDir;
  return { dir, lock: join(dir, 'events.lock'), owner: join(dir, 'events.owner') };
}

async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

export async function acquireEventLock(root: string, options: EventLockOptions): Promise<EventLock> {
  const paths = lockPaths(root);
  makePrivateDir(paths.dir);

  const inherited = process.env[LOCK_HOLDER_ENV];
  if (inherited !== undefined && inherited !== '') {
    const owner = await readOwner(paths.owner);
    if (owner && String(owner.pid) === inherited) return { owned: false, release: async () => {} };
  }

  // The lock names its holder; one left by a killed event is taken over at once.
  const lock = await acquireLock(paths.lock, {
    purpose: `event '${options.event}'`,
    ...(options.onWait ? { onWait: (_: string, holder: LockHolder | undefined) => options.onWait!(`${describeHolder(holder)}, holding ${paths.lock},`) } : {}),
  });
  const owner: Owner = { pid: process.pid, event: options.event, since: new Date().toISOString() };
  await writeFile(paths.owner, JSON.stringify(owner) + '\n');
  return {
    owned: true,
    async release() {
      await rm(paths.owner, { force: true });
      await lock.release();
    },
  };
}
