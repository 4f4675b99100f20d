import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { listFragments, renderTarget, type TemplateDirs } from '../../src/templates/index.js';
import { makeTree, removeTree } from './fixtures.js';

let dirs: TemplateDirs | undefined;
afterEach(() => {
  if (dirs) removeTree(join(dirs.shipped, '..'));
  dirs = undefined;
});

function setup(files: Record<string, string>): TemplateDirs {
  const base = makeTree(files);
  dirs = { shipped: join(base, 'shipped'), custom: join(base, 'custom') };
  return dirs;
}

const context = { db: {} };

describe('fragment merge', () => {
  it('concatenates fragments in byte-wise name order', () => {
    const d = setup({ 'shipped/etc/x/20b': 'b\n', 'shipped/etc/x/10a': 'a\n', 'shipped/etc/x/9z': 'z\n', 'shipped/etc/x/Upper': 'U\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('a\nb\nz\nU\n');
  });

  it('a custom fragment with a new name lands between the shipped ones', () => {
    const d = setup({ 'shipped/etc/x/30x': '30\n', 'shipped/etc/x/50y': '50\n', 'custom/etc/x/40mine': '40\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('30\n40\n50\n');
  });

  it('a custom fragment with the same name replaces the shipped one', () => {
    const d = setup({ 'shipped/etc/x/10a': 'shipped\n', 'shipped/etc/x/20b': 'kept\n', 'custom/etc/x/10a': 'custom\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('custom\nkept\n');
  });

  it('the .hbs suffix is not part of the sort name, so custom 10a replaces shipped 10a.hbs', () => {
    const d = setup({ 'shipped/etc/x/10a.hbs': 'shipped\n', 'shipped/etc/x/15m.hbs': 'middle\n', 'custom/etc/x/10a': 'custom\n' });
    expect(listFragments('/etc/x', d).map((f) => f.name)).toEqual(['10a', '15m']);
    expect(renderTarget('/etc/x', context, d)).toBe('custom\nmiddle\n');
  });

  it('an empty custom fragment disables the shipped one', () => {
    const d = setup({ 'shipped/etc/x/10a': 'a\n', 'shipped/etc/x/20b': 'b\n', 'custom/etc/x/20b': '' });
    expect(renderTarget('/etc/x', context, d)).toBe('a\n');
  });

  it('editor backups, dot files and subfolders are not fragments', () => {
    const d = setup({
      'shipped/etc/x/10a': 'a\n',
      'custom/etc/x/10a~': 'backup\n',
      'custom/etc/x/.10a.swp': 'swap\n',
      'custom/etc/x/20b.orig': 'orig\n',
      'custom/etc/x/30c.rpmnew': 'rpm\n',
      'custom/etc/x/sub/40d': 'nested\n',
    });
    expect(renderTarget('/etc/x', context, d)).toBe('a\n');
  });

  it('template-begin comes first and template-end last whatever their names sort to', () => {
    const d = setup({ 'shipped/etc/x/template-end': 'end\n', 'shipped/etc/x/00first': 'body\n', 'custom/etc/x/template-begin': 'begin\n', 'custom/etc/x/~zz': 'zz\n' });
    expect(renderTarget('/etc/x', context, d)).toBe('begin\nbody\nzz\nend\n');
  });

  it('two files that differ only by .hbs in one folder are refused, naming them', () => {
    const d = setup({ 'shipped/etc/x/10a': 'a\n', 'shipped/etc/x/10a.hbs': 'b\n' });
    expect(() => renderTarget('/etc/x', context, d)).toThrow(/'10a(\.hbs)?' and '10a(\.hbs)?' have the same name/);
  });

  it('a target without any fragment is an error naming the folders', () => {
    const d = setup({ 'shipped/etc/other/10a': 'a\n' });
    expect(() => renderTarget('/etc/x', context, d)).toThrow(/no fragments for \/etc\/x/);
  });

  it('a target path with .. is refused', () => {
    const d = setup({ 'shipped/etc/x/10a': 'a\n' });
    expect(() => renderTarget('/etc/../x', context, d)).toThrow(/invalid target path/);
  });
});
