import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from './scenarios.js';
import { buildProjectIfStale } from '../templates/build.js';

const project = join(import.meta.dirname, '../..');
const roots: string[] = [];

function rootWith(scenario: string): string {
  const root = mkdtempSync(join(tmpdir(), 'gh-compile-'));
  roots.push(root);
  cpSync(join(GOLDEN_DIR, scenario, 'input'), join(root, 'etc/shorewall'), { recursive: true });
  return root;
}

function gatehouse(args: string[]) {
  const r = spawnSync(process.execPath, [join(project, 'bin/gatehouse.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => buildProjectIfStale(), 120_000);
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('gatehouse compile', () => {
  it('writes the plan files into plan/next and prints the summary', () => {
    const root = rootWith('gateway');
    const r = gatehouse(['compile', '--root', root]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/IPv4: \d+ chains, \d+ rules; NAT: 4 DNAT/);
    const next = join(root, 'var/lib/gatehouse/plan/next');
    expect(readdirSync(next).sort()).toEqual(['ipsets', 'origins.json', 'plan.json', 'rules.v4', 'rules.v6', 'stopped.v4', 'stopped.v6', 'summary.json', 'sysctl.conf']);
    expect(readFileSync(join(next, 'rules.v4'), 'utf8')).toBe(readFileSync(join(GOLDEN_DIR, 'gateway/rules.v4'), 'utf8'));
  });

  it('gives byte-identical files on a second run', () => {
    const root = rootWith('gateway');
    gatehouse(['compile', '--root', root, '--out', join(root, 'a')]);
    gatehouse(['compile', '--root', root, '--out', join(root, 'b')]);
    for (const f of readdirSync(join(root, 'a'))) expect(readFileSync(join(root, 'b', f), 'utf8')).toBe(readFileSync(join(root, 'a', f), 'utf8'));
  });

  it('--explain lists every rule compiled from a line with its file and line', () => {
    const root = rootWith('gateway');
    const r = gatehouse(['compile', '--root', root, '--check', '--explain']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^IPv4: \d+ rules from the files$/m);
    const listed = r.stdout.split('\n').filter((l) => l.startsWith('  /'));
    expect(listed.length).toBeGreaterThan(5);
    for (const l of listed) expect(l).toMatch(new RegExp(`^  ${join(root, 'etc/shorewall')}/(rules|policy|snat|nat|mangle|maclist|blrules):\\d+( \\([a-z]+/[^)]+\\))?  (filter|nat|mangle|raw)  -A `));
  });

  it('--check validates and writes nothing', () => {
    const root = rootWith('server-mode');
    const r = gatehouse(['compile', '--root', root, '--check']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('valid');
    expect(existsSync(join(root, 'var/lib/gatehouse/plan'))).toBe(false);
  });

  it('an error names file, line and column, exits 1 and leaves the previous plan alone', () => {
    const root = rootWith('gateway');
    expect(gatehouse(['compile', '--root', root]).status).toBe(0);
    const before = readFileSync(join(root, 'var/lib/gatehouse/plan/next/rules.v4'), 'utf8');
    writeFileSync(join(root, 'etc/shorewall/rules'), 'ACCEPT\tdmz\t$FW\ttcp\t22\n');
    const r = gatehouse(['compile', '--root', root]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("rules:1 column 8 (source): unknown zone 'dmz'");
    expect(readFileSync(join(root, 'var/lib/gatehouse/plan/next/rules.v4'), 'utf8')).toBe(before);
  });

  it('reads --name=value as --name value, and runs the forms its own bundle does not read through the whole command', () => {
    const root = rootWith('gateway');
    const plain = gatehouse(['compile', '--root', root, '--out', join(root, 'a')]);
    const equals = gatehouse(['compile', `--root=${root}`, `--out=${join(root, 'b')}`]);
    expect(equals.status, equals.stderr).toBe(0);
    expect(equals.stdout).toBe(plain.stdout.replace(join(root, 'a'), join(root, 'b')));
    for (const f of readdirSync(join(root, 'a'))) expect(readFileSync(join(root, 'b', f), 'utf8')).toBe(readFileSync(join(root, 'a', f), 'utf8'));
    // Forms only yargs reads: help, an unknown option, a negated flag.
    const help = gatehouse(['compile', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--addresses');
    const unknown = gatehouse(['compile', '--root', root, '--bogus']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^gatehouse: .*bogus/);
    const negated = gatehouse(['compile', '--root', root, '--no-check', '--out', join(root, 'c')]);
    expect(negated.status, negated.stderr).toBe(0);
    expect(existsSync(join(root, 'c/rules.v4'))).toBe(true);
  });
});
