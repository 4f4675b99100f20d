import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseFile, mergeDefaults, readDatabase, readDefaults } from '../../src/db/index.js';
import { Roots } from './run-db.js';

const roots = new Roots();
afterAll(() => roots.cleanup());

describe('shipped defaults', () => {
  it('a database that does not exist reads as its shipped defaults', async () => {
    const root = await roots.make();
    const fw = (await readDatabase(root, 'configuration'))['firewall']!;
    expect(fw.type).toBe('configuration');
    expect(fw.props).toMatchObject({ Policy: 'permissive', ExternalPing: 'enabled', event: 'firewall-gateway-save' });
  });

  it('the tc classes high and low ship with marks 2 and 3', async () => {
    const tc = await readDefaults('tc');
    expect([tc['high']!.props['Mark'], tc['low']!.props['Mark']]).toEqual(['2', '3']);
  });

  it('mergeDefaults creates missing databases from their defaults', async () => {
    const root = await roots.make();
    const report = await mergeDefaults(root);
    expect(report.find((r) => r.db === 'tc')!.added).toEqual(['high', 'low']);
    expect(JSON.parse(await readFile(databaseFile(root, 'tc'), 'utf8'))).toEqual(await readDefaults('tc'));
  });

  it('mergeDefaults adds missing keys and props but never overwrites a value', async () => {
    const root = await roots.make();
    await mkdir(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    await writeFile(
      databaseFile(root, 'configuration'),
      JSON.stringify({ firewall: { type: 'configuration', props: { Policy: 'strict', Extra: 'kept' } } }),
    );
    const report = await mergeDefaults(root);
    const added = report.find((r) => r.db === 'configuration')!.added;
    expect(added).toContain('sshd');
    expect(added).toContain('firewall/ExternalPing');
    expect(added).not.toContain('firewall/Policy');
    const fw = (await readDatabase(root, 'configuration'))['firewall']!.props;
    expect(fw).toMatchObject({ Policy: 'strict', Extra: 'kept', ExternalPing: 'enabled' });
  });

  it('a second mergeDefaults adds nothing and leaves the files byte-identical', async () => {
    const root = await roots.make();
    await mergeDefaults(root);
    const before = await readFile(databaseFile(root, 'configuration'), 'utf8');
    const report = await mergeDefaults(root);
    expect(report.every((r) => r.added.length === 0)).toBe(true);
    expect(await readFile(databaseFile(root, 'configuration'), 'utf8')).toBe(before);
  });
});
