/**
 * Throwaway network namespaces for tests that need the kernel. Every kernel command
 * runs under `ip netns exec`; the namespace is removed afterwards, also on failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';

function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why kernel tests cannot run here, or undefined when they can. */
export function whyNoNetns(tools: string[] = []): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root to create network namespaces';
  for (const tool of ['ip', ...tools]) if (!hasTool(tool)) return `${tool} is not installed`;
  return undefined;
}

let counter = 0;

export function withNetns<T>(fn: (ns: string) => T): T {
  const ns = `ghc-${process.pid}-${++counter}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    return fn(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Runs a command inside the namespace; returns exit status and output. */
export function inNetns(ns: string, command: string[], input?: string): { status: number; output: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
