/**
 * Target metadata: a `.metadata.json` file beside the fragments, in the shipped folder,
 * the custom folder or both (custom fields win), e.g. `{ "mode": "0600" }` or
 * `{ "delete": true }` for a file that must no longer exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { GatehouseError } from '../errors/index.js';
import { assertTrustedFile } from '../layout/index.js';
import { type TemplateDirs, shippedFolders, targetFolder } from './fragments.js';

export const METADATA_FILE = '.metadata.json';

export interface TargetMetadata {
  /** Permission bits of the written file (default 0o644). */
  mode: number;
  /** Remove the target and write nothing. */
  delete: boolean;
}

const DEFAULT_METADATA: TargetMetadata = { mode: 0o644, delete: false };

function readOne(file: string): Partial<TargetMetadata> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {}; // ENOTDIR: a flat custom template sits at the target path
    throw e;
  }
  const bad = (why: string): GatehouseError =>
    new GatehouseError(`invalid template metadata: ${why}`, {
      place: { file },
      hint: 'write a JSON object such as {"mode": "0600"} or {"delete": true}',
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('not a JSON object');
  const out: Partial<TargetMetadata> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (k === 'mode') {
      if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v)) throw bad(`mode ${JSON.stringify(v)} is not an octal string like "0600"`);
      out.mode = parseInt(v, 8);
    } else if (k === 'delete') {
      if (typeof v !== 'boolean') throw bad('delete must be true or false');
      out.delete = v;
    } else {
      throw bad(`unknown field '${k}' (known: mode, delete)`);
    }
  }
  return out;
}

export function readTargetMetadata(target: string, dirs: TemplateDirs): TargetMetadata {
  const custom = join(targetFolder(dirs.custom, target), METADATA_FILE);
  if (existsSync(custom)) assertTrustedFile(custom, dirs.custom, dirs.root ?? dirs.custom, 'the custom template metadata');
  return {
    ...DEFAULT_METADATA,
    ...Object.assign({}, ...shippedFolders(target, dirs).map((folder) => readOne(join(folder, METADATA_FILE)))),
    ...readOne(join(targetFolder(dirs.custom, target), METADATA_FILE)),
  };
}
