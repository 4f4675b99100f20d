import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  databaseFile,
  escapeField,
  formatEsmithText,
  importEsmithText,
  parseEsmithText,
  readDatabase,
  splitFields,
} from '../../src/db/index.js';
import { describeError } from '../../src/errors/index.js';

const golden = join(import.meta.dirname, '../golden/db/nethserver7-roundtrip');
const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** A root whose configuration database exists and is empty (no shipped defaults mixed in). */
async function rootWithEmptyConfiguration(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-esmith-'));
  roots.push(root);
  await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
  await writeFile(databaseFile(root, 'configuration'), '{}\n');
  return root;
}

/** The one line a person would see for the error `run` throws. */
function errorLine(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return describeError(e);
  }
  throw new Error('expected an error');
}

describe('field escaping', () => {
  it.each([['a|b'], ['a\\'], ['a\\|'], ['a\\\\b'], ['line1\\nline2'], ['x=y'], [''], ['\\']])(
    'value %j survives escape then split',
    (value) => {
      expect(splitFields(`type|p|${escapeField(value)}|q|end`)).toEqual(['type', 'p', value, 'q', 'end']);
    },
  );

  it('a backslash before other characters is written as it is', () => {
    expect(escapeField('C:\\temp\\n')).toBe('C:\\temp\\n');
  });
});

describe('e-smith text parsing', () => {
  it('a key seen twice keeps its last line', () => {
    const entries = parseEsmithText('a=host|IpAddress|10.0.0.1\na=host|IpAddress|10.0.0.2\n', 'x.txt');
    expect(entries).toEqual([{ key: 'a', line: 2, record: { type: 'host', props: { IpAddress: '10.0.0.2' } } }]);
  });

  it('an odd number of fields names the file and line', () => {
    expect(errorLine(() => parseEsmithText('# c\nsshd=service|TCPPort|22|access\n', 'old.db'))).toMatch(
      /^old\.db:2: record 'sshd' has a prop without a value/,
    );
  });

  it('a line without = is refused with its line number', () => {
    expect(errorLine(() => parseEsmithText('ok=thing\nbroken line\n', 'f'))).toMatch(/^f:2: line has no '='/);
  });

  it('key and value are trimmed as e-smith does', () => {
    expect(parseEsmithText('  web = host|IpAddress|10.0.0.1  \n', 'f')[0]).toMatchObject({ key: 'web', record: { props: { IpAddress: '10.0.0.1' } } });
  });
});

describe('NethServer 7 round trip', () => {
  it('import then export gives the same record lines back', async () => {
    const root = await rootWithEmptyConfiguration();
    const input = await readFile(join(golden, 'input.txt'), 'utf8');
    await importEsmithText(root, 'configuration', input, 'input.txt');
    const exported = formatEsmithText('configuration', await readDatabase(root, 'configuration'));
    expect(exported).toBe(await readFile(join(golden, 'expected.txt'), 'utf8'));
    const body = (t: string): string[] => t.split('\n').filter((l) => !l.startsWith('#'));
    expect(body(exported)).toEqual(body(input));
  });

  it('an exported database imports back to the same records', async () => {
    const root = await rootWithEmptyConfiguration();
    await importEsmithText(root, 'configuration', await readFile(join(golden, 'expected.txt'), 'utf8'), 'expected.txt');
    const first = await readDatabase(root, 'configuration');
    const again = await rootWithEmptyConfiguration();
    await importEsmithText(again, 'configuration', formatEsmithText('configuration', first), 'export');
    expect(await readDatabase(again, 'configuration')).toEqual(first);
  });

  it('escaped newlines stay two characters, never a line break', async () => {
    const root = await rootWithEmptyConfiguration();
    await importEsmithText(root, 'configuration', await readFile(join(golden, 'input.txt'), 'utf8'), 'input.txt');
    expect((await readDatabase(root, 'configuration'))['sshd']!.props['Multi']).toBe('line1\\nline2');
  });

  it('an import with one bad record writes nothing', async () => {
    const root = await rootWithEmptyConfiguration();
    const before = await readFile(databaseFile(root, 'configuration'), 'utf8');
    const text = 'good=service|TCPPort|22\nbad=service|TCPPort|70000\n';
    const message = await importEsmithText(root, 'configuration', text, 'in.txt').then(
      () => 'no error',
      (e: unknown) => describeError(e),
    );
    expect(message).toMatch(/^in\.txt:2 configuration\/bad\/TCPPort: '70000' is not valid/);
    expect(await readFile(databaseFile(root, 'configuration'), 'utf8')).toBe(before);
  });
});
