/** The README's multi-WAN commands, as written, on a root whose interfaces exist (dry run: nothing applied). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProjectIfStale, runBin } from '../e2e/harness.js';

describe('README multi-WAN example', () => {
  let root: string;
  beforeAll(async () => {
    await buildProjectIfStale();
    root = await mkdtemp(join(tmpdir(), 'gatehouse-readme-wan-'));
    for (const args of [
      ['networks', 'set', 'eth0', 'ethernet', 'role', 'green', 'bootproto', 'none', 'ipaddr', '192.168.1.1', 'netmask', '255.255.255.0'],
      ['networks', 'set', 'eth1', 'ethernet', 'bootproto', 'dhcp'],
      ['networks', 'set', 'eth2', 'ethernet', 'bootproto', 'dhcp'],
    ]) expect((await runBin('db.js', root, args)).code).toBe(0);
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('runs as written and produces providers, with the routing part in the plan', async () => {
    const readme = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('## Multi-WAN'), readme.indexOf('gatehouse wan-monitor --once'));
    const lines = block.split('\n').filter((l) => /^ {4}(db|signal-event) /.test(l)).map((l) => l.trim().replace(/\s+#.*$/, ''));
    expect(lines.length).toBe(6);
    for (const line of lines) {
      const [bin, ...args] = line.split(/\s+/);
      const r = await runBin(`${bin}.js`, root, bin === 'signal-event' ? ['--root', root, '--apply', 'dry-run', ...args] : args);
      expect(r.code, `${line}: ${r.stderr}`).toBe(0);
    }
    expect(await readFile(join(root, 'etc/shorewall/providers'), 'utf8')).toMatch(/firstisp\t1\t0x10000\t-\teth1\tdetect\tbalance=2,persistent,track/);
    expect(await readFile(join(root, 'var/lib/gatehouse/plan/next/routing.json'), 'utf8')).toMatch(/"secondisp"/);
    const monitor = await runBin('gatehouse.js', root, ['wan-monitor', '--root', root, '--apply', 'dry-run', '--once']);
    expect(monitor.code).not.toBe(0);
    expect(monitor.stderr).toMatch(/needs a target/);
  }, 120_000);
});
