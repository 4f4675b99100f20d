/**
 * The blocklist's way into the kernel: one long-lived `ipset -` process per API, fed a
 * batch of lines at a time (never a process per entry), and a one-shot `ipset restore`
 * for whole loads (start, restart, boot). The apply mode decides where: under
 * `ip netns exec <name>`, on the host, or printed only (dry-run).
 *
 * `ipset -` prints a prompt before reading each line and an error, if any, before the
 * next prompt; with stderr joined to stdout and stdout unbuffered (stdbuf), the text
 * between prompts k and k+1 is what line k said. Lines are adds and deletes with
 * -exist, so any text there is an error. A batch is done when the prompt after its last
 * line comes, so batches may be written one after another without waiting (pipelined):
 * ipset does them in the order written, and each learns its own errors.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { type ApplyMode, type KernelRunner, createKernelRunner, formatApplyMode } from '../apply/index.js';
import { blocklistPairChainName, blocklistSetName, blocklistSets } from '../compile/index.js';
import { GatehouseError } from '../errors/index.js';
import { type BlockChain, type BlockEntry, entryKey, parseNetwork } from './entry.js';
import { TRACING, now as traceNow, trace } from './trace.js';

const PROMPT = 'ipset> ';

export interface BlocklistKernel {
  readonly mode: ApplyMode;
  /** Runs add/del lines as one batch; rejects with the first error, naming its line. Batches run in call order; one may be called before the one before has settled. */
  apply(lines: string[]): Promise<void>;
  /** Runs pair rule lines (pairLine) as one `iptables-restore --noflush` per family: all or nothing. */
  rules(lines: string[]): Promise<void>;
  /** Replaces the content of every blocklist set and pair chain by `entries` (built aside, then swapped in; the chains in one transaction per family). */
  load(entries: readonly KernelEntry[]): Promise<void>;
  /** Packet and byte counters of the entries of `chain`, by entry key (sets' element counters, pairs' rule counters). */
  counters(chain: BlockChain): Promise<Map<string, Counters>>;
  close(): void;
}

export interface Counters {
  packets: number;
  bytes: number;
}

export interface KernelEntry {
  entry: BlockEntry;
  /** Seconds left; undefined: permanent. */
  timeout?: number;
  /** A pair's expiry, epoch seconds (its rule stops matching then, by the kernel's clock). */
  expires?: number;
}

/**
 * A forward pair's rule (without `-A chain`): interfaces where given, source, destination,
 * its expiry as a time match (the kernel stops matching it at that second even when the
 * API is not running; the API deletes it then), and its key as a comment, by which its
 * counters are found.
 */
export function pairRule(entry: BlockEntry, expires?: number): string {
  const to = entry.to!;
  const out = [`-s ${entry.address}`, `-d ${to.address}`];
  if (entry.interface !== 'any') out.push(`-i ${entry.interface}`);
  if (to.interface !== 'any') out.push(`-o ${to.interface}`);
  if (expires !== undefined) out.push(`-m time --datestop ${new Date(expires * 1000).toISOString().slice(0, 19)}`);
  out.push(`-m comment --comment "${entryKey(entry)}"`, `-j ${entry.action === 'drop' ? 'DROP' : 'ACCEPT'}`);
  return out.join(' ');
}

/** `4 -A runtime-blocklist-drop <rule>`: a pair rule line, for the family's restore. */
export function pairLine(verb: '-A' | '-D', entry: BlockEntry, expires?: number): string {
  return `${entry.family} ${verb} ${blocklistPairChainName(entry.action)} ${pairRule(entry, expires)}`;
}

export function isPairLine(line: string): boolean {
  return line.startsWith('4 -') || line.startsWith('6 -');
}

/** The line that undoes a pair rule line. */
export function inversePairLine(line: string): string {
  return line.slice(0, 2) + (line.slice(2, 4) === '-A' ? '-D' : '-A') + line.slice(4);
}

/** One restore text per family: `*filter`, the lines, COMMIT (plus `head` lines first, e.g. chain declarations). */
function pairScripts(lines: readonly string[], head: readonly string[] = []): Map<4 | 6, string> {
  const out = new Map<4 | 6, string>();
  for (const family of [4, 6] as const) {
    const mine = lines.filter((l) => l.startsWith(`${family} `)).map((l) => l.slice(2));
    if (mine.length === 0 && head.length === 0) continue;
    out.set(family, ['*filter', ...head, ...mine, 'COMMIT'].join('\n') + '\n');
  }
  return out;
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

/** The kernel line that adds an entry: an ipset add, or for a pair its rule (`expires`: absolute, for its time match). */
export function addLine(entry: BlockEntry, timeout?: number, expires?: number): string {
  if (entry.to) return pairLine('-A', entry, expires);
  const { set, element, wildcard } = kernelElement(entry);
  return `add -exist ${set} ${element}${wildcard ? ' wildcard' : ''} timeout ${timeout ?? 0}`;
}

export function delLine(entry: BlockEntry, expires?: number): string {
  if (entry.to) return pairLine('-D', entry, expires);
  const { set, element } = kernelElement(entry);
  return `del -exist ${set} ${element}`;
}

/**
 * The restore script that rebuilds every blocklist set with `entries`, one swap per set:
 * each is built under a temporary name with the declared options and swapped with the
 * live set (`live`: the names the kernel holds), so a set made by an older Gatehouse
 * (without `counters`) is replaced by one with them, its entries in place all along.
 * A set missing from `live` is created first with -exist and then swapped too, never
 * renamed into place: an apply may create it between the listing and this script (a
 * rename onto it would fail the API's start), and with the same options -exist lets it be.
 */
export function loadScript(entries: readonly KernelEntry[], live: ReadonlySet<string> = new Set()): string {
  const bySet = new Map<string, string[]>();
  for (const { entry, timeout } of entries) {
    if (entry.to) continue;
    const line = addLine(entry, timeout);
    const set = kernelElement(entry).set;
    let list = bySet.get(set);
    if (!list) bySet.set(set, (list = []));
    list.push(line);
  }
  const out: string[] = [];
  blocklistSets().forEach((s, i) => {
    const temporary = `ghbl-next-${i}`;
    if (live.has(temporary)) out.push(`destroy ${temporary}`);
    if (!live.has(s.name)) out.push(`create -exist ${s.name} ${s.spec}`);
    out.push(`create ${temporary} ${s.spec}`);
    for (const line of bySet.get(s.name) ?? []) out.push(line.replace(` ${s.name} `, ` ${temporary} `));
    out.push(`swap ${temporary} ${s.name}`, `destroy ${temporary}`);
  });
  return out.join('\n') + '\n';
}

/** The restore texts that rebuild both pair chains of each family with `entries`' pairs, one transaction each. */
export function pairLoadScripts(entries: readonly KernelEntry[]): Map<4 | 6, string> {
  const lines = entries.filter((e) => e.entry.to).map((e) => pairLine('-A', e.entry, e.expires));
  // Declaring a chain in a --noflush restore creates it, or empties it in the same transaction as the refill.
  return pairScripts(lines, (['drop', 'accept'] as const).map((a) => `:${blocklistPairChainName(a)} - [0:0]`));
}

/** Counters from `ipset save` lines of the blocklist sets: `add <set> <element> ... packets P bytes B`. */
export function parseSetCounters(text: string, out = new Map<string, Counters>()): Map<string, Counters> {
  for (const line of text.split('\n')) {
    const m = /^add (ghbl-(drop|accept)-(input|output|forward)(-if)?-[46]) (\S+)(.*)$/.exec(line);
    if (!m) continue;
    const packets = /\bpackets (\d+)/.exec(m[6]!);
    const bytes = /\bbytes (\d+)/.exec(m[6]!);
    if (!packets || !bytes) continue;
    let iface = 'any';
    let address = m[5]!;
    if (m[4]) {
      const comma = address.lastIndexOf(',');
      iface = address.slice(comma + 1) + (/\bwildcard\b/.test(m[6]!) ? '+' : '');
      address = address.slice(0, comma);
    }
    let network: string;
    try {
      network = parseNetwork(address).address;
    } catch {
      continue;
    }
    out.set(`${m[2]}/${m[3]}/${iface}/${network}`, { packets: Number(packets[1]), bytes: Number(bytes[1]) });
  }
  return out;
}

/** The keys (comments) of the pair rules in `iptables -S` output. */
export function pairKeys(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const key = /--comment "?([^"\s]+)"?/.exec(line)?.[1];
    if (key) out.add(key);
  }
  return out;
}

/** Counters from `iptables -v -S <pair chain>`: each rule's comment is its entry's key. */
export function parseRuleCounters(text: string, out = new Map<string, Counters>()): Map<string, Counters> {
  for (const line of text.split('\n')) {
    const key = /--comment "?([^"\s]+)"?/.exec(line)?.[1];
    const c = /\s-c (\d+) (\d+)/.exec(line);
    if (key && c) out.set(key, { packets: Number(c[1]), bytes: Number(c[2]) });
  }
  return out;
}

interface Waiter {
  /** The prompt count at which the batch is done (its last line's number + 1). */
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
  /** Batches written and not yet done, oldest first. */
  private waiters: Waiter[] = [];
  private errors: { line: number; message: string }[] = [];
  private exited: Error | undefined;

  /** `script`: what the shell runs (the warm-up's stand-in answers like ipset and touches nothing). */
  constructor(
    private readonly mode: ApplyMode,
    private readonly script = 'exec stdbuf -o0 ipset - 2>&1',
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    const shell = ['sh', '-c', this.script];
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
      for (const w of this.waiters.splice(0)) w.reject(this.exited);
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
      while (this.waiters.length > 0 && this.prompts >= this.waiters[0]!.until) {
        const w = this.waiters.shift()!;
        const mine = this.errors.filter((e) => e.line >= w.first && e.line < w.until);
        this.errors = this.errors.filter((e) => e.line >= w.until);
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
        this.waiters.push({ until: this.sent + 1, first, lines, resolve: () => (trace('kernel', { sent: String(sent), done: String(traceNow()), lines }), resolve()), reject });
      } else this.waiters.push({ until: this.sent + 1, first, lines, resolve, reject });
      child.stdin.write(lines.join('\n') + '\n');
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}

/** ipset's interactive prompts, one before each line read, and nothing else: the warm-up's stand-in for `ipset -`. */
const PROMPTS_ONLY = `printf '${PROMPT}'; while IFS= read -r line; do printf '${PROMPT}'; done`;

/** A runner that runs nothing: the warm-up kernel's loads, rules and counters. */
const NOTHING_RUN: KernelRunner = { mode: { kind: 'dry-run' }, run: async () => '', preflight: async () => undefined };

/**
 * The warm-up's kernel (warmup.ts): the very code of the live one (the same session, pipes and
 * batches, so the machine code V8 makes while warming fits the live kernel), whose ipset is a
 * shell that only answers with prompts and whose other commands are not run: nothing reaches
 * the kernel. In a namespace's mode the shell runs there, through `ip netns exec`, as ipset would.
 */
export function createWarmUpKernel(mode: ApplyMode): BlocklistKernel {
  return liveKernel(mode, new IpsetSession(mode, PROMPTS_ONLY), NOTHING_RUN);
}

export function createBlocklistKernel(mode: ApplyMode, options: { print?: (line: string) => void } = {}): BlocklistKernel {
  const print = options.print ?? ((line: string) => void process.stdout.write(line + '\n'));
  if (mode.kind === 'dry-run') {
    return {
      mode,
      async apply(lines) {
        for (const line of lines) print(`ipset ${line}`);
      },
      async rules(lines) {
        for (const [family, script] of pairScripts(lines)) print(`${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush <<'EOF'\n${script}EOF`);
      },
      async load(entries) {
        print(`ipset restore < blocklist (${entries.length} entries, ${blocklistSets().length} sets swapped in)`);
        for (const family of pairLoadScripts(entries).keys()) print(`${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush < blocklist pair chains (IPv${family})`);
      },
      async counters() {
        return new Map();
      },
      close() {},
    };
  }
  return liveKernel(mode, new IpsetSession(mode), createKernelRunner(mode));
}

function liveKernel(mode: ApplyMode, session: IpsetSession, runner: KernelRunner): BlocklistKernel {
  const restore = (family: 4 | 6, script: string, what: string) => {
    const command = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
    return runner.run({ step: `${command} --noflush (${what}) in ${formatApplyMode(mode)}`, command, args: ['--noflush'], input: script });
  };
  /**
   * Drops the deletions of pair rules the kernel no longer holds (flushed by hand, or by
   * another tool): iptables-restore fails a whole transaction on one such `-D`, which would
   * refuse every later batch that carries it (an expired pair is retried each batch).
   * Pairs are found by their key, the rule's comment; one listing per chain concerned.
   */
  const withoutAbsentDeletes = async (lines: string[]): Promise<string[]> => {
    const chains = new Set(lines.filter((l) => l.slice(2, 4) === '-D').map((l) => l.split(' ', 3).join(' ')));
    if (chains.size === 0) return lines;
    // A chain that cannot be listed keeps its deletions: only a rule known to be absent is skipped
    // (skipping the deletion of an accept pair that is there would leave it accepting).
    const held = new Map<string, Set<string> | undefined>();
    for (const at of chains) {
      const [family, , chain] = at.split(' ');
      const text = await runner.run({ step: `${family === '4' ? 'iptables' : 'ip6tables'} -S ${chain!}`, command: family === '4' ? 'iptables' : 'ip6tables', args: ['-w', '-S', chain!] }).catch(() => undefined);
      held.set(at, text === undefined ? undefined : pairKeys(text));
    }
    return lines.filter((l) => {
      if (l.slice(2, 4) !== '-D') return true;
      const keys = held.get(l.split(' ', 3).join(' '));
      const key = /--comment "([^"]*)"/.exec(l)?.[1];
      return keys === undefined || key === undefined || keys.has(key);
    });
  };
  return {
    mode,
    apply: (lines) => session.run(lines),
    async rules(wanted) {
      const lines = await withoutAbsentDeletes(wanted);
      // IPv4 first; if IPv6 then fails, IPv4's lines are undone, so the batch is all or nothing.
      const scripts = [...pairScripts(lines)];
      for (let i = 0; i < scripts.length; i++) {
        const [family, script] = scripts[i]!;
        try {
          await restore(family, script, 'blocklist pairs');
        } catch (e) {
          for (const [done] of scripts.slice(0, i)) await restore(done, pairScripts(lines.filter((l) => l.startsWith(`${done} `)).reverse().map(inversePairLine)).get(done)!, 'blocklist pairs, undo').catch(() => undefined);
          throw e;
        }
      }
    },
    async load(entries) {
      await runner.preflight(['ipset']);
      const live = new Set((await runner.run({ step: 'ipset list -n', command: 'ipset', args: ['list', '-n'] })).split('\n').map((l) => l.trim()));
      await runner.run({ step: `ipset restore (blocklist, ${entries.length} entries) in ${formatApplyMode(mode)}`, command: 'ipset', args: ['restore'], input: loadScript(entries, live) });
      for (const [family, script] of pairLoadScripts(entries)) await restore(family, script, 'blocklist pair chains');
    },
    async counters(chain) {
      const sets = blocklistSets().filter((s) => s.name.includes(`-${chain}-`)).map((s) => s.name);
      const out = new Map<string, Counters>();
      // One process for the sets (they may hold 100,000 entries each: ipset save is the cheapest listing).
      const saved = await runner.run({ step: 'ipset save (blocklist counters)', command: 'sh', args: ['-c', 'for s; do ipset save "$s" 2>/dev/null; done; exit 0', 'sh', ...sets] });
      parseSetCounters(saved, out);
      if (chain === 'forward') {
        for (const command of ['iptables', 'ip6tables']) {
          for (const action of ['drop', 'accept'] as const) {
            const text = await runner.run({ step: `${command} -S (blocklist pair counters)`, command, args: ['-w', '-v', '-S', blocklistPairChainName(action)] }).catch(() => '');
            parseRuleCounters(text, out);
          }
        }
      }
      return out;
    },
    close: () => session.close(),
  };
}
