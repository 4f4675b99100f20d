/**
 * Provider states kept under $ROOT/var/lib/gatehouse/wan/<provider>.json, written by
 * wan-uplink-update (atomically: temp file and rename) and read by every routing apply.
 * A provider without a file is up: a fresh box routes through every provider.
 */
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderState } from '../compile/index.js';
import { underRoot } from '../layout/index.js';

export interface ProviderRecord {
  state: ProviderState;
  /** ISO time of the last change. */
  since: string;
}

export function wanDir(root: string): string {
  return underRoot(root, 'var/lib/gatehouse/wan');
}

export function readProviderStates(root: string): Promise<Record<string, ProviderRecord>> {
  return readProviderStatesIn(wanDir(root));
}

export async function readProviderStatesIn(dir: string): Promise<Record<string, ProviderRecord>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Record<string, ProviderRecord> = {};
  for (const file of names.filter((n) => n.endsWith('.json')).sort()) {
    try {
      const record = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProviderRecord;
      if (record.state === 'up' || record.state === 'down') out[file.slice(0, -5)] = record;
    } catch {
      // A torn or foreign file counts as no record (the provider is up).
    }
  }
  return out;
}

/** Sets a provider's state; returns the previous one (undefined when there was none). */
export async function writeProviderState(root: string, name: string, state: ProviderState, now = new Date()): Promise<ProviderState | undefined> {
  const dir = wanDir(root);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const before = (await readProviderStates(root))[name];
  if (before?.state === state) return before.state;
  const file = join(dir, `${name}.json`);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify({ state, since: now.toISOString() }) + '\n', { mode: 0o644 });
  await rename(temp, file);
  return before?.state;
}
