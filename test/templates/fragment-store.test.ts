import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TemplateContext, TemplateDirs } from '../../src/templates/index.js';
import { makeTree, removeTree } from './fixtures.js';

// The fresh templates modules made below (vi.resetModules) stay in this worker's registry, their store named:
// the next file sharing the worker (isolate: false) gets its own, as in a fresh process.
afterAll(() => void vi.resetModules());

let base: string | undefined;
afterEach(() => {
  if (base) removeTree(base);
  base = undefined;
});

const FRAGMENTS = {
  'shipped/etc/x/10a': 'a {{pad mode 10}}|{{#each (split list ",")}}<{{this}}>{{/each}}\n',
  'custom/etc/x/20b.hbs': '{{#if (eq mode "gateway")}}gw{{else}}other{{/if}}\n',
};

const context: TemplateContext = { mode: 'gateway', list: 'p, q,,r', db: {} };

function setup(): { dirs: TemplateDirs; store: string } {
  base = makeTree(FRAGMENTS);
  return { dirs: { shipped: join(base, 'shipped'), custom: join(base, 'custom') }, store: join(base, 'store') };
}

/** A fresh copy of the templates module, as a new process would have: empty in-memory cache. */
async function freshTemplates(): Promise<typeof import('../../src/templates/index.js')> {
  vi.resetModules();
  return import('../../src/templates/index.js');
}

describe('compiled fragment store', () => {
  it('a second process loads the kept fragments instead of compiling them, with the same output', async () => {
    const { dirs, store } = setup();
    const first = await freshTemplates();
    first.useCompiledFragmentStore(store);
    const expected = first.renderTarget('/etc/x', context, dirs);
    expect(first.fragmentCacheStats()).toMatchObject({ compiled: 2, loaded: 0 });

    const second = await freshTemplates();
    second.useCompiledFragmentStore(store);
    expect(second.renderTarget('/etc/x', context, dirs)).toBe(expected);
    expect(second.fragmentCacheStats()).toMatchObject({ compiled: 0, loaded: 2 });
    expect(expected).toBe('a gateway   |<p><q><r>\ngw\n');
  });

  it('the store folder and its entries are readable by the owner only', async () => {
    const { dirs, store } = setup();
    const t = await freshTemplates();
    t.useCompiledFragmentStore(store);
    t.renderTarget('/etc/x', context, dirs);
    expect(statSync(store).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(store)) expect(statSync(join(store, name)).mode & 0o777).toBe(0o600);
  });

  it('a damaged entry is compiled again and the output is unchanged', async () => {
    const { dirs, store } = setup();
    const first = await freshTemplates();
    first.useCompiledFragmentStore(store);
    const expected = first.renderTarget('/etc/x', context, dirs);
    for (const name of readdirSync(store)) writeFileSync(join(store, name), '{ broken');

    const second = await freshTemplates();
    second.useCompiledFragmentStore(store);
    expect(second.renderTarget('/etc/x', context, dirs)).toBe(expected);
    expect(second.fragmentCacheStats()).toMatchObject({ compiled: 2, loaded: 0 });
  });

  it('an edited fragment is not served from the store', async () => {
    const { dirs, store } = setup();
    const first = await freshTemplates();
    first.useCompiledFragmentStore(store);
    first.renderTarget('/etc/x', context, dirs);
    writeFileSync(join(dirs.custom, 'etc/x/20b.hbs'), 'edited\n');

    const second = await freshTemplates();
    second.useCompiledFragmentStore(store);
    expect(second.renderTarget('/etc/x', context, dirs)).toBe('a gateway   |<p><q><r>\nedited\n');
    expect(second.fragmentCacheStats()).toMatchObject({ compiled: 1, loaded: 1 });
  });

  it('a helper error keeps its fragment line when the fragment came from the store', async () => {
    base = makeTree({ 'custom/etc/y/10bad': '\n\n{{pad mode "wide"}}\n' });
    const dirs = { shipped: join(base, 'shipped'), custom: join(base, 'custom') };
    const store = join(base, 'store');
    const first = await freshTemplates();
    first.useCompiledFragmentStore(store);
    expect(() => first.renderTarget('/etc/y', context, dirs)).toThrow();
    const second = await freshTemplates();
    second.useCompiledFragmentStore(store);
    let caught: unknown;
    try {
      second.renderTarget('/etc/y', context, dirs);
    } catch (e) {
      caught = e;
    }
    expect(second.fragmentCacheStats().loaded).toBe(1);
    expect((caught as { place?: { line?: number } }).place?.line).toBe(3);
  });

  it('one process, store named again at each event: a store removed meanwhile is filled again from memory', async () => {
    const { dirs, store } = setup();
    const t = await freshTemplates();
    t.useCompiledFragmentStore(store);
    const expected = t.renderTarget('/etc/x', context, dirs);
    const entries = readdirSync(store).sort();
    expect(entries).toHaveLength(2);

    rmSync(store, { recursive: true });
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', context, dirs)).toBe(expected);
    // Reused from memory (nothing compiled again), and kept for the next fresh process.
    expect(t.fragmentCacheStats()).toMatchObject({ compiled: 2, reused: 2 });
    expect(readdirSync(store).sort()).toEqual(entries);
    expect(statSync(store).mode & 0o777).toBe(0o700);
  });

  it('one process: a store opened to others after an event is refused, and said, at each later event', async () => {
    const { dirs, store } = setup();
    const t = await freshTemplates();
    t.useCompiledFragmentStore(store);
    const expected = t.renderTarget('/etc/x', context, dirs);
    expect(t.takeFragmentStoreNotices()).toEqual([]);

    chmodSync(store, 0o777);
    const refusal = `compiled-fragment cache ${store} has mode 0777, open to others: not used (fragments are compiled in memory); remove it to let Gatehouse recreate it`;
    for (let event = 0; event < 2; event++) {
      t.useCompiledFragmentStore(store);
      expect(t.renderTarget('/etc/x', context, dirs)).toBe(expected);
      expect(t.takeFragmentStoreNotices()).toEqual([refusal]);
    }
  });

  it('one process: fragments compiled while no store was named are kept in the store named later', async () => {
    const { dirs, store } = setup();
    const t = await freshTemplates();
    t.useCompiledFragmentStore(undefined);
    const expected = t.renderTarget('/etc/x', context, dirs);
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', context, dirs)).toBe(expected);
    expect(t.fragmentCacheStats()).toMatchObject({ compiled: 2, reused: 2, loaded: 0 });
    expect(readdirSync(store)).toHaveLength(2);

    // And a fresh process loads them, with the same output.
    const second = await freshTemplates();
    second.useCompiledFragmentStore(store);
    expect(second.renderTarget('/etc/x', context, dirs)).toBe(expected);
    expect(second.fragmentCacheStats()).toMatchObject({ compiled: 0, loaded: 2 });
  });
});
