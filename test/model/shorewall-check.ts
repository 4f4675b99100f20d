/**
 * Runs real `shorewall check` / `shorewall6 check` on a generated directory. Shorewall
 * probes kernel capabilities with iptables, so the check always runs inside a throwaway
 * network namespace that is deleted afterwards, also on failure.
 */
import { execFile, spawnSync } from 'node:child_process';
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

function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ status, output: `${stdout}${stderr}${error && status === null ? `\n${error.message}` : ''}` });
    });
  });
}

/**
 * Checks each [program, dir] pair inside one fresh namespace, all at once: each check is
 * one single-threaded Perl compile, shorewall and shorewall6 probe capabilities in tables
 * of their own (iptables and ip6tables, chains named after their own pid), and the
 * namespace is removed only after every check has ended.
 */
export async function shorewallCheck(checks: { program: 'shorewall' | 'shorewall6'; dir: string }[]): Promise<CheckResult[]> {
  const ns = `gh-model-${process.pid}-${randomBytes(3).toString('hex')}`;
  const created = run('ip', ['netns', 'add', ns]);
  if (created.status !== 0) throw new Error(`cannot create network namespace ${ns}: ${created.output}`);
  try {
    return await Promise.all(
      checks.map(async ({ program, dir }) => {
        const r = await runAsync('ip', ['netns', 'exec', ns, program, 'check', dir]);
        const warnings = r.output.split('\n').filter((l) => /WARNING/.test(l)).map((l) => l.trim());
        return { ok: r.status === 0 && /configuration verified/.test(r.output), output: r.output, warnings };
      }),
    );
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}
