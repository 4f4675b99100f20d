/**
 * Runs real `shorewall check` / `shorewall6 check` on a generated directory. Shorewall
 * probes kernel capabilities with iptables, so the check always runs inside a throwaway
 * network namespace that is deleted afterwards, also on failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface CheckResult {
  ok: boolean;
  output: string;
  warnings: string[];
}

/** Why the check cannot run here, or undefined when it can. */
export function shorewallCheckSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'shorewall check needs root (it runs inside a network namespace)';
  for (const tool of ['/usr/sbin/shorewall', '/usr/sbin/shorewall6']) if (!existsSync(tool)) return `${tool} is not installed`;
  if (spawnSync('ip', ['netns', 'list']).status !== 0) return 'ip netns is not available';
  return undefined;
}

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Checks each [program, dir] pair inside one fresh namespace. */
export function shorewallCheck(checks: { program: 'shorewall' | 'shorewall6'; dir: string }[]): CheckResult[] {
  const ns = `gh-model-${process.pid}-${randomBytes(3).toString('hex')}`;
  const created = run('ip', ['netns', 'add', ns]);
  if (created.status !== 0) throw new Error(`cannot create network namespace ${ns}: ${created.output}`);
  try {
    return checks.map(({ program, dir }) => {
      const r = run('ip', ['netns', 'exec', ns, program, 'check', dir]);
      const warnings = r.output.split('\n').filter((l) => /WARNING/.test(l)).map((l) => l.trim());
      return { ok: r.status === 0 && /configuration verified/.test(r.output), output: r.output, warnings };
    });
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}
