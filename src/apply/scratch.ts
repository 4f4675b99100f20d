/**
 * Scratch network namespaces: where `gatehouse status` loads a plan to learn what the kernel
 * should show for it, without touching the kernel in force. Made on first use, always
 * removed: also when the command is interrupted (SIGINT, SIGTERM, SIGHUP).
 */
import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors/index.js';
import type { KernelRunner } from '../plan/index.js';
import { createKernelRunner } from './runner.js';

export interface Scratch {
  /** Runs `work` against the scratch namespace, making it on first use. */
  use<T>(work: (target: KernelRunner) => Promise<T>): Promise<T>;
  /** Removes the namespace if it was made. */
  dispose(): Promise<void>;
}

export function createScratch(env: NodeJS.ProcessEnv = process.env): Scratch {
  const name = `gh-ref-${process.pid}-${randomBytes(3).toString('hex')}`;
  let made: Promise<KernelRunner> | undefined;
  const make = async (): Promise<KernelRunner> => {
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
      const { execa } = await import('execa');
      await execa('ip', ['netns', 'del', name], { env, reject: false });
    },
  };
}
