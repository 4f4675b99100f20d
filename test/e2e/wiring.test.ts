/**
 * The save events' compile and apply actions, the sample and the demo, without root:
 * everything in dry-run, nothing touches the kernel.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planPaths } from '../../src/plan/index.js';
import { parseInterfaceAddresses } from '../../src/plan/index.js';
import { runtimePaths } from '../../src/layout/index.js';
import { projectDir } from '../templates/build.js';
import { buildProjectIfStale, runBin } from './harness.js';

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'gatehouse-wiring-'));
  roots.push(root);
  return root;
}
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

const dryRun = (root: string) => runBin('signal-event.js', root, ['--root', root, '--apply', 'dry-run', 'firewall-adjust']);

describe('firewall-adjust wiring in dry-run', () => {
  beforeAll(buildProjectIfStale);

  it('the sample goes through expand, compile and a printed apply, with nothing recorded as running', async () => {
    const root = await freshRoot();
    expect((await runBin('gatehouse.js', root, ['sample', '--root', root])).code).toBe(0);
    const run = await dryRun(root);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^iptables-restore --noflush < rules\.v4 \(\d+ lines\)$/m);
    expect(run.stdout).toMatch(/^ip6tables-restore --noflush < rules\.v6 \(\d+ lines\)$/m);
    const next = await readFile(join(planPaths(root).next, 'rules.v4'), 'utf8');
    expect(next).toMatch(/-j DNAT --to-destination 192\.168\.20\.10:80/);
    expect(existsSync(planPaths(root).current)).toBe(false);
  });

  it('a compile failure stops the event before apply and leaves no plan', async () => {
    const root = await freshRoot();
    expect((await runBin('gatehouse.js', root, ['sample', '--root', root])).code).toBe(0);
    const custom = join(runtimePaths(root).templatesCustom, 'etc/shorewall/rules');
    await mkdir(custom, { recursive: true });
    await writeFile(join(custom, '66broken'), 'ACCEPT\tloc\tnowhere\n');
    const run = await dryRun(root);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/S80compile.*rules:\d+/);
    expect(run.stdout).not.toMatch(/iptables-restore/);
    expect(existsSync(planPaths(root).next)).toBe(false);
    expect(await readFile(join(runtimePaths(root).logDir, 'events.log'), 'utf8')).not.toMatch(/S90apply/);
  });

  it('gatehouse sample refuses a root that already has databases unless --force', async () => {
    const root = await freshRoot();
    expect((await runBin('gatehouse.js', root, ['sample', '--root', root])).code).toBe(0);
    const again = await runBin('gatehouse.js', root, ['sample', '--root', root]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already has databases \(give a fresh directory with --root DIR, or add --force\)/);
    expect((await runBin('gatehouse.js', root, ['sample', '--root', root, '--force'])).code).toBe(0);
  });

  it('npm run demo builds ./demo-root and prints the files and the plan summary', async () => {
    const cwd = await freshRoot();
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [join(projectDir, 'dist/src/cli/demo.js')], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.once('close', (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`# demo root: ${join(cwd, 'demo-root')}`);
    expect(out.stdout).toMatch(/etc\/shorewall\/rules \(\d+\)/);
    expect(out.stdout).toMatch(/IPv4: \d+ chains, \d+ rules; NAT: [1-9]\d* DNAT, 0 REDIRECT, [1-9]\d* SNAT, 1 MASQUERADE/);
    expect(out.stdout).toMatch(/zone pairs: .*net-orang \d+/);
  });
});

describe('interface addresses for the compiler', () => {
  it('global addresses are kept per interface and family, link-local and host scope are not', () => {
    const json = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', scope: 'host' }] },
      {
        ifname: 'red0',
        addr_info: [
          { family: 'inet', local: '203.0.113.2', scope: 'global' },
          { family: 'inet', local: '203.0.113.3', scope: 'global' },
          { family: 'inet6', local: '2001:db8:1::2', scope: 'global' },
          { family: 'inet6', local: 'fe80::1', scope: 'link' },
        ],
      },
    ]);
    expect(parseInterfaceAddresses(json)).toEqual({
      lo: { v4: [], v6: [] },
      red0: { v4: ['203.0.113.2', '203.0.113.3'], v6: ['2001:db8:1::2'] },
    });
  });

  it('output that is not JSON is a clear error', () => {
    expect(() => parseInterfaceAddresses('Object "addr" is unknown')).toThrow(/ip -j addr show gave no JSON/);
  });
});
