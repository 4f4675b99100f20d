/**
 * The README's examples, run verbatim: the first example (a green interface, two hosts,
 * the spec's own rule with a bare service name, firewall-adjust) and the validation
 * refusal. Each command line is read from README.md itself, so the README cannot drift.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roots, buildProject, projectDir } from './run-db.js';

const run = promisify(execFile);
const roots = new Roots();
beforeAll(() => buildProject(), 120_000);
afterAll(() => roots.cleanup());

const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');

/** The indented code block holding `marker`, as its command lines. */
function block(marker: string): string[] {
  const lines = readme.split('\n');
  const at = lines.findIndex((l) => l.startsWith('    ') && l.includes(marker));
  expect(at, `README has a code line with ${marker}`).toBeGreaterThanOrEqual(0);
  let start = at;
  while (start > 0 && lines[start - 1]!.startsWith('    ')) start--;
  let end = at;
  while (end + 1 < lines.length && lines[end + 1]!.startsWith('    ')) end++;
  return lines.slice(start, end + 1).map((l) => l.slice(4));
}

/** Run command lines in bash with the commands on PATH, in a fresh root. */
async function sh(lines: string[], root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(root, '.bin');
  // As npm link installs them: a symlink to bin/<name>.js, run through its launcher line.
  const link = ['db', 'config', 'signal-event', 'expand-template', 'gatehouse'].map((n) => `ln -sf ${join(projectDir, 'bin', n)}.js ${bin}/${n}`).join('; ');
  try {
    const r = await run('bash', ['-e', '-c', `mkdir -p ${bin}; ${link}; export PATH=${bin}:$PATH\n${lines.join('\n')}`], { env: { ...process.env, GATEHOUSE_ROOT: root, GATEHOUSE_APPLY: 'dry-run' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('README examples', () => {
  it('the first example works as written: the rule with a bare service name reaches the rules file', async () => {
    const lines = block('db fwrules set 1 rule Src "host;myhost"');
    expect(lines).toContain('db fwrules set 1 rule Src "host;myhost" Dst "host;myserver" Service ssh Action ACCEPT Log none status enabled Position 8765');
    const root = await roots.make();
    const r = await sh(lines, root);
    expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
    const rules = readFileSync(join(root, 'etc/shorewall/rules'), 'utf8');
    expect(rules).toContain('ACCEPT\tloc:192.168.1.10\tloc:192.168.1.20\ttcp\t22');
  });

  it('the validation example prints the refusal shown', async () => {
    const lines = block('db fwrules setprop 12 Action ALLOW');
    const command = lines.find((l) => l.startsWith('$ '))!.slice(2);
    const shown = lines.find((l) => l.startsWith('db: '))!;
    const root = await roots.make();
    await sh(['db fwrules set 12 rule Src "role;green" Dst "role;red" Action accept'], root);
    const r = await sh([command], root);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${shown}\n`);
  });
});
