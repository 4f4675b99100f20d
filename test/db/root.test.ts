/**
 * The root every command works under: an empty GATEHOUSE_ROOT or --root is an error, never
 * `/` (as root `/` also makes `host` the default apply mode), and a root on a kernel file
 * system is refused at once instead of being read.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRoot } from '../../src/layout/index.js';
import { Roots, buildProject, projectDir } from './run-db.js';

const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());

function run(bin: string, args: string[], env: Record<string, string | undefined>) {
  const full = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
  return spawnSync(process.execPath, [join(projectDir, 'bin', `${bin}.js`), ...args], { encoding: 'utf8', env: full as NodeJS.ProcessEnv, timeout: 20_000 });
}

describe('an empty root is an error, never /', () => {
  const commands: [string, string[]][] = [
    ['db', ['configuration', 'setprop', 'firewall', 'Policy', 'strict']],
    ['config', ['show']],
    ['signal-event', ['firewall-adjust']],
    ['expand-template', ['/etc/shorewall/rules']],
    ['gatehouse', ['status']],
  ];

  it.each(commands)('%s with GATEHOUSE_ROOT empty exits 1, naming the variable', (bin, args) => {
    const r = run(bin, args, { GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: undefined });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`${bin === "config" ? "db" : bin}: GATEHOUSE_ROOT is empty (give a directory (for this machine itself, write / explicitly), or unset GATEHOUSE_ROOT)\n`);
  });

  it.each(commands)('%s with --root "" exits 1, naming the option', (bin, args) => {
    const r = run(bin, ['--root=', ...args], { GATEHOUSE_ROOT: undefined, GATEHOUSE_APPLY: undefined });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--root is empty|Not enough arguments following: root|root/);
  });

  it('db --root "" (a separate empty argument) exits 1', () => {
    const r = run('db', ['--root', '', 'hosts', 'keys'], {});
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('db: --root is empty (give a directory (for this machine itself, write / explicitly))\n');
  });

  it('white space only is empty too', () => {
    expect(() => resolveRoot('  ')).toThrow(/--root is empty/);
  });

  it('--root wins over an empty GATEHOUSE_ROOT', async () => {
    const root = await roots.make();
    const r = run('db', ['--root', root, 'configuration', 'getprop', 'firewall', 'Policy'], { GATEHOUSE_ROOT: '' });
    expect(r).toMatchObject({ status: 0, stdout: 'permissive\n', stderr: '' });
  });
});

describe('kernel file systems are refused as roots', () => {
  it.each(['/proc/1', '/proc', '/sys/kernel', '/dev'])('db --root %s exits 1 at once', (dir) => {
    const r = run('db', ['--root', dir, 'hosts', 'keys'], {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^db: --root '${dir}' is on the kernel's (proc|sysfs|devtmpfs) file system \\(give an ordinary directory as the root\\)\\n$`));
  });

  it('a symlink into /proc is followed and refused', async () => {
    const { symlink } = await import('node:fs/promises');
    const root = await roots.make();
    await symlink('/proc/self', join(root, 'p'));
    expect(() => resolveRoot(join(root, 'p'))).toThrow(/kernel's proc file system/);
  });

  it('a root that does not exist yet is fine', async () => {
    const root = await roots.make();
    expect(resolveRoot(join(root, 'a/b'))).toBe(join(root, 'a/b'));
  });
});
