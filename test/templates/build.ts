/**
 * CLI tests spawn bin/*.js, which load dist/. Build once, serialized across test workers
 * by a lock, and only when a source file is newer than its compiled output: concurrent
 * tsc runs rewrite dist/ under a running CLI and make tests flaky.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export const projectDir = join(import.meta.dirname, '../..');

function staleOutputs(dir: string): boolean {
  for (const entry of readdirSync(join(projectDir, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (staleOutputs(rel)) return true;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = statSync(join(projectDir, 'dist', rel.replace(/\.ts$/, '.js')), { throwIfNoEntry: false });
      if (!out || out.mtimeMs < statSync(join(projectDir, rel)).mtimeMs) return true;
    }
  }
  return false;
}

export async function buildProjectIfStale(): Promise<void> {
  const release = await lockfile.lock(join(projectDir, 'package.json'), {
    lockfilePath: join(projectDir, 'dist/.test-build.lock'),
    realpath: false,
    stale: 120_000,
    retries: { forever: true, minTimeout: 100, maxTimeout: 500 },
  });
  try {
    if (staleOutputs('src') || staleOutputs('bench')) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: projectDir, stdio: 'ignore' });
  } finally {
    await release();
  }
}
