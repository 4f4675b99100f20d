/**
 * The one-record write (store.ts, updateOneRecord): a write of one existing record
 * replaces only its line when the file is exactly what a write of ours produced, and the
 * result must be the very bytes the whole-database path would write.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Database,
  databaseFile,
  deleteProps,
  deleteRecord,
  getRecord,
  readDatabase,
  readRecord,
  serializeDatabase,
  setDefaultRecord,
  setProps,
  setRecord,
  setType,
} from '../../src/db/index.js';
import { random } from '../differential/generator.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function freshRoot(): string {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-one-record-'));
  return root;
}

const markOf = (file: string): string => join(dirname(file), `.${file.split('/').pop()}.canonical`);

describe('one-record writes', () => {
  it('any sequence of writes leaves the bytes the whole-database path gives (random edits, index and other keys)', async () => {
    const r = freshRoot();
    const name = 'scratch';
    const next = random(15);
    const rand = (): number => Math.floor(next() * 2 ** 32);
    const pick = <T>(items: readonly T[]): T => items[rand() % items.length]!;
    const keys = ['1', '2', '10', '300', '0x', 'alpha', 'beta', 'Zed', 'k"q', 'k\\b', 'ünï'];
    const props = ['Description', 'a', 'Z', 'b', 'status', 'x}},"y'];
    const values = ['', 'v', 'two words', 'x}},"y', 'line\\nbreak', 'é', '"quoted"'];
    const model: Database = {};
    const file = databaseFile(r, name);
    for (let step = 0; step < 300; step++) {
      const key = pick(keys);
      const op = rand() % 6;
      const exists = Object.hasOwn(model, key);
      if (op === 0 || !exists) {
        const p = { [pick(props)]: pick(values), [pick(props)]: pick(values) };
        const type = pick(['host', 'rule', 'x']);
        await setRecord(r, name, key, type, p);
        model[key] = { type, props: { ...p } };
      } else if (op === 1) {
        const p = { [pick(props)]: pick(values) };
        await setProps(r, name, key, p);
        Object.assign(model[key]!.props, p);
      } else if (op === 2) {
        const gone = pick(props);
        await deleteProps(r, name, key, [gone]);
        delete model[key]!.props[gone];
      } else if (op === 3) {
        const type = pick(['host', 'rule', 'x']);
        await setType(r, name, key, type);
        model[key]!.type = type;
      } else if (op === 4) {
        expect(await setDefaultRecord(r, name, key, 'other', { ignored: 'yes' })).toBe(false);
      } else {
        await deleteRecord(r, name, key, { force: true });
        delete model[key];
      }
      expect(readFileSync(file, 'utf8')).toBe(serializeDatabase(model));
    }
  });

  it('a file changed since our last write (the mark names other bytes) is written by the whole-database path', async () => {
    const r = freshRoot();
    await setRecord(r, 'scratch', 'a', 'host', { IpAddress: '10.0.0.1' });
    await setRecord(r, 'scratch', 'b', 'host', { IpAddress: '10.0.0.2' });
    const file = databaseFile(r, 'scratch');
    // A hand edit in the older two-space form: valid JSON, not our bytes.
    const edited = { a: { type: 'host', props: { IpAddress: '10.0.0.9' } }, b: { type: 'host', props: { IpAddress: '10.0.0.2' } } };
    writeFileSync(file, `${JSON.stringify(edited, null, 2)}\n`);
    await setProps(r, 'scratch', 'b', { Description: 'two' });
    expect(readFileSync(file, 'utf8')).toBe(serializeDatabase({ ...edited, b: { type: 'host', props: { Description: 'two', IpAddress: '10.0.0.2' } } }));
  });

  it('a corrupt file is still refused and left as it is, whatever the mark says', async () => {
    const r = freshRoot();
    await setRecord(r, 'scratch', 'a', 'host', { IpAddress: '10.0.0.1' });
    const file = databaseFile(r, 'scratch');
    const corrupt = '{\n"a":{"type":"host","props":{"IpAddress":"10.0.0.1"}},\n"b":{"type":3}\n}\n';
    writeFileSync(file, corrupt);
    await expect(setProps(r, 'scratch', 'a', { Description: 'x' })).rejects.toThrow(/corrupt/);
    expect(readFileSync(file, 'utf8')).toBe(corrupt);
  });

  it('a marked file has only the written record parsed and replaced (the mark is what is trusted)', async () => {
    const r = freshRoot();
    await setRecord(r, 'scratch', 'a', 'host', { IpAddress: '10.0.0.1' });
    await setRecord(r, 'scratch', 'b', 'host', { IpAddress: '10.0.0.2' });
    const file = databaseFile(r, 'scratch');
    const mark = readFileSync(markOf(file), 'utf8');
    expect(mark).toMatch(/^[0-9a-f]{64}\n$/);
    // Proof that the fast path runs: give the mark the digest of bytes whose other line
    // the whole path would rewrite (props out of order); only record b's line changes.
    const text = '{\n"a":{"type":"host","props":{"Z":"1","A":"2"}},\n"b":{"type":"host","props":{"IpAddress":"10.0.0.2"}}\n}\n';
    writeFileSync(file, text);
    const { createHash } = await import('node:crypto');
    writeFileSync(markOf(file), `${createHash('sha256').update(text).digest('hex')}\n`);
    await setProps(r, 'scratch', 'b', { Description: 'two' });
    expect(readFileSync(file, 'utf8')).toBe(text.replace('"props":{"IpAddress":"10.0.0.2"}', '"props":{"Description":"two","IpAddress":"10.0.0.2"}'));
    // And the mark now names the new bytes.
    expect(readFileSync(markOf(file), 'utf8')).toBe(`${createHash('sha256').update(readFileSync(file)).digest('hex')}\n`);
  });

  it('a file in the form but without the mark (a value changed by hand, or an upgrade) has only the written line replaced', async () => {
    const r = freshRoot();
    const db: Database = {};
    for (let i = 1; i <= 50; i++) db[String(i)] = { type: 'rule', props: { Action: 'accept', Description: `rule ${i}`, ...(i % 3 === 0 ? { Log: 'info' } : {}) } };
    db['alpha'] = { type: 'x', props: {} };
    const file = databaseFile(r, 'scratch');
    await setRecord(r, 'scratch', '1', 'rule', {});
    // A hand edit that keeps the form: the mark no longer matches, and is gone here anyway.
    db['7']!.props['Description'] = 'edited by hand';
    writeFileSync(file, serializeDatabase(db));
    rmSync(markOf(file));
    await setProps(r, 'scratch', '30', { Description: 'thirty', Zone: 'z' });
    db['30']!.props = { ...db['30']!.props, Description: 'thirty', Zone: 'z' };
    expect(readFileSync(file, 'utf8')).toBe(serializeDatabase(db));
    // The whole-database path would have written a mark; the one-line path needs none.
    expect(() => readFileSync(markOf(file))).toThrow();
    // A file not in the form (the older two-space indent) is rewritten whole, in the form.
    writeFileSync(file, JSON.stringify(db, null, 2));
    await setProps(r, 'scratch', 'alpha', { a: 'b' });
    db['alpha']!.props = { a: 'b' };
    expect(readFileSync(file, 'utf8')).toBe(serializeDatabase(db));
  });

  it('reading one record (db getprop) gives what the whole read gives, whatever the file', async () => {
    const r = freshRoot();
    const file = databaseFile(r, 'scratch');
    const db: Database = {};
    for (let i = 1; i <= 30; i++) db[String(i)] = { type: 'rule', props: { Action: 'accept', Description: `rule ${i} "é"` } };
    db['alpha'] = { type: 'x', props: {} };
    const same = async (key: string) => expect(await readRecord(r, 'scratch', key)).toEqual(getRecord(await readDatabase(r, 'scratch'), key));
    // Absent: the shipped defaults (none for this name).
    await same('1');
    await setRecord(r, 'scratch', '1', 'rule', {});
    for (const text of [serializeDatabase(db), JSON.stringify(db, null, 2), serializeDatabase(db).replace('"props":{}', '"props":{},"note":"mine"')]) {
      writeFileSync(file, text);
      for (const key of ['1', '17', '30', 'alpha', '31', 'constructor']) await same(key);
    }
    // A corrupt file is refused by both, even where the record itself is whole.
    writeFileSync(file, serializeDatabase(db).replace('"2":{"type":"rule"', '"2":{"type":2'));
    await expect(readRecord(r, 'scratch', '1')).rejects.toThrow(/corrupt/);
    // hosts ships defaults: a missing file reads as them.
    expect(await readRecord(r, 'configuration', 'firewall')).toEqual((await readDatabase(r, 'configuration'))['firewall']);
  });

  it('an invalid value is refused on the one-record path too, and nothing is written', async () => {
    const r = freshRoot();
    await setRecord(r, 'hosts', 'h', 'host', { IpAddress: '10.0.0.1' });
    await setProps(r, 'hosts', 'h', { Description: 'marked now' });
    const file = databaseFile(r, 'hosts');
    const before = readFileSync(file, 'utf8');
    await expect(setProps(r, 'hosts', 'h', { IpAddress: '10.0.0.300' })).rejects.toThrow(/'10.0.0.300' is not valid/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
