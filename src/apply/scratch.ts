/**
 * Scratch network namespaces: where `gatehouse status` loads a plan to learn what the kernel
 * should show for it, without touching the kernel in force. Made on first use and always
 * removed: by dispose(), on SIGINT, SIGTERM and SIGHUP (handlers that remove it, then let the
 * signal end the process as it would have), and, for a creator killed outright (SIGKILL), by
 * the next status, which sweeps every `gh-ref-*` namespace whose creator no longer runs.
 * The name carries the creator's pid and start time, so a reused pid is not taken for it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { GatehouseError } from '../errors/index.js';
import type { KernelRunner } from '../plan/index.js';
import { holderAlive, processStart } from '../plan/index.js';
import { NETNS_RUN_DIR, createKernelRunner } from './runner.js';

export interface Scratch {
  /** Runs `work` against the scratch namespace, making it on first use. */
  use<T>(work: (target: KernelRunner) => Promise<T>): Promise<T>;
  /** Removes the namespace if it was made. */
  dispose(): Promise<void>;
}

const PREFIX = 'gh-ref-';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `gh-ref-<pid>-<start>-<random>` (older names: `gh-ref-<pid>-<random>`): the creator, if the name says. */
export function scratchCreator(name: string): { pid: number; start: string } | undefined {
  const m = /^gh-ref-(\d+)-(?:(\d+)-)?[0-9a-f]{6}$/.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] ?? '' } : undefined;
}

/**
 * Removes the scratch namespaces of processes that no longer run (a status killed with
 * SIGKILL, or signalled while `ip netns add` was still running). Returns their names.
 */
export async function sweepStaleScratch(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const names = await readdir(NETNS_RUN_DIR).catch(() => [] as string[]);
  const stale = names.filter((n) => {
    const creator = n.startsWith(PREFIX) ? scratchCreator(n) : undefined;
    return creator !== undefined && !holderAlive(creator);
  });
  if (stale.length === 0) return [];
  const { execa } = await import('execa');
  await Promise.all(stale.map((n) => execa('ip', ['netns', 'del', n], { env, reject: false })));
  return stale;
}

export function createScratch(env: NodeJS.ProcessEnv = process.env): Scratch {
  const name = `${PREFIX}${process.pid}-${processStart(process.pid) ?? '0'}-${randomBytes(3).toString('hex')}`;
  let made: Promise<KernelRunner> | undefined;
  let removed = false;
  const removeNow = (): void => {
    if (removed) return;
    removed = true;
    try {
      execFileSync('ip', ['netns', 'del', name], { env, stdio: 'ignore' });
    } catch {
      // not made yet, or already gone
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    removeNow();
    unwatch();
    // With nobody else listening, end as the signal would have; otherwise leave it to them (the API's own handler).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const onExit = (): void => removeNow();
  const watch = (): void => {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', onExit);
  };
  const unwatch = (): void => {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
  };
  const make = async (): Promise<KernelRunner> => {
    watch(); // before the namespace exists: a signal from here on removes it
    const { execa } = await import('execa'); // lazy: importing execa costs ~70 ms
    const result = await execa('ip', ['netns', 'add', name], { env, reject: false });
    if (result.failed) {
      throw new GatehouseError(`cannot make a scratch namespace to work out what the kernel should hold: ${String(result.stderr).trim() || result.shortMessage}`, {
        hint: 'run as root, with iproute2 installed',
      });
    }
    return createKernelRunner({ kind: 'netns', name }, { env });
  };
  return {
    async use(work) {
      made ??= make();
      return work(await made);
    },
    async dispose() {
      if (!made) return;
      await made.catch(() => undefined);
      if (!removed) {
        const { execa } = await import('execa');
        await execa('ip', ['netns', 'del', name], { env, reject: false });
        removed = true;
      }
      unwatch();
    },
  };
}
