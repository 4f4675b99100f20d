/**
 * Hostile local users: nothing that root runs or loads may be writable by anyone else.
 * Custom actions, custom fragments and compiled-fragment cache entries that another user
 * owns or could change, or symlinks leading out of the root, are refused with a message
 * naming the file; data folders and files are created owner-only.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { setRecord } from '../../src/db/index.js';
import { signalEvent, type EventDirs } from '../../src/events/index.js';
import { describeError } from '../../src/errors/index.js';
import { renderTarget, type TemplateDirs } from '../../src/templates/index.js';
import { watchTargets } from '../../src/templates/index.js';
import { makeTree, removeTree } from '../templates/fixtures.js';

// The fresh templates modules made below (vi.resetModules) stay in this worker's registry, their store named:
// the next file sharing the worker (isolate: false) gets its own, as in a fresh process.
afterAll(() => void vi.resetModules());

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('skipped the tests that give files to another user: they need root (chown)');
const NOBODY = 65534;

let bases: string[] = [];
afterEach(() => {
  for (const b of bases) removeTree(b);
  bases = [];
});

type Files = Record<string, string | { text: string; mode: number }>;
const script = (text: string): { text: string; mode: number } => ({ text: `#!/bin/sh\n${text}\n`, mode: 0o755 });

function setup(files: Files): { base: string; root: string; eventDirs: EventDirs; templateDirs: TemplateDirs } {
  const base = makeTree(files);
  bases.push(base);
  const root = join(base, 'root');
  mkdirSync(root, { recursive: true });
  return {
    base,
    root,
    eventDirs: { shipped: join(base, 'events'), custom: join(root, 'etc/gatehouse/events'), root },
    templateDirs: { shipped: join(base, 'templates'), custom: join(root, 'etc/gatehouse/templates-custom'), root },
  };
}

const ACTION = 'root/etc/gatehouse/events/ev/S10mine';
const planted = (root: string): boolean => existsSync(join(root, 'ran'));

async function runEvent(s: ReturnType<typeof setup>): Promise<unknown> {
  return signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs, applyMode: { kind: 'dry-run' } }).then(
    () => undefined,
    (e: unknown) => describeError(e),
  );
}

describe('custom event actions', () => {
  it('an owner-only executable of root runs', async () => {
    const s = setup({ [ACTION]: script('touch "$GATEHOUSE_ROOT/ran"') });
    expect(await runEvent(s)).toBeUndefined();
    expect(planted(s.root)).toBe(true);
  });

  it('a world-writable action is refused, naming the file, and does not run', async () => {
    const s = setup({ [ACTION]: { text: '#!/bin/sh\ntouch "$GATEHOUSE_ROOT/ran"\n', mode: 0o777 } });
    expect(await runEvent(s)).toBe(`${join(s.root, 'etc/gatehouse/events/ev/S10mine')}: refusing the custom action: it is writable by every user (mode 0777) (files that root runs or loads must belong to root and be writable by their owner only (chown root, chmod go-w), and symlinks must stay inside the root)`);
    expect(planted(s.root)).toBe(false);
  });

  it('a group-writable action is refused', async () => {
    const s = setup({ [ACTION]: { text: '#!/bin/sh\ntouch "$GATEHOUSE_ROOT/ran"\n', mode: 0o775 } });
    expect(await runEvent(s)).toMatch(/S10mine: refusing the custom action: it is writable by its group \(mode 0775\)/);
    expect(planted(s.root)).toBe(false);
  });

  it('an action in a world-writable event folder is refused (anyone could swap the file)', async () => {
    const s = setup({ [ACTION]: script('touch "$GATEHOUSE_ROOT/ran"') });
    chmodSync(join(s.root, 'etc/gatehouse/events/ev'), 0o777);
    expect(await runEvent(s)).toMatch(/S10mine: refusing the custom action: its folder .*events\/ev is writable by every user \(mode 0777\)/);
    expect(planted(s.root)).toBe(false);
  });

  it.skipIf(!isRoot)('an action owned by another user (nobody) is refused even with mode 0755', async () => {
    const s = setup({ [ACTION]: script('touch "$GATEHOUSE_ROOT/ran"') });
    chownSync(join(s.root, 'etc/gatehouse/events/ev/S10mine'), NOBODY, NOBODY);
    expect(await runEvent(s)).toMatch(/S10mine: refusing the custom action: it is owned by uid 65534, not by root or the user running Gatehouse/);
    expect(planted(s.root)).toBe(false);
  });

  it('a symlink leading out of the root is refused, naming the link and its target', async () => {
    const s = setup({ 'outside/evil': script('touch "$GATEHOUSE_ROOT/ran"') });
    mkdirSync(join(s.root, 'etc/gatehouse/events/ev'), { recursive: true });
    symlinkSync(join(s.base, 'outside/evil'), join(s.root, 'etc/gatehouse/events/ev/S10mine'));
    expect(await runEvent(s)).toContain(`S10mine: refusing the custom action: it is a symlink leading out of the root (to ${join(s.base, 'outside/evil')})`);
    expect(planted(s.root)).toBe(false);
  });

  it('a symlink to a trusted file inside the root is followed', async () => {
    const s = setup({ 'root/usr/local/bin/mine': script('touch "$GATEHOUSE_ROOT/ran"') });
    mkdirSync(join(s.root, 'etc/gatehouse/events/ev'), { recursive: true });
    symlinkSync(join(s.root, 'usr/local/bin/mine'), join(s.root, 'etc/gatehouse/events/ev/S10mine'));
    expect(await runEvent(s)).toBeUndefined();
    expect(planted(s.root)).toBe(true);
  });

  it('a world-writable file naming a built-in action is refused too', async () => {
    const s = setup({ [ACTION]: { text: 'apply\n', mode: 0o666 } });
    expect(await runEvent(s)).toMatch(/S10mine: refusing the custom action: it is writable by every user/);
  });
});

describe('custom fragments', () => {
  const FRAGMENT = 'root/etc/gatehouse/templates-custom/etc/x/20mine';
  const render = (s: ReturnType<typeof setup>): string => {
    try {
      return renderTarget('/etc/x', { db: {} }, s.templateDirs);
    } catch (e) {
      throw new Error(describeError(e));
    }
  };

  it('a trusted custom fragment is used', () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n', [FRAGMENT]: 'mine\n' });
    expect(render(s)).toBe('base\nmine\n');
  });

  it('a world-writable custom fragment is refused, naming the file', () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n', [FRAGMENT]: { text: 'ACCEPT all all\n', mode: 0o666 } });
    expect(() => render(s)).toThrow(`${join(s.root, 'etc/gatehouse/templates-custom/etc/x/20mine')}: refusing the custom fragment: it is writable by every user (mode 0666)`);
  });

  it.skipIf(!isRoot)('a custom fragment owned by another user is refused', () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n', [FRAGMENT]: 'ACCEPT all all\n' });
    chownSync(join(s.root, 'etc/gatehouse/templates-custom/etc/x/20mine'), NOBODY, NOBODY);
    expect(() => render(s)).toThrow(/20mine: refusing the custom fragment: it is owned by uid 65534/);
  });

  it('a custom fragment that is a symlink out of the root is refused', () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n', 'elsewhere/f': 'ACCEPT all all\n' });
    mkdirSync(join(s.root, 'etc/gatehouse/templates-custom/etc/x'), { recursive: true });
    symlinkSync(join(s.base, 'elsewhere/f'), join(s.root, 'etc/gatehouse/templates-custom/etc/x/20mine'));
    expect(() => render(s)).toThrow(/20mine: refusing the custom fragment: it is a symlink leading out of the root/);
  });

  it('custom metadata writable by others is refused', () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n', 'root/etc/gatehouse/templates-custom/etc/x/.metadata.json': { text: '{"delete": true}', mode: 0o666 } });
    return import('../../src/templates/index.js').then((t) =>
      expect(() => {
        try {
          t.readTargetMetadata('/etc/x', s.templateDirs);
        } catch (e) {
          throw new Error(describeError(e));
        }
      }).toThrow(/\.metadata\.json: refusing the custom template metadata: it is writable by every user/),
    );
  });
});

describe('the compiled-fragment cache', () => {
  const FRAGMENTS: Files = { 'templates/etc/x/10base': 'base {{db.v}}\n' };

  async function fresh(): Promise<typeof import('../../src/templates/index.js')> {
    vi.resetModules();
    return import('../../src/templates/index.js');
  }

  /** Fill the store once, then plant `code` in every entry and give it `mode`/`owner`. */
  async function plantedStore(mode: number, owner?: number): Promise<{ s: ReturnType<typeof setup>; store: string; entry: string }> {
    const s = setup(FRAGMENTS);
    const store = join(s.root, 'var/cache/gatehouse/fragments');
    const first = await fresh();
    first.useCompiledFragmentStore(store);
    first.renderTarget('/etc/x', { db: { v: '1' } as never }, s.templateDirs);
    const entry = join(store, readdirSync(store)[0]!);
    // A compiled template that ignores its input: what an attacker would plant.
    writeFileSync(entry, '{"compiler":[8,">= 4.3.0"],"main":function(){return "PLANTED\\n";},"useData":true}');
    chmodSync(entry, mode);
    if (owner !== undefined) chownSync(entry, owner, owner);
    return { s, store, entry };
  }

  it('an entry we wrote and nobody else can change is loaded (the planted text shows it is run)', async () => {
    const { s, store } = await plantedStore(0o600);
    const t = await fresh();
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', { db: { v: '2' } as never }, s.templateDirs)).toBe('PLANTED\n');
  });

  it('a world-writable entry is not run: the fragment is compiled again and the refusal named', async () => {
    const { s, store, entry } = await plantedStore(0o666);
    const t = await fresh();
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', { db: { v: '2' } as never }, s.templateDirs)).toBe('base 2\n');
    expect(t.takeFragmentStoreNotices()).toEqual([`compiled-fragment cache entry ${entry} has mode 0666, open to others: not run; compiled again`]);
    expect(t.fragmentCacheStats()).toMatchObject({ compiled: 1, loaded: 0 });
    // Rebuilt: the next process loads our own entry again.
    expect(statSync(entry).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!isRoot)('an entry owned by another user is not run', async () => {
    const { s, store, entry } = await plantedStore(0o600, NOBODY);
    const t = await fresh();
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', { db: { v: '3' } as never }, s.templateDirs)).toBe('base 3\n');
    expect(t.takeFragmentStoreNotices()[0]).toBe(`compiled-fragment cache entry ${entry} is owned by uid ${NOBODY}, not by the user running Gatehouse (uid 0): not run; compiled again`);
  });

  it('a symlinked entry is not run', async () => {
    const { s, store, entry } = await plantedStore(0o600);
    const elsewhere = join(s.base, 'planted.js');
    writeFileSync(elsewhere, readFileSync(entry));
    const { rmSync } = await import('node:fs');
    rmSync(entry);
    symlinkSync(elsewhere, entry);
    const t = await fresh();
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', { db: { v: '4' } as never }, s.templateDirs)).toBe('base 4\n');
    expect(t.takeFragmentStoreNotices()[0]).toMatch(/cache entry .* is a symlink: not run/);
  });

  it('a cache folder open to others is not used at all', async () => {
    const { s, store } = await plantedStore(0o600);
    chmodSync(store, 0o777);
    const t = await fresh();
    t.useCompiledFragmentStore(store);
    expect(t.renderTarget('/etc/x', { db: { v: '5' } as never }, s.templateDirs)).toBe('base 5\n');
    expect(t.takeFragmentStoreNotices()[0]).toBe(`compiled-fragment cache ${store} has mode 0777, open to others: not used (fragments are compiled in memory); remove it to let Gatehouse recreate it`);
  });
});

describe('data folders and files are owner-only, whichever command creates them first', () => {
  it('db: the database folder is 0700 and a database file 0600', async () => {
    const s = setup({});
    await setRecord(s.root, 'networks', 'ppp0', 'xdsl', { Password: 'secret' });
    expect(statSync(join(s.root, 'var/lib/gatehouse/db')).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.root, 'var/lib/gatehouse/db/networks.json')).mode & 0o777).toBe(0o600);
  });

  it('expand-template --watch on a fresh root creates the database folder 0700', async () => {
    const s = setup({ 'templates/etc/x/10base': 'base\n' });
    const watcher = watchTargets(s.root, ['/etc/x'], { dirs: s.templateDirs, onReport: () => {} });
    await watcher.ready;
    await watcher.close();
    expect(statSync(join(s.root, 'var/lib/gatehouse/db')).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.root, 'etc/gatehouse/templates-custom/etc/x')).mode & 0o022).toBe(0);
  });

  it('signal-event: the log folder and the lock folder are 0700, the log 0600', async () => {
    const s = setup({ 'events/ev/S10ok': script('true') });
    await signalEvent({ root: s.root, event: 'ev', eventDirs: s.eventDirs, applyMode: { kind: 'dry-run' } });
    expect(statSync(join(s.root, 'var/log/gatehouse')).mode & 0o777).toBe(0o700);
    expect(statSync(join(s.root, 'var/log/gatehouse/events.log')).mode & 0o777).toBe(0o600);
    expect(statSync(join(s.root, 'run/gatehouse')).mode & 0o777).toBe(0o700);
  });
});
