import { beforeAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProjectIfStale, projectDir } from './build.js';
import { makeTree, removeTree } from './fixtures.js';

const bin = join(projectDir, 'bin/expand-template.js');

beforeAll(buildProjectIfStale, 180_000);

let root: string | undefined;
afterEach(() => {
  if (root) removeTree(root);
  root = undefined;
});

// Targets under /etc/gatehouse-test/ never collide with shipped fragments.
function setup(files: Record<string, string>): string {
  const prefixed: Record<string, string> = {};
  for (const [p, t] of Object.entries(files)) prefixed[p.startsWith('@') ? p.slice(1) : `etc/gatehouse/templates-custom/etc/gatehouse-test/${p}`] = t;
  root = makeTree(prefixed);
  return root;
}

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GATEHOUSE_ROOT: '' } });
}

describe('expand-template', () => {
  it('writes the target under --root and prints nothing', () => {
    const r = setup({ 'x/10a': 'hello {{db.configuration.firewall.props.Policy}}\n', '@var/lib/gatehouse/db/configuration.json': '{"firewall":{"type":"firewall","props":{"Policy":"strict"}}}' });
    const out = run(['--root', r, '/etc/gatehouse-test/x']);
    expect(out.status).toBe(0);
    expect(out.stdout + out.stderr).toBe('');
    expect(readFileSync(join(r, 'etc/gatehouse-test/x'), 'utf8')).toBe('hello strict\n');
  });

  it('--stdout prints the expansion and writes nothing', () => {
    const r = setup({ 'x/10a': 'a\n', 'y/10b': 'b\n' });
    const out = run(['--root', r, '--stdout', '/etc/gatehouse-test/x', '/etc/gatehouse-test/y']);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('a\nb\n');
    expect(existsSync(join(r, 'etc/gatehouse-test/x'))).toBe(false);
  });

  it('a syntax error exits 1 with one line naming fragment and line, keeping the old file', () => {
    const r = setup({ 'x/10a': 'a\n', 'x/20bad.hbs': 'ok\n{{#each db.hosts}}\n', '@etc/gatehouse-test/x': 'previous\n' });
    const out = run(['--root', r, '/etc/gatehouse-test/x']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^expand-template: \S+\/etc\/gatehouse-test\/x\/20bad\.hbs:3: Handlebars syntax error: [^\n]*\n$/);
    expect(readFileSync(join(r, 'etc/gatehouse-test/x'), 'utf8')).toBe('previous\n');
  });

  it('a missing PATH is a usage error', () => {
    const r = setup({});
    const out = run(['--root', r]);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/name at least one target/);
  });

  it('--watch expands again when a custom fragment is dropped in', async () => {
    const r = setup({ 'x/10a': 'first\n' });
    const child = spawn(process.execPath, [bin, '--root', r, '--watch', '/etc/gatehouse-test/x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    const waitFor = async (re: RegExp, ms: number): Promise<void> => {
      const until = Date.now() + ms;
      while (!re.test(output)) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${re}; output so far: ${output}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    try {
      await waitFor(/watching/, 10_000);
      writeFileSync(join(r, 'etc/gatehouse/templates-custom/etc/gatehouse-test/x/20b'), 'second\n');
      await waitFor(/changed \/etc\/gatehouse-test\/x[\s\S]*changed \/etc\/gatehouse-test\/x/, 2_000);
      expect(readFileSync(join(r, 'etc/gatehouse-test/x'), 'utf8')).toBe('first\nsecond\n');
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    }
  });
});
