import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { GatehouseError } from '../../src/errors/index.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary folder holding the given files (path -> content; mode via `{ text, mode }`). */
export function makeTree(files: Record<string, string | { text: string; mode: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  writeTree(dir, files);
  return dir;
}

export function writeTree(dir: string, files: Record<string, string | { text: string; mode: number }>): void {
  for (const [path, spec] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    const { text, mode } = typeof spec === 'string' ? { text: spec, mode: 0o644 } : spec;
    writeFileSync(file, text);
    chmodSync(file, mode);
  }
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The GatehouseError `fn` throws (anything else fails the test). */
export function errorOf(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected a GatehouseError');
}
