/**
 * The blocklist's way into the kernel: one long-lived `ipset -` process per API, fed a
 * batch of lines at a time (never a process per entry), and a one-shot `ipset restore`
 * for whole loads (start, restart, boot). The apply mode decides where: under
 * `ip netns exec <name>`, on the host, or printed only (dry-run).
 *
 * `ipset -` prints a prompt before reading each line and an error, if any, before the
 * next prompt; with stderr joined to stdout and stdout unbuffered (stdbuf), the text
 * between prompts k and k+1 is what line k said. Lines are adds and deletes with
 * -exist, so any text there is an error.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { type ApplyMode, createKernelRunner, formatApplyMode } from '../apply/index.js';
import { blocklistSetName, blocklistSets } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import type { BlockEntry } from './entry.js';
import { TRACING, now as traceNow, trace } from './trace.js';

const PROMPT = 'ipset> ';

export interface BlocklistKernel {
  readonly mode: ApplyMode;
  /** Runs add/del lines as one batch; rejects with the first error, naming its line. */
  apply(lines: string[]): Promise<void>;
  /** Replaces the content of every blocklist set by `entries` (built aside, then swapped in). */
  load(entries: readonly KernelEntry[]): Promise<void>;
  close(): void;
}

export interface KernelEntry {
  entry: BlockEntry;
  /** Seconds left; undefined: permanent. */
  timeout?: number;
}

/** The set holding an entry and the element text in it. */
export function kernelElement(entry: BlockEntry): { set: string; element: string; wildcard: boolean } {
  const byInterface = entry.interface !== 'any';
  const set = blocklistSetName(entry.action, entry.chain, byInterface, entry.family);
  if (!byInterface) return { set, element: entry.address, wildcard: false };
  const wildcard = entry.interface.endsWith('+');
  const name = wildcard ? entry.interface.slice(0, -1) : entry.interface;
  return { set, element: `${entry.address},${name}`, wildcard };
}

export function addLine(entry: BlockEntry, timeout?: number): string {
  const { set, element, wildcard } = kernelElement(entry);
  return `add -exist ${set} ${element}${wildcard ? ' wildcard' : ''} timeout ${timeout ?? 0}`;
}

export function delLine(entry: BlockEntry): string {
  const { set, element } = kernelElement(entry);
  return `del -exist ${set} ${element}`;
}

/** The restore script that rebuilds every blocklist set with `entries`, one swap per set. */
export function loadScript(entries: readonly KernelEntry[]): string {
  const bySet = new Map<string, string[]>();
  for (const { entry, timeout } of entries) {
    const line = addLine(entry, timeout);
    const set = kernelElement(entry).set;
    let list = bySet.get(set);
    if (!list) bySet.set(set, (list = []));
    list.push(line);
  }
  const out: string[] = [];
  blocklistSets().forEach((s, i) => {
    const temporary = `ghbl-next-${i}`;
    out.push(`create -exist ${s.name} ${s.spec}`, `create -exist ${temporary} ${s.spec}`, `flush ${temporary}`);
    for (const line of bySet.get(s.name) ?? []) out.push(line.replace(` ${s.name} `, ` ${temporary} `));
    out.push(`swap ${temporary} ${s.name}`, `destroy ${temporary}`);
  });
  return out.join('\n') + '\n';
}

interface Waiter {
  until: number;
  first: number;
  lines: string[];
  resolve: () => void;
  reject: (e: Error) => void;
}

class IpsetSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private text = '';
  private prompts = 0;
  private sent = 0;
  private waiter: Waiter | undefined;
  private errors: { line: number; message: string }[] = [];
  private exited: Error | undefined;

  constructor(private readonly mode: ApplyMode) {}

  private start(): ChildProcessWithoutNullStreams {
    const shell = ['sh', '-c', 'exec stdbuf -o0 ipset - 2>&1'];
    const [file, args] = this.mode.kind === 'netns' ? ['ip', ['netns', 'exec', this.mode.name, ...shell]] : [shell[0]!, shell.slice(1)];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.text = '';
    this.prompts = 0;
    this.sent = 0;
    this.exited = undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.read(chunk));
    child.stderr.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.stdin.on('error', () => undefined);
    const gone = (why: string) => {
      this.exited = new GatehouseError(`the ipset process ended (${why})`, { hint: 'check that ipset and stdbuf are installed' });
      if (this.child === child) this.child = undefined;
      this.waiter?.reject(this.exited);
      this.waiter = undefined;
    };
    child.once('error', (e) => gone(e.message));
    child.once('exit', (code) => gone(`exit code ${String(code)}${this.text.trim() ? `: ${this.text.trim().slice(0, 200)}` : ''}`));
    this.child = child;
    return child;
  }

  private read(chunk: string): void {
    this.text += chunk;
    let at: number;
    while ((at = this.text.indexOf(PROMPT)) !== -1) {
      const said = this.text.slice(0, at).trim();
      this.text = this.text.slice(at + PROMPT.length);
      // What came before prompt k+1 is the answer to line k (prompt 1 precedes line 1).
      if (said !== '' && this.prompts > 0) this.errors.push({ line: this.prompts, message: said.split('\n')[0]!.replace(/^ipset v[\d.]+: /, '') });
      this.prompts++;
      const w = this.waiter;
      if (w && this.prompts >= w.until) {
        this.waiter = undefined;
        const mine = this.errors.filter((e) => e.line >= w.first);
        this.errors = [];
        if (mine.length === 0) w.resolve();
        else {
          const e = mine[0]!;
          w.reject(new GatehouseError(`ipset refused '${w.lines[e.line - w.first] ?? '?'}': ${e.message}`));
        }
      }
    }
  }

  run(lines: string[]): Promise<void> {
    if (lines.length === 0) {
      // Starts the process ahead of the first batch.
      this.child ?? this.start();
      return Promise.resolve();
    }
    const child = this.child ?? this.start();
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(this.exited);
      const first = this.sent + 1;
      this.sent += lines.length;
      if (TRACING) {
        // When the lines went to ipset and when ipset had done them.
        const sent = traceNow();
        this.waiter = { until: this.sent + 1, first, lines, resolve: () => (trace('kernel', { sent, done: traceNow(), lines }), resolve()), reject };
      } else this.waiter = { until: this.sent + 1, first, lines, resolve, reject };
      child.stdin.write(lines.join('\n') + '\n');
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}

export function createBlocklistKernel(mode: ApplyMode, options: { print?: (line: string) => void } = {}): BlocklistKernel {
  const print = options.print ?? ((line: string) => void process.stdout.write(line + '\n'));
  if (mode.kind === 'dry-run') {
    return {
      mode,
      async apply(lines) {
        for (const line of lines) print(`ipset ${line}`);
      },
      async load(entries) {
        print(`ipset restore < blocklist (${entries.length} entries, ${blocklistSets().length} sets swapped in)`);
      },
      close() {},
    };
  }
  const session = new IpsetSession(mode);
  const runner = createKernelRunner(mode);
  return {
    mode,
    apply: (lines) => session.run(lines),
    async load(entries) {
      await runner.preflight(['ipset']);
      await runner.run({ step: `ipset restore (blocklist, ${entries.length} entries) in ${formatApplyMode(mode)}`, command: 'ipset', args: ['restore'], input: loadScript(entries) });
    },
    close: () => session.close(),
  };
}
