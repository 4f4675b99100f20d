import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GatehouseError } from '../../src/errors/index.js';
import { buildTemplateContext, expandTargets, type TemplateContext, type TemplateDirs } from '../../src/templates/index.js';
import { makeTree, removeTree, writeTree } from './fixtures.js';

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

function setup(files: Record<string, string>): { root: string; dirs: TemplateDirs } {
  base = makeTree(files);
  return { root: join(base, 'root'), dirs: { shipped: join(base, 'shipped'), custom: join(base, 'root/etc/gatehouse/templates-custom') } };
}

const context: TemplateContext = { db: { configuration: { firewall: { type: 'firewall', props: { Policy: 'strict' } } } } };

describe('expandTargets', () => {
  it('writes the target under the root and reports it changed', async () => {
    const { root, dirs } = setup({ 'shipped/etc/x/10a': 'P={{db.configuration.firewall.props.Policy}}\n' });
    const result = await expandTargets(root, ['/etc/x'], context, { dirs });
    expect(result).toEqual({ changed: ['/etc/x'], unchanged: [] });
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('P=strict\n');
  });

  it('a second expansion with the same content leaves the file alone and reports it unchanged', async () => {
    const { root, dirs } = setup({ 'shipped/etc/x/10a': 'same\n' });
    await expandTargets(root, ['/etc/x'], context, { dirs });
    const inode = statSync(join(root, 'etc/x')).ino;
    const result = await expandTargets(root, ['etc/x'], context, { dirs });
    expect(result).toEqual({ changed: [], unchanged: ['/etc/x'] });
    expect(statSync(join(root, 'etc/x')).ino).toBe(inode);
  });

  it('a changed file is replaced by rename (new inode), leaving no temp file behind', async () => {
    const { root, dirs } = setup({ 'shipped/etc/x/10a': '{{n}}\n' });
    await expandTargets(root, ['/etc/x'], { ...context, n: 1 }, { dirs });
    const inode = statSync(join(root, 'etc/x')).ino;
    const result = await expandTargets(root, ['/etc/x'], { ...context, n: 2 }, { dirs });
    expect(result.changed).toEqual(['/etc/x']);
    expect(statSync(join(root, 'etc/x')).ino).not.toBe(inode);
    expect(readdirSync(join(root, 'etc'))).toEqual(['x']);
  });

  it('metadata mode 0600 is applied to the written file, overriding the umask', async () => {
    const { root, dirs } = setup({ 'shipped/etc/secret/10a': 'pw\n', 'shipped/etc/secret/.metadata.json': '{"mode": "0600"}' });
    await expandTargets(root, ['/etc/secret'], context, { dirs });
    expect(statSync(join(root, 'etc/secret')).mode & 0o777).toBe(0o600);
  });

  it('without metadata the file is 0644', async () => {
    const { root, dirs } = setup({ 'shipped/etc/x/10a': 'a\n' });
    await expandTargets(root, ['/etc/x'], context, { dirs });
    expect(statSync(join(root, 'etc/x')).mode & 0o777).toBe(0o644);
  });

  it('custom metadata overrides the shipped field', async () => {
    const { root, dirs } = setup({
      'shipped/etc/x/10a': 'a\n',
      'shipped/etc/x/.metadata.json': '{"mode": "0600"}',
      'root/etc/gatehouse/templates-custom/etc/x/.metadata.json': '{"mode": "0640"}',
    });
    await expandTargets(root, ['/etc/x'], context, { dirs });
    expect(statSync(join(root, 'etc/x')).mode & 0o777).toBe(0o640);
  });

  it('metadata delete removes an existing target and writes nothing', async () => {
    const { root, dirs } = setup({ 'shipped/etc/shorewall/masq/.metadata.json': '{"delete": true}', 'root/etc/shorewall/masq': 'old\n' });
    const result = await expandTargets(root, ['/etc/shorewall/masq'], context, { dirs });
    expect(result.changed).toEqual(['/etc/shorewall/masq']);
    expect(existsSync(join(root, 'etc/shorewall/masq'))).toBe(false);
  });

  it('invalid metadata is refused naming the metadata file', async () => {
    const { root, dirs } = setup({ 'shipped/etc/x/10a': 'a\n', 'shipped/etc/x/.metadata.json': '{"mode": 600}' });
    await expect(expandTargets(root, ['/etc/x'], context, { dirs })).rejects.toThrow(/mode 600 is not an octal string/);
  });

  it('a fragment error leaves the previous file in place and writes no other target', async () => {
    const { root, dirs } = setup({
      'shipped/etc/a/10a': 'new a\n',
      'shipped/etc/b/10b': 'fine\n',
      'root/etc/gatehouse/templates-custom/etc/b/20broken': '{{#if}}\n',
      'root/etc/a': 'old a\n',
      'root/etc/b': 'old b\n',
    });
    const error = await expandTargets(root, ['/etc/a', '/etc/b'], context, { dirs }).catch((e: GatehouseError) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).format()).toMatch(/templates-custom\/etc\/b\/20broken:2: Handlebars syntax error/);
    expect(readFileSync(join(root, 'etc/a'), 'utf8')).toBe('old a\n');
    expect(readFileSync(join(root, 'etc/b'), 'utf8')).toBe('old b\n');
    expect(readdirSync(join(root, 'etc')).sort()).toEqual(['a', 'b', 'gatehouse']);
  });
});

describe('buildTemplateContext', () => {
  it('holds every database of the root as db.<name> and the model fields', async () => {
    base = makeTree({});
    const root = join(base, 'root');
    mkdirSync(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    writeFileSync(
      join(root, 'var/lib/gatehouse/db/networks.json'),
      JSON.stringify({ eth1: { type: 'ethernet', props: { role: 'red' } } }),
    );
    writeTree(root, { 'var/lib/gatehouse/db/hosts.json': JSON.stringify({ h: { type: 'host', props: { IpAddress: '10.0.0.1' } } }) });
    const ctx = await buildTemplateContext(root);
    expect(ctx.db['networks']?.['eth1']?.props['role']).toBe('red');
    expect(ctx.db['hosts']?.['h']?.props['IpAddress']).toBe('10.0.0.1');
    expect(ctx).toHaveProperty('mode');
  });
});
