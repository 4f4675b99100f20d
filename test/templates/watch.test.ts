import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { watchTargets, type TargetWatcher, type WatchReport } from '../../src/templates/index.js';
import { makeTree, removeTree } from './fixtures.js';

let base: string | undefined;
let watcher: TargetWatcher | undefined;
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  if (base) removeTree(base);
  base = undefined;
});

function nextReport(reports: WatchReport[], count: number, withinMs: number): Promise<WatchReport> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (reports.length >= count) {
        clearInterval(poll);
        resolve(reports[count - 1]!);
      } else if (Date.now() - started > withinMs) {
        clearInterval(poll);
        reject(new Error(`no expansion within ${withinMs} ms`));
      }
    }, 10);
  });
}

describe('watchTargets', () => {
  it('a fragment dropped into templates-custom is picked up within a second', async () => {
    base = makeTree({ 'shipped/etc/x/10a': 'shipped\n' });
    const root = join(base, 'root');
    const dirs = { shipped: join(base, 'shipped'), custom: join(root, 'etc/gatehouse/templates-custom') };
    const reports: WatchReport[] = [];
    watcher = watchTargets(root, ['/etc/x'], { dirs, debounceMs: 50, onReport: (r) => reports.push(r) });
    await watcher.ready;
    writeFileSync(join(dirs.custom, 'etc/x/20mine'), 'mine {{@fragment}}\n');
    const report = await nextReport(reports, 1, 1000);
    expect(report.ok).toBe(true);
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('shipped\nmine 20mine\n');
  });

  it('a database change re-expands the target', async () => {
    base = makeTree({ 'shipped/etc/x/10a': '{{db.hosts.h.props.IpAddress}}\n' });
    const root = join(base, 'root');
    const dirs = { shipped: join(base, 'shipped'), custom: join(root, 'etc/gatehouse/templates-custom') };
    const reports: WatchReport[] = [];
    watcher = watchTargets(root, ['/etc/x'], { dirs, debounceMs: 50, onReport: (r) => reports.push(r) });
    await watcher.ready;
    mkdirSync(join(root, 'var/lib/gatehouse/db'), { recursive: true });
    writeFileSync(join(root, 'var/lib/gatehouse/db/hosts.json'), JSON.stringify({ h: { type: 'host', props: { IpAddress: '10.1.1.1' } } }));
    await nextReport(reports, 1, 1000);
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('10.1.1.1\n');
  });

  it('a broken fragment is reported as an error naming it, and the file is kept', async () => {
    base = makeTree({ 'shipped/etc/x/10a': 'good\n', 'root/etc/x': 'previous\n' });
    const root = join(base, 'root');
    const dirs = { shipped: join(base, 'shipped'), custom: join(root, 'etc/gatehouse/templates-custom') };
    const reports: WatchReport[] = [];
    watcher = watchTargets(root, ['/etc/x'], { dirs, debounceMs: 50, onReport: (r) => reports.push(r) });
    await watcher.ready;
    writeFileSync(join(dirs.custom, 'etc/x/20bad'), '{{/if}}\n');
    const report = await nextReport(reports, 1, 1000);
    expect(report.ok).toBe(false);
    if (!report.ok) expect(String((report.error as Error).message)).toMatch(/syntax error/);
    expect(readFileSync(join(root, 'etc/x'), 'utf8')).toBe('previous\n');
  });
});
