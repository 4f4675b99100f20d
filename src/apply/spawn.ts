/**
 * Running one kernel command: Node's own child_process, with what the apply layer needs
 * (input on stdin, whole stdout and stderr, a timeout, a cancel signal) and nothing else.
 * An event runs eight or more of these from a process holding the whole plan; execa's
 * per-call machinery cost 10-20 ms of CPU each there (measured against this, same heap),
 * and its import another 70 ms.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; undefined when the command did not start or was killed by a signal. */
  exitCode?: number | undefined;
  signal?: string | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The system error when the command could not start (ENOENT, EACCES). */
  code?: string | undefined;
  shortMessage?: string | undefined;
  failed: boolean;
}

export interface CommandOptions {
  input: string;
  /** The whole environment of the command (nothing is added from this process's). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  cancelSignal?: AbortSignal | undefined;
}

/** After a timeout or a cancel, the time SIGTERM is given before SIGKILL. */
const KILL_GRACE_MS = 5000;

export function runCommand(file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let startError: NodeJS.ErrnoException | undefined;
    let grace: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      grace ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    options.cancelSignal?.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // A command that exits without reading all its input closes the pipe: its exit status says what happened.
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => (startError = e));
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      options.cancelSignal?.removeEventListener('abort', stop);
      const result: CommandResult = {
        exitCode: startError ? undefined : (exitCode ?? undefined),
        signal: signal ?? undefined,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        code: startError?.code,
        failed: startError !== undefined || timedOut || exitCode !== 0,
      };
      if (startError) result.shortMessage = `${file}: ${startError.message}`;
      else if (signal) result.shortMessage = `${file} was killed by ${signal}${options.cancelSignal?.aborted ? ' (cancelled)' : ''}`;
      resolve(result);
    });
    child.stdin.end(options.input);
  });
}
