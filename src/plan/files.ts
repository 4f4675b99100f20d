/** A plan as the files of its directory (pure): every part's files, summary.json and the manifest. */
import { ORIGINS_FILE, serializeOrigins } from './origins.js';
import { sha256 } from './read.js';
import { MANIFEST_FILE, type Plan, type PlanInputs, type PlanManifest, SUMMARY_FILE } from './types.js';

/** JSON with object keys sorted, so equal values always give equal bytes. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}

/** The parts' files and summary.json, without the manifest. */
export function planContentFiles(plan: Plan): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [part, own] of Object.entries(plan.parts)) {
    for (const [name, text] of Object.entries(own)) {
      if (files[name] !== undefined) throw new Error(`plan file ${name} belongs to two parts (the second is ${part})`);
      files[name] = text;
    }
  }
  files[SUMMARY_FILE] = JSON.stringify(plan.summary, null, 2) + '\n';
  if (plan.origins) files[ORIGINS_FILE] = serializeOrigins(plan.origins);
  return files;
}

export function planManifest(parts: Record<string, string[]>, inputs: PlanInputs, files: Record<string, string>): PlanManifest {
  const digests: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) digests[name] = sha256(files[name]!);
  return { format: 1, parts, inputs, sha256: digests };
}

/** A plan read back, as the files of its directory: the same bytes, and a manifest for them. */
export function loadedPlanDirectoryFiles(loaded: { plan: Plan; files: Record<string, string> }): Record<string, string> {
  const parts = Object.fromEntries(Object.entries(loaded.plan.parts).map(([name, own]) => [name, Object.keys(own)]));
  return { ...loaded.files, [MANIFEST_FILE]: stableJson(planManifest(parts, loaded.plan.inputs, loaded.files)) };
}

/** Every file of the plan directory, plan.json included. */
export function planDirectoryFiles(plan: Plan): Record<string, string> {
  const files = planContentFiles(plan);
  const parts = Object.fromEntries(Object.entries(plan.parts).map(([name, own]) => [name, Object.keys(own)]));
  return { ...files, [MANIFEST_FILE]: stableJson(planManifest(parts, plan.inputs, files)) };
}
