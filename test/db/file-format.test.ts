import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFile, serializeDatabase } from '../../src/db/index.js';
import { Roots, buildProject, runDb } from './run-db.js';

const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());

async function rootWithFile(name: string, text: string): Promise<string> {
  const root = await roots.make();
  await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
  await writeFile(databaseFile(root, name), text);
  return root;
}

describe('database file format', () => {
  it('a file is one record per line, keys and props sorted', () => {
    const text = serializeDatabase({
      b: { type: 'host', props: { IpAddress: '10.0.0.2', Description: 'two' } },
      a: { type: 'host', props: {} },
    });
    expect(text).toBe(
      '{\n"a":{"type":"host","props":{}},\n"b":{"type":"host","props":{"Description":"two","IpAddress":"10.0.0.2"}}\n}\n',
    );
  });

  it('an empty database is written as {}', () => {
    expect(serializeDatabase({})).toBe('{}\n');
  });

  it('a value holding the record separator stays inside its record', () => {
    const db = { a: { type: 't', props: { Description: 'x}},"y' } }, b: { type: 't', props: {} } };
    const text = serializeDatabase(db);
    expect(text.split('\n')).toHaveLength(5);
    expect(JSON.parse(text)).toEqual(db);
  });

  it('a database written before with a two-space indent is read and takes the new form at its next write', async () => {
    const old = { b: { type: 'host', props: { IpAddress: '10.0.0.2' } }, a: { type: 'host', props: { IpAddress: '10.0.0.1' } } };
    const root = await rootWithFile('hosts', `${JSON.stringify(old, null, 2)}\n`);
    expect(await runDb(root, ['hosts', 'getprop', 'b', 'IpAddress'])).toMatchObject({ code: 0, stdout: '10.0.0.2\n' });
    expect(await runDb(root, ['hosts', 'setprop', 'a', 'Description', 'first'])).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(databaseFile(root, 'hosts'), 'utf8')).toBe(
      '{\n"a":{"type":"host","props":{"Description":"first","IpAddress":"10.0.0.1"}},\n"b":{"type":"host","props":{"IpAddress":"10.0.0.2"}}\n}\n',
    );
  });
});
