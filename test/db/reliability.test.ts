import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile, serializeDatabase } from '../../src/db/index.js';
import { Roots, buildProject, dbBin, runDb } from './run-db.js';

const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());

/** Read the file over and over while `work` runs; every read must parse. */
async function whileWatching<T>(file: string, work: () => Promise<T>): Promise<{ result: T; reads: number; failures: string[] }> {
  let reads = 0;
  const failures: string[] = [];
  let running = true;
  const watcher = (async () => {
    while (running) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) {
        reads++;
        try {
          JSON.parse(text);
        } catch (e) {
          failures.push(`${(e as Error).message} in ${text.length} bytes`);
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    return { result: await work(), reads, failures };
  } finally {
    running = false;
    await watcher;
  }
}

describe('concurrent writers lose no update', () => {
  it('100 concurrent db processes writing different keys all land, and the file always parses', async () => {
    const root = await roots.make();
    await runDb(root, ['hosts', 'set', 'seed', 'host', 'IpAddress', '10.0.0.1']);
    const { result, reads, failures } = await whileWatching(databaseFile(root, 'hosts'), () =>
      Promise.all(Array.from({ length: 100 }, (_, i) => runDb(root, ['hosts', 'set', `h${i}`, 'host', 'IpAddress', `10.1.${i >> 8}.${i & 255}`]))),
    );
    expect(result.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const db = JSON.parse(await readFile(databaseFile(root, 'hosts'), 'utf8'));
    expect(Object.keys(db).sort()).toEqual(['seed', ...Array.from({ length: 100 }, (_, i) => `h${i}`)].sort());
    for (let i = 0; i < 100; i++) expect(db[`h${i}`].props.IpAddress).toBe(`10.1.${i >> 8}.${i & 255}`);
  }, 240_000);

  it('50 concurrent setprops of different props on one key all land', async () => {
    const root = await roots.make();
    const { result, failures } = await whileWatching(databaseFile(root, 'configuration'), () =>
      Promise.all(Array.from({ length: 50 }, (_, i) => runDb(root, ['configuration', 'setprop', 'firewall', `Probe${i}`, `value ${i}`]))),
    );
    expect(result.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(failures).toEqual([]);
    const props = JSON.parse(await readFile(databaseFile(root, 'configuration'), 'utf8')).firewall.props;
    for (let i = 0; i < 50; i++) expect(props[`Probe${i}`]).toBe(`value ${i}`);
    expect(props.Policy).toBe('permissive');
  }, 240_000);
});

/** A fwrules database big enough that a write takes a while (10,000 records). */
function bigFwrules(): string {
  const db: Record<string, unknown> = {};
  for (let i = 1; i <= 10_000; i++) {
    db[String(i)] = { type: 'rule', props: { Action: 'accept', Description: `rule ${i}`, Dst: 'role;red', Position: String(i), Src: 'role;green' } };
  }
  return `${JSON.stringify(db, null, 2)}\n`;
}

/**
 * Start `db fwrules setprop ...` and SIGKILL it: `after.ms` after the start, or
 * `after.msInLock` after its lock appears (a kill inside the read-change-write window).
 */
function killWriter(root: string, after: { ms: number } | { msInLock: number }, value: string): Promise<{ killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [dbBin, 'fwrules', 'setprop', '5000', 'Description', value], {
      env: { ...process.env, GATEHOUSE_ROOT: root },
      stdio: 'ignore',
    });
    const timers: NodeJS.Timeout[] = [];
    if ('ms' in after) timers.push(setTimeout(() => child.kill('SIGKILL'), after.ms));
    else {
      const lock = `${databaseFile(root, 'fwrules')}.lock`;
      const poll = setInterval(() => {
        if (!existsSync(lock)) return;
        clearInterval(poll);
        timers.push(setTimeout(() => child.kill('SIGKILL'), after.msInLock));
      }, 1);
      timers.push(poll);
    }
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ killed: signal === 'SIGKILL' });
    });
  });
}

describe('a writer killed with SIGKILL never leaves a half-written database', () => {
  it('killed at random points of a write, the file is always exactly the old or the new database', async () => {
    const original = bigFwrules();
    const setup = async (): Promise<string> => {
      const root = await roots.make();
      await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
      await writeFile(databaseFile(root, 'fwrules'), original);
      return root;
    };
    // How long one unkilled write takes here, so kills land across its whole life.
    const probe = await setup();
    const started = Date.now();
    expect((await runDb(probe, ['fwrules', 'setprop', '5000', 'Description', 'probe'])).code).toBe(0);
    const full = Date.now() - started;
    // The original is in the old indented form; a completed write leaves the current form.
    const expectedNew = (value: string): string => {
      const db = JSON.parse(original) as Record<string, { type: string; props: Record<string, string> }>;
      db['5000']!.props['Description'] = value;
      return serializeDatabase(db);
    };

    const outcomes = { old: 0, new: 0, killedHoldingLock: 0, tempFileLeft: 0 };
    for (let i = 0; i < 30; i++) {
      const root = await setup();
      const value = `killed ${i}`;
      // Half the kills land anywhere in the process's life, half inside the locked write.
      const after = i % 2 === 0 ? { ms: Math.round(full * (0.3 + 0.8 * Math.random())) } : { msInLock: Math.round(80 * Math.random()) };
      const { killed } = await killWriter(root, after, value);
      const text = await readFile(databaseFile(root, 'fwrules'), 'utf8');
      expect(() => JSON.parse(text)).not.toThrow();
      if (text === original) outcomes.old++;
      else {
        expect(text).toBe(expectedNew(value));
        outcomes.new++;
      }
      if (killed && existsSync(`${databaseFile(root, 'fwrules')}.lock`)) outcomes.killedHoldingLock++;
      // lowdb's temp file left behind: the kill landed during the write itself.
      if (existsSync(join(root, 'var/lib/gatehouse/db/.fwrules.json.tmp'))) outcomes.tempFileLeft++;
    }
    console.info(`SIGKILL outcomes over 30 runs: ${JSON.stringify(outcomes)} (one unkilled write took ${full} ms)`);
    expect(outcomes.old + outcomes.new).toBe(30);
    // Proof that kills really landed inside the locked read-change-write window.
    expect(outcomes.killedHoldingLock).toBeGreaterThan(0);
  }, 300_000);

  it('after a writer is killed holding the lock, the next writer takes the stale lock over and writes', async () => {
    const root = await roots.make();
    await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    await writeFile(databaseFile(root, 'fwrules'), bigFwrules());
    const lock = `${databaseFile(root, 'fwrules')}.lock`;
    // Kill a writer as soon as it holds the lock.
    for (let i = 0; i < 10 && !existsSync(lock); i++) await killWriter(root, { msInLock: 0 }, `attempt ${i}`);
    expect(existsSync(lock)).toBe(true);
    const r = await runDb(root, ['fwrules', 'setprop', '5000', 'Description', 'after the crash']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(await readFile(databaseFile(root, 'fwrules'), 'utf8'))['5000'].props.Description).toBe('after the crash');
  }, 120_000);
});
