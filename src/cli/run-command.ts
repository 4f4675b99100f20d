/**
 * How every command ends: all of its output written (to a terminal, a file or a pipe)
 * before the process exits, and a non-zero exit when it could not be written.
 *
 * Writes to a pipe are asynchronous once the pipe is full: a bare `process.exit()` after
 * the last write cut `db hosts export` at 64 KiB. Here the command's exit code is held
 * until stdout and stderr have taken everything. A reader that goes away early
 * (`db hosts keys | head -1`) is not a failure of ours: EPIPE ends the output quietly
 * and the command still finishes its own work (an event is never cut short by a closed
 * pipe). Any other write error (a full disk) is reported on stderr and exits 1.
 */

import { writeSync } from 'node:fs';

type Stream = NodeJS.WriteStream;

interface OutputState {
  /** The reader closed the pipe: further output is dropped without a word. */
  closed: Set<Stream>;
  /** The first real write error and the stream it hit. */
  failed?: { stream: Stream; error: NodeJS.ErrnoException };
}

/** The streams the command has used, each watched from its creation; one nobody used is never created. */
const used = new Set<Stream>();

function watch(stream: Stream, state: OutputState): void {
  used.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') state.closed.add(stream);
    else state.failed ??= { stream, error };
  });
}

/** Resolves once everything written so far has left the process (or the stream failed). */
function flushed(stream: Stream, state: OutputState): Promise<void> {
  if (stream.destroyed || state.closed.has(stream)) return Promise.resolve();
  return new Promise((resolve) => {
    // Write callbacks run in order: this one runs after every earlier write is done.
    stream.write('', () => resolve());
  });
}

function describeWriteError(error: NodeJS.ErrnoException): string {
  return error.code === 'ENOSPC' ? 'no space left on device' : error.code ?? error.message;
}

/**
 * Watches process.stdout or process.stderr from the moment something first uses it.
 * Creating the stream loads Node's stream (and for a pipe, net) modules, a few ms of every
 * start: a `db setprop` that prints nothing should not pay for it.
 */
function watchWhenUsed(name: 'stdout' | 'stderr', state: OutputState): void {
  const descriptor = Object.getOwnPropertyDescriptor(process, name);
  if (!descriptor?.get || !descriptor.configurable) {
    watch(process[name], state);
    return;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: descriptor.enumerable ?? true,
    get(): Stream {
      Object.defineProperty(process, name, descriptor);
      const stream = process[name];
      watch(stream, state);
      return stream;
    },
  });
}

/** Where writeOutput sends output: the descriptor, the stream (once it took some, all later output, in order), or nowhere (the reader went away). */
let outputTo: 'descriptor' | 'stream' | 'closed' = 'descriptor';

/**
 * Writes command output to stdout: directly (a system call, no stream to create) while
 * the descriptor takes it whole, else through process.stdout, which waits for a full pipe
 * and reports a failure the way runCommand describes. A reader gone away (EPIPE) ends the
 * output quietly.
 */
export function writeOutput(text: string): void {
  if (outputTo === 'closed') return;
  if (outputTo === 'stream') {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(1, bytes, done);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
      outputTo = 'closed';
      return;
    }
    // EAGAIN (a non-blocking pipe that is full) or a real error: the stream waits, or reports it.
  }
  outputTo = 'stream';
  process.stdout.write(bytes.subarray(done));
}

/**
 * Run by name, bin/*.js start Node without NODE_EXTRA_CA_CERTS (Node reads the file at
 * every start; Gatehouse opens no TLS connection) and carry its value in
 * GATEHOUSE_NODE_EXTRA_CA_CERTS: the programs a command runs (event actions, hooks) get
 * the environment the administrator set, unchanged.
 */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const carried = env['GATEHOUSE_NODE_EXTRA_CA_CERTS'];
  if (carried === undefined) return;
  delete env['GATEHOUSE_NODE_EXTRA_CA_CERTS'];
  env['NODE_EXTRA_CA_CERTS'] ??= carried;
}

export interface RunCommandOptions {
  /**
   * `now`: exit as soon as the output is out (db: nothing else runs, and tearing down a
   * heap that held a large database only costs time). `natural` (default): set the exit
   * code and let Node finish whatever else is still pending.
   */
  exit?: 'now' | 'natural';
}

/**
 * Run a command's `main` and end with its code once its output is out. `name` prefixes
 * the one-line message printed when the output could not be written.
 */
export async function runCommand(name: string, main: () => Promise<number>, options: RunCommandOptions = {}): Promise<void> {
  restoreExtraCaCerts();
  const state: OutputState = { closed: new Set() };
  watchWhenUsed('stdout', state);
  watchWhenUsed('stderr', state);
  let code: number;
  try {
    code = await main();
  } catch (e) {
    process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    code = 1;
  }
  for (const stream of used) await flushed(stream, state);
  if (state.failed) {
    const which = state.failed.stream === process.stdout ? 'output' : 'error output';
    if (state.failed.stream !== process.stderr) {
      process.stderr.write(`${name}: could not write the ${which}: ${describeWriteError(state.failed.error)}; it is incomplete\n`);
      await flushed(process.stderr, state);
    }
    if (code === 0) code = 1;
  }
  if (options.exit === 'now') process.exit(code);
  process.exitCode = code;
}
