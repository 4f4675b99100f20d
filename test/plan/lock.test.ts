/**
 * The plan lock: a lock whose holder no longer runs is taken over at once, and every
 * message about a busy lock names the lock file and the process holding it.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock, processStart, tryLock } from '../../src/plan/index.js';
import { temporaryRoot } from '../apply/plans.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

async function lockFile(): Promise<string> {
  const root = await temporaryRoot();
  roots.push(root);
  return join(root, 'plan.lock');
}

/** The pid of a process that has ended. */
function deadPid(): number {
  return spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim() as unknown as number;
}

describe('the plan lock', () => {
  it('takes over at once a lock left by a killed process, saying whose it was', async () => {
    const file = await lockFile();
    const pid = Number(deadPid());
    await writeFile(file, JSON.stringify({ pid, start: '1', purpose: 'gatehouse apply', since: '2026-01-01T00:00:00.000Z' }));
    const said: string[] = [];
    const started = Date.now();
    const lock = await acquireLock(file, { purpose: 'test', onTakeOver: (m) => said.push(m) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(said).toEqual([`took over ${file}: its holder, gatehouse apply (pid ${pid}, since 2026-01-01T00:00:00.000Z), no longer runs`]);
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(process.pid);
    await lock.release();
    await expect(readFile(file)).rejects.toThrow();
  });

  it('a pid reused by another process does not keep a dead holder’s lock', async () => {
    const file = await lockFile();
    await writeFile(file, JSON.stringify({ pid: process.pid, start: 'not-this-start', purpose: 'old apply', since: 'then' }));
    const lock = await tryLock(file, { purpose: 'test' });
    expect(lock).toBeDefined();
    await lock!.release();
  });

  it('waits for a live holder, and a timeout names the file and the holder', async () => {
    const file = await lockFile();
    const held = await acquireLock(file, { purpose: 'gatehouse apply of plan/next' });
    const waits: string[] = [];
    const e = await acquireLock(file, { purpose: 'second', timeoutMs: 200, onWait: (m) => waits.push(m) }).catch((err: Error) => err);
    expect(waits[0]).toMatch(new RegExp(`^waiting for ${file}, held by gatehouse apply of plan/next \\(pid ${process.pid}, since `));
    expect((e as Error).message).toMatch(new RegExp(`${file} is held by gatehouse apply of plan/next \\(pid ${process.pid}`));
    await held.release();
    const again = await tryLock(file, { purpose: 'third' });
    expect(again).toBeDefined();
    await again!.release();
  });

  it('never lets two holders in at once', async () => {
    const file = await lockFile();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let i = 0; i < 5; i++) {
          const lock = await acquireLock(file, { purpose: 'contender' });
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 1));
          inside--;
          await lock.release();
        }
      }),
    );
    expect(most).toBe(1);
  });

  it('knows this process’s start time', () => {
    expect(processStart(process.pid)).toMatch(/^\d+$/);
  });
});
