/**
 * A plan directory read back as a value: every part found, its files checked by the part,
 * and the whole read as one consistent snapshot (a directory swapped while being read is
 * noticed through the manifest's digests and read again). Parsing is pure; readPlan reads.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import type { AnyPlanPart, PlanPart } from './part.js';
import { PLAN_PARTS } from './parts/index.js';
import { ORIGINS_FILE, type PlanOrigins, parseOrigins } from './origins.js';
import { MANIFEST_FILE, type Plan, type PlanInputs, type PlanManifest, SUMMARY_FILE } from './types.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface LoadedPart {
  part: AnyPlanPart;
  content: unknown;
  /** sha256 over the part's files, in the part's order. */
  digest: string;
}

export interface LoadedPlan {
  /** Where the plan was read from (for messages). */
  dir: string;
  plan: Plan;
  /** The parts the plan holds, in apply order (every part after the parts it needs). */
  parts: LoadedPart[];
  /** The plan's files as read, byte for byte (the manifest excluded). */
  files: Record<string, string>;
  /** sha256 (hex) of every file of the plan, summary.json included. */
  digests: Record<string, string>;
}

/** The parsed content of `part` in `plan`, or undefined when the plan does not hold it. */
export function contentOf<C>(plan: LoadedPlan, part: PlanPart<C> | string): C | undefined {
  const name = typeof part === 'string' ? part : part.name;
  return plan.parts.find((p) => p.part.name === name)?.content as C | undefined;
}

/** Parts in apply order: registry order, each after the parts it needs. */
export function orderParts(parts: readonly AnyPlanPart[]): AnyPlanPart[] {
  const byName = new Map(parts.map((p) => [p.name, p]));
  const out: AnyPlanPart[] = [];
  const visiting = new Set<string>();
  const visit = (p: AnyPlanPart): void => {
    if (out.includes(p)) return;
    if (visiting.has(p.name)) throw new Error(`plan parts need each other in a circle through ${p.name}`);
    visiting.add(p.name);
    for (const need of p.needs) {
      const n = byName.get(need);
      if (n) visit(n);
    }
    visiting.delete(p.name);
    out.push(p);
  };
  parts.forEach(visit);
  return out;
}

function knownPart(name: string, dir: string): AnyPlanPart {
  const part = PLAN_PARTS.find((p) => p.name === name);
  if (!part) {
    throw new GatehouseError(`plan holds a part '${name}' that this Gatehouse does not know`, {
      place: { file: join(dir, MANIFEST_FILE) },
      hint: `known parts: ${PLAN_PARTS.map((p) => p.name).join(', ')}; recompile the plan with this version`,
    });
  }
  return part;
}

/**
 * Which parts the directory holds: those the manifest names, or, for a hand-made directory
 * without one, every part whose files are there. A required part, or a part with only some
 * of its files, is an error naming every missing file.
 */
function heldParts(dir: string, present: (file: string) => boolean, manifest: PlanManifest | undefined): AnyPlanPart[] {
  const missing: string[] = [];
  let held: AnyPlanPart[];
  if (manifest) {
    held = Object.keys(manifest.parts).map((name) => knownPart(name, dir));
    for (const part of PLAN_PARTS) if (part.required && !held.includes(part)) held.push(part);
  } else {
    held = PLAN_PARTS.filter((part) => part.required || part.files.some(present));
  }
  for (const part of held) for (const f of part.files) if (!present(f)) missing.push(f);
  if (missing.length > 0) {
    throw new GatehouseError(`plan ${dir} is incomplete: missing ${missing.join(', ')}`, {
      hint: `every part needs all its files (${held.map((p) => `${p.name}: ${p.files.join(' ')}`).join('; ')}); recompile it`,
    });
  }
  return orderParts(held);
}

/** Validates plan files already in memory. `files` holds every file by name (plan.json optional). */
export function parsePlan(dir: string, files: Readonly<Record<string, string>>, known: Readonly<Record<string, string>> = {}): LoadedPlan {
  // readPlan has hashed the files the manifest names already: a plan of 5,000 rules is megabytes.
  const digestOf = (f: string): string => known[f] ?? sha256(files[f]!);
  let manifest: PlanManifest | undefined;
  if (files[MANIFEST_FILE] !== undefined) {
    try {
      manifest = JSON.parse(files[MANIFEST_FILE]) as PlanManifest;
    } catch (e) {
      throw new GatehouseError(`not valid JSON: ${(e as Error).message}`, { place: { file: join(dir, MANIFEST_FILE) }, hint: 'recompile the plan' });
    }
  }
  const held = heldParts(dir, (f) => files[f] !== undefined, manifest);
  let summary: unknown = {};
  if (files[SUMMARY_FILE] !== undefined) {
    try {
      summary = JSON.parse(files[SUMMARY_FILE]);
    } catch (e) {
      throw new GatehouseError(`not valid JSON: ${(e as Error).message}`, { place: { file: join(dir, SUMMARY_FILE) }, hint: 'recompile the plan' });
    }
  }
  const digests: Record<string, string> = {};
  const planParts: Plan['parts'] = {};
  const parts = held.map((part) => {
    const own: Record<string, string> = {};
    for (const f of part.files) {
      own[f] = files[f]!;
      digests[f] = digestOf(f);
    }
    planParts[part.name] = own;
    return { part, content: part.parse(own, dir), digest: sha256(part.files.map((f) => digests[f]).join('\n')) };
  });
  const own: Record<string, string> = {};
  for (const part of held) for (const f of part.files) own[f] = files[f]!;
  if (files[SUMMARY_FILE] !== undefined) {
    own[SUMMARY_FILE] = files[SUMMARY_FILE];
    digests[SUMMARY_FILE] = digestOf(SUMMARY_FILE);
  }
  const inputs: PlanInputs = manifest?.inputs ?? {};
  const plan: Plan = { parts: planParts, summary, inputs };
  const originsText = files[ORIGINS_FILE];
  if (originsText !== undefined) {
    own[ORIGINS_FILE] = originsText;
    digests[ORIGINS_FILE] = digestOf(ORIGINS_FILE);
    // Only for messages (a line the kernel refuses, --explain), so parsed when first asked for:
    // it is the largest file of a plan. An unreadable one is no reason to refuse the plan.
    let parsed: PlanOrigins | undefined | null = null;
    Object.defineProperty(plan, 'origins', {
      enumerable: true,
      configurable: true,
      get: () => (parsed === null ? (parsed = parseOrigins(originsText)) : parsed),
    });
  }
  return { dir, plan, parts, files: own, digests };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

interface ReadFiles {
  files: Record<string, string>;
  /** sha256 of the files the manifest names, checked against it. */
  digests: Record<string, string>;
}

async function readBytesIfPresent(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/** One read of the directory; undefined when a file did not match the manifest (the directory changed meanwhile). */
async function readOnce(dir: string): Promise<ReadFiles | undefined> {
  const manifestText = await readIfPresent(join(dir, MANIFEST_FILE));
  const names = new Set([SUMMARY_FILE, ORIGINS_FILE, ...PLAN_PARTS.flatMap((p) => p.files)]);
  let manifest: PlanManifest | undefined;
  if (manifestText !== undefined) {
    try {
      manifest = JSON.parse(manifestText) as PlanManifest;
      for (const f of Object.keys(manifest.sha256 ?? {})) names.add(f);
    } catch {
      manifest = undefined; // parsePlan reports it
    }
  }
  const entries = await Promise.all([...names].map(async (n) => [n, await readBytesIfPresent(join(dir, n))] as const));
  const files: Record<string, string> = {};
  const digests: Record<string, string> = {};
  for (const [n, bytes] of entries) {
    if (bytes === undefined) continue;
    // The bytes are hashed as read (the same digest as of the text they decode to, when it is UTF-8).
    const expected = manifest?.sha256?.[n];
    if (expected !== undefined) {
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (digest !== expected) return undefined;
      digests[n] = digest;
    }
    files[n] = bytes.toString('utf8');
  }
  if (manifestText !== undefined) files[MANIFEST_FILE] = manifestText;
  if (manifest?.sha256) {
    for (const n of Object.keys(manifest.sha256)) if (files[n] === undefined) return undefined;
  }
  return { files, digests };
}

/**
 * Reads and validates a plan directory as one snapshot; a missing or corrupt file is a
 * GatehouseError naming it. A link (plan/next, plan/current) is resolved once, so a link
 * swapped meanwhile never mixes two plans; a directory rewritten meanwhile is read again.
 */
export async function readPlan(dir: string): Promise<LoadedPlan> {
  for (let attempt = 0; ; attempt++) {
    const real = await realpath(dir).catch(() => undefined);
    const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new GatehouseError(`plan directory ${dir} does not exist`, {
        hint: 'run `gatehouse compile` (or signal-event firewall-adjust) first, or name a plan with --plan',
      });
    }
    const read = await readOnce(real!);
    // A stored plan removed while being read (the link moved on): read where the link points now.
    const gone = read === undefined || !(await stat(real!).then(() => true, () => false));
    if (!gone) return parsePlan(dir, read.files, read.digests);
    if (attempt >= 50) {
      throw new GatehouseError(`plan ${dir} does not match its manifest (plan.json): its files were changed by hand, or it is being rewritten without pause`, {
        hint: 'recompile the plan',
      });
    }
    await new Promise((r) => setTimeout(r, 5 + attempt * 2));
  }
}
