/** A database's journal (src/db/journal.ts): appends instead of whole-file writes, replayed by every reader, crash-safe. */
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DbRecord, appendDatabase, databaseFile, journalFile, readDatabase, updateDatabase } from '../../src/db/index.js';
import { Roots, buildProject, runDb } from './run-db.js';

const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());
afterEach(() => vi.restoreAllMocks());

const entry = (address: string): DbRecord => ({ type: 'entry', props: { Action: 'drop', Address: address, Chain: 'input', Created: '1', Interface: 'any' } });
const key = (address: string) => `drop/input/any/${address}`;

async function rootWithBase(n: number): Promise<string> {
  const root = await roots.make();
  await updateDatabase(root, 'blocklist', (db) => {
    for (let i = 0; i < n; i++) db[key(`10.0.0.${i}/32`)] = entry(`10.0.0.${i}/32`);
  });
  return root;
}

describe('the journal of a database', () => {
  it('an append leaves the file as it was and every reader (readDatabase, the db command) sees the change', async () => {
    const root = await rootWithBase(3);
    const file = databaseFile(root, 'blocklist');
    const before = await readFile(file, 'utf8');
    await appendDatabase(root, 'blocklist', [
      { key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') },
      { key: key('10.0.0.1/32'), record: undefined },
    ]);
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(existsSync(journalFile(file))).toBe(true);
    const db = await readDatabase(root, 'blocklist');
    expect(Object.keys(db).sort()).toEqual([key('10.0.0.0/32'), key('10.0.0.2/32'), key('192.0.2.1/32')]);
    const shown = await runDb(root, ['blocklist', 'keys']);
    expect(shown.stderr).toBe('');
    expect(shown.stdout.trim().split('\n').sort()).toEqual(Object.keys(db).sort());
  });

  it('a whole-file write (the db command) merges the journal into the file and removes it', async () => {
    const root = await rootWithBase(2);
    const file = databaseFile(root, 'blocklist');
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }]);
    const r = await runDb(root, ['blocklist', 'delete', key('10.0.0.0/32')]);
    expect(r.stderr).toBe('');
    expect(existsSync(journalFile(file))).toBe(false);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')) as object).sort()).toEqual([key('10.0.0.1/32'), key('192.0.2.1/32')]);
  });

  it('concurrent appends lose nothing and keep their order per key', async () => {
    const root = await rootWithBase(0);
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendDatabase(root, 'blocklist', [{ key: key(`198.51.100.${i}/32`), record: entry(`198.51.100.${i}/32`) }])));
    await appendDatabase(root, 'blocklist', [{ key: key('198.51.100.7/32'), record: undefined }]);
    const db = await readDatabase(root, 'blocklist');
    expect(Object.keys(db)).toHaveLength(39);
    expect(db[key('198.51.100.7/32')]).toBeUndefined();
  });

  it('a torn last line (a crash mid-write) is ignored with a warning; no earlier entry is lost; the next append cuts it off', async () => {
    const root = await rootWithBase(1);
    const jf = journalFile(databaseFile(root, 'blocklist'));
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }]);
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.2/32'), record: entry('192.0.2.2/32') }]);
    // The crash: half a line, no newline (even a complete-looking one is not committed without it).
    await appendFile(jf, JSON.stringify({ k: key('192.0.2.3/32'), r: entry('192.0.2.3/32') }));
    const warnings: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (warnings.push(String(chunk)), true));
    const db = await readDatabase(root, 'blocklist');
    expect(Object.keys(db).sort()).toEqual([key('10.0.0.0/32'), key('192.0.2.1/32'), key('192.0.2.2/32')]);
    expect(warnings.join('')).toMatch(/blocklist\.journal: the last line .* torn by a crash, ignored/);
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.4/32'), record: entry('192.0.2.4/32') }]);
    const text = await readFile(jf, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('192.0.2.3');
    expect(Object.keys(await readDatabase(root, 'blocklist')).sort()).toEqual([key('10.0.0.0/32'), key('192.0.2.1/32'), key('192.0.2.2/32'), key('192.0.2.4/32')]);
  });

  it('a journal torn inside its header line reads as no journal, and the next append starts a new one', async () => {
    const root = await rootWithBase(1);
    const jf = journalFile(databaseFile(root, 'blocklist'));
    await writeFile(jf, '{"journal":1,"ba');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(Object.keys(await readDatabase(root, 'blocklist'))).toEqual([key('10.0.0.0/32')]);
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }]);
    expect(Object.keys(await readDatabase(root, 'blocklist')).sort()).toEqual([key('10.0.0.0/32'), key('192.0.2.1/32')]);
  });

  it('a crash after a merge but before the journal is removed: the journal names the file before and is not replayed again', async () => {
    const root = await rootWithBase(1);
    const jf = journalFile(databaseFile(root, 'blocklist'));
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }]);
    const journal = await readFile(jf, 'utf8');
    // Merged, then deleted by the administrator; the old journal (which sets it) comes back as if never removed.
    await updateDatabase(root, 'blocklist', (db) => {
      delete db[key('192.0.2.1/32')];
      db[key('192.0.2.5/32')] = entry('192.0.2.5/32');
    });
    await writeFile(jf, journal);
    expect(Object.keys(await readDatabase(root, 'blocklist'))).not.toContain(key('192.0.2.1/32'));
    // And an append replaces it instead of extending it.
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.9/32'), record: entry('192.0.2.9/32') }]);
    const keys = Object.keys(await readDatabase(root, 'blocklist'));
    expect(keys).toContain(key('192.0.2.9/32'));
    expect(keys).not.toContain(key('192.0.2.1/32'));
  });

  it('a corrupt line before the last fails the read, naming the file and line, and nothing is overwritten', async () => {
    const root = await rootWithBase(1);
    const jf = journalFile(databaseFile(root, 'blocklist'));
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }]);
    await appendFile(jf, 'garbage\n' + JSON.stringify({ k: key('192.0.2.2/32'), d: 1 }) + '\n');
    await expect(readDatabase(root, 'blocklist')).rejects.toThrow(/journal is corrupt: line 3/);
    await expect(updateDatabase(root, 'blocklist', () => undefined)).rejects.toThrow(/journal is corrupt/);
    expect(await readFile(jf, 'utf8')).toContain('garbage');
  });

  it('once it outgrows its limit it is merged into the file', async () => {
    const root = await rootWithBase(1);
    const file = databaseFile(root, 'blocklist');
    await appendDatabase(root, 'blocklist', [{ key: key('192.0.2.1/32'), record: entry('192.0.2.1/32') }], { compactBytes: 100 });
    expect(existsSync(journalFile(file))).toBe(false);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')) as object).sort()).toEqual([key('10.0.0.0/32'), key('192.0.2.1/32')]);
  });
});
