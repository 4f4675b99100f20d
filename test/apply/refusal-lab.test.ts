/**
 * A rule the kernel refuses, compiled from Shorewall-style files, is reported with where it
 * came from (file, line and database record), and the running ruleset stays.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../lab/lab.js';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { temporaryRoot } from './plans.js';

const why = labUnavailableReason();
if (why) console.warn('skipped: ' + why);

const gatehouse = (args: string[]) => execa('node', [join(projectDir, 'bin/gatehouse.js'), ...args], { reject: false });

const FILES: Record<string, string> = {
  zones: 'fw firewall\nloc ipv4\nnet ipv4\n',
  interfaces: '?FORMAT 2\nloc eth0\nnet eth1\n',
  policy: 'loc net ACCEPT\n$FW all ACCEPT\nnet all DROP\nall all REJECT\n',
  rules: ['ACCEPT loc $FW tcp 22', '?COMMENT RULE 17 drop the blocklist', 'DROP net:+nosuchset $FW', '?COMMENT'].join('\n') + '\n',
};

describe.skipIf(why)('a rule the kernel refuses', () => {
  const ns = `gh-refuse-${randomBytes(3).toString('hex')}`;
  let root: string;

  beforeAll(async () => {
    await buildProjectIfStale();
    execFileSync('ip', ['netns', 'add', ns]);
    root = await temporaryRoot();
  }, 120_000);
  afterAll(async () => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('is reported with its file, line and record, and the kernel keeps what it had', async () => {
    const dir = join(root, 'etc/shorewall');
    await mkdir(dir, { recursive: true });
    // First a plan the kernel takes.
    for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), name === 'rules' ? 'ACCEPT loc $FW tcp 22\n' : text);
    expect((await gatehouse(['compile', '--root', root])).exitCode).toBe(0);
    const good = await gatehouse(['apply', '--root', root, '--apply', `netns:${ns}`]);
    expect(good.exitCode, good.stderr).toBe(0);
    const before = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'filter'], { encoding: 'utf8' }).replace(/^#.*\n/gm, '');

    // Then one whose line 3 names a set nobody made: compiled (with a note), refused by the kernel.
    await writeFile(join(dir, 'rules'), FILES['rules']!);
    const compiled = await gatehouse(['compile', '--root', root]);
    expect(compiled.exitCode, compiled.stderr).toBe(0);
    expect(compiled.stdout).toContain('nosuchset');
    const apply = await gatehouse(['apply', '--root', root, '--apply', `netns:${ns}`]);
    expect(apply.exitCode).toBe(1);
    expect(apply.stderr).toMatch(/nosuchset/);
    expect(apply.stderr).toContain(`comes from ${join(dir, 'rules')}:3 (fwrules/17)`);
    const after = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'filter'], { encoding: 'utf8' }).replace(/^#.*\n/gm, '');
    expect(after.replace(/\[\d+:\d+\]/g, '')).toBe(before.replace(/\[\d+:\d+\]/g, ''));
  }, 60_000);
});
