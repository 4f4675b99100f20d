import { beforeAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProjectIfStale, projectDir } from '../templates/build.js';
import { makeTree, removeTree } from '../templates/fixtures.js';

const bin = join(projectDir, 'bin/signal-event.js');

beforeAll(buildProjectIfStale, 180_000);

let root: string | undefined;
afterEach(() => {
  if (root) removeTree(root);
  root = undefined;
});

const script = (text: string): { text: string; mode: number } => ({ text: `#!/bin/sh\n${text}\n`, mode: 0o755 });

function setup(events: Record<string, string | { text: string; mode: number }>): string {
  const files: Record<string, string | { text: string; mode: number }> = {};
  for (const [p, t] of Object.entries(events)) files[`etc/gatehouse/events/${p}`] = t;
  root = makeTree(files);
  return root;
}

const env = { ...process.env, GATEHOUSE_ROOT: '', GATEHOUSE_APPLY: '' };

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
}

function runAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stderr }));
  });
}

describe('signal-event', () => {
  it('two concurrent runs on one root never interleave their actions, and the second says it waits', async () => {
    // Each action logs start and end around a pause; interleaving would mix two pids inside a pair.
    const step = (n: string): { text: string; mode: number } =>
      script(`echo "$PPID start ${n}" >> "$GATEHOUSE_ROOT/trace"; sleep 0.3; echo "$PPID end ${n}" >> "$GATEHOUSE_ROOT/trace"`);
    const r = setup({ 'slow/S10a': step('a'), 'slow/S20b': step('b') });
    const first = runAsync(['--root', r, 'slow']);
    await new Promise((res) => setTimeout(res, 150));
    const second = runAsync(['--root', r, 'slow']);
    const [one, two] = await Promise.all([first, second]);
    expect(one.status).toBe(0);
    expect(two.status).toBe(0);
    const lines = readFileSync(join(r, 'trace'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(8);
    const pids = lines.map((l) => l.split(' ')[0]);
    expect(new Set(pids.slice(0, 4)).size).toBe(1);
    expect(new Set(pids.slice(4)).size).toBe(1);
    expect(pids[0]).not.toBe(pids[4]);
    expect(lines.map((l) => l.split(' ').slice(1).join(' '))).toEqual(['start a', 'end a', 'start b', 'end b', 'start a', 'end a', 'start b', 'end b']);
    expect(one.stderr + two.stderr).toMatch(/signal-event: waiting for event 'slow' \(pid \d+/);
  });

  it('a failing action exits 1 with one line naming the action and its exit code', () => {
    const r = setup({ 'ev/S10bad': script('echo broken >&2; exit 7'), 'ev/S20next': script('touch "$GATEHOUSE_ROOT/ran"') });
    const out = run(['--root', r, 'ev']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^signal-event: event 'ev' failed at action S10bad \(custom\): \S+S10bad: custom action exited with code 7; last output: broken \(see the event log for its full output\)\n$/);
  });

  it('an unknown event exits 1 with a clear message', () => {
    const r = setup({});
    const out = run(['--root', r, 'no-such-event']);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^signal-event: unknown event 'no-such-event' \(known events: /);
  });

  it('an event name is required', () => {
    const r = setup({});
    const out = run(['--root', r]);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/name an event/);
  });

  it('--verbose echoes the log lines on stderr, and arguments after NAME reach the action verbatim', () => {
    const r = setup({ 'ev/S10echo': script('echo "args: $*"') });
    const out = run(['--root', r, '--verbose', 'ev', '--not-an-option', 'x']);
    expect(out.status).toBe(0);
    expect(out.stderr).toMatch(/signal-event: Output: ev S10echo \| args: ev --not-an-option x\n/);
    expect(out.stderr).toMatch(/signal-event: Action: ev S10echo SUCCESS \[/);
  });

  it('--apply is validated and handed to actions', () => {
    const r = setup({ 'ev/S10mode': script('echo "$GATEHOUSE_APPLY" > "$GATEHOUSE_ROOT/mode"') });
    const good = run(['--root', r, '--apply', 'netns:gw-test', 'ev']);
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    expect(readFileSync(join(r, 'mode'), 'utf8')).toBe('netns:gw-test\n');
    const bad = run(['--root', r, '--apply', 'sometimes', 'ev']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/invalid apply mode 'sometimes'/);
  });

  it('a custom action may run signal-event itself without waiting for its own lock', () => {
    const r = setup({
      'outer/S10nested': script(`"${process.execPath}" "${bin}" inner && echo outer-done >> "$GATEHOUSE_ROOT/trace"`),
      'inner/S10mark': script('echo inner-done >> "$GATEHOUSE_ROOT/trace"'),
    });
    const out = spawnSync(process.execPath, [bin, '--root', r, 'outer'], { encoding: 'utf8', env, timeout: 20_000 });
    expect(out.status).toBe(0);
    expect(readFileSync(join(r, 'trace'), 'utf8')).toBe('inner-done\nouter-done\n');
  });
});
