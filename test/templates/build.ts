/**
 * CLI tests spawn bin/*.js, which load the bundle in dist/bin/ (built from dist/src/ by
 * scripts/bundle.mjs). Build once, serialized across test workers by a lock, and only
 * when a source file is newer than its compiled output or the bundle is older than the
 * compiled code: concurrent builds rewrite dist/ under a running CLI and make tests flaky.
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

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function staleBundle(): boolean {
  const bundle = statSync(join(projectDir, 'dist/bin/signal-event.js'), { throwIfNoEntry: false });
  return !bundle || bundle.mtimeMs < newestMtime(join(projectDir, 'dist/src'));
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
    if (staleBundle()) execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: projectDir, stdio: 'ignore' });
  } finally {
    await release();
  }
}
