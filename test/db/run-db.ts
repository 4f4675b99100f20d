/** Helpers for tests that run the real `db` command in fresh roots. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const projectDir = join(import.meta.dirname, '../..');
export const dbBin = join(projectDir, 'bin/db.js');
export const configBin = join(projectDir, 'bin/config.js');

/** The shared test build (tsc and the bundle the commands load), run only when stale. */
export { buildProjectIfStale as buildProject } from '../templates/build.js';

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `db ARGS` (or another bin) with GATEHOUSE_ROOT set; never rejects. */
export function runDb(root: string, args: string[], options: { input?: string; bin?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? dbBin, ...args], {
      env: { ...process.env, GATEHOUSE_ROOT: root },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export class Roots {
  private readonly made: string[] = [];
  async make(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'gatehouse-db-'));
    this.made.push(root);
    return root;
  }
  async cleanup(): Promise<void> {
    for (const r of this.made.splice(0)) await rm(r, { recursive: true, force: true });
  }
}
