/**
 * Expansion: render every requested target first, then write. A fragment error anywhere
 * means nothing is written, so a run never leaves half of a set of files regenerated.
 */
import { underRoot, runtimePaths, shippedPaths } from '../layout/index.js';
import { GatehouseError } from '../errors/index.js';
import { readAllDatabases } from '../db/index.js';
import { buildModel } from '../model/index.js';
import { buildQosModel } from '../qos/index.js';
import { type TemplateDirs, normalizeTarget } from './fragments.js';
import { readTargetMetadata } from './metadata.js';
import { type TemplateContext, renderTarget } from './render.js';
import { deleteFileIfPresent, writeFileIfChanged } from './write.js';

/** Shipped templates of this installation and the root's templates-custom. */
export function defaultTemplateDirs(root: string): TemplateDirs {
  return { shipped: shippedPaths().templates, custom: runtimePaths(root).templatesCustom, root };
}

export interface ExpandResult {
  changed: string[];
  unchanged: string[];
}

type Planned = { target: string; file: string; mode: number } & ({ delete: true } | { delete: false; content: string });

/** Render and write targets under root atomically, only when changed; all-or-nothing per target. */
export async function expandTargets(
  root: string,
  targets: string[],
  context: TemplateContext,
  options: { dirs?: TemplateDirs } = {},
): Promise<ExpandResult> {
  const dirs = options.dirs ?? defaultTemplateDirs(root);
  const planned: Planned[] = [];
  const errors: unknown[] = [];
  for (const raw of [...new Set(targets.map(normalizeTarget))]) {
    try {
      const meta = readTargetMetadata(raw, dirs);
      const file = underRoot(root, raw);
      planned.push(
        meta.delete
          ? { target: raw, file, mode: meta.mode, delete: true }
          : { target: raw, file, mode: meta.mode, delete: false, content: renderTarget(raw, context, dirs) },
      );
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) {
    const first = errors[0];
    if (errors.length === 1 || !(first instanceof GatehouseError)) throw first;
    throw new GatehouseError(`${first.message} (and ${errors.length - 1} more failing target(s); nothing was written)`, {
      place: first.place,
      ...(first.hint !== undefined ? { hint: first.hint } : {}),
      cause: first,
    });
  }
  // Targets are distinct files: their reads, fsyncs and renames overlap; the report keeps target order.
  const outcomes = await Promise.all(
    planned.map((p) => (p.delete ? deleteFileIfPresent(p.file) : writeFileIfChanged(p.file, p.content, p.mode))),
  );
  const result: ExpandResult = { changed: [], unchanged: [] };
  planned.forEach((p, i) => result[outcomes[i]!].push(p.target));
  return result;
}

/** The context for a root: every database as db.<name> plus the model from src/model (buildModel(dbs)). */
export async function buildTemplateContext(root: string): Promise<TemplateContext> {
  const db = await readAllDatabases(root);
  const model = buildModel(db);
  return { ...model, qos: buildQosModel(db), db };
}
