import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/apply/spawn.js';

const env = process.env;

describe('running one kernel command', () => {
  it('gives the command its input and returns its output, exit code and errors', async () => {
    const r = await runCommand('sh', ['-c', 'cat; echo said >&2; exit 3'], { input: 'line 1\nline 2\n', env, timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, stdout: 'line 1\nline 2\n', stderr: 'said\n', failed: true, timedOut: false });
    expect(await runCommand('sh', ['-c', 'cat'], { input: 'ok', env, timeoutMs: 10_000 })).toMatchObject({ exitCode: 0, stdout: 'ok', failed: false });
  });

  it('passes exactly the environment given', async () => {
    const r = await runCommand('/usr/bin/env', [], { input: '', env: { ONLY_THIS: 'x' }, timeoutMs: 10_000 });
    expect(r.stdout).toBe('ONLY_THIS=x\n');
  });

  it('a command that does not exist fails with its system error, not an exit code', async () => {
    const r = await runCommand('gatehouse-no-such-command', [], { input: 'x', env, timeoutMs: 10_000 });
    expect(r).toMatchObject({ failed: true, code: 'ENOENT', exitCode: undefined });
    expect(r.shortMessage).toMatch(/gatehouse-no-such-command.*ENOENT/);
  });

  it('a command that ignores a large input and exits is judged by its exit status', async () => {
    expect(await runCommand('true', [], { input: 'x'.repeat(4_000_000), env, timeoutMs: 10_000 })).toMatchObject({ exitCode: 0, failed: false });
  });

  it('a hung command is ended at its timeout, a cancelled one at its signal', async () => {
    expect(await runCommand('sleep', ['30'], { input: '', env, timeoutMs: 200 })).toMatchObject({ failed: true, timedOut: true, signal: 'SIGTERM' });
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 100);
    const r = await runCommand('sleep', ['30'], { input: '', env, timeoutMs: 10_000, cancelSignal: cancel.signal });
    expect(r).toMatchObject({ failed: true, timedOut: false, signal: 'SIGTERM' });
    expect(r.shortMessage).toMatch(/cancelled/);
  });
});
