/** Test helpers: load a golden scenario and render every gateway target through the template engine. */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Database } from '../../src/db/index.js';
import { GATEWAY_TARGETS, buildModel, formatWarning } from '../../src/model/index.js';
import { renderTarget } from '../../src/templates/index.js';
import { buildQosModel } from '../../src/qos/index.js';

export const projectRoot = join(dirname(new URL(import.meta.url).pathname), '..', '..');
export const goldenRoot = join(projectRoot, 'test/golden/model');
export const shippedTemplates = join(projectRoot, 'templates');

export interface Scenario {
  name: string;
  dir: string;
  about: string;
  databases: Record<string, Database>;
  options: { timeZone?: string; now?: Date };
}

export function listScenarios(): string[] {
  return readdirSync(goldenRoot).filter((n) => existsSync(join(goldenRoot, n, 'databases.json'))).sort();
}

export function loadScenario(name: string): Scenario {
  const dir = join(goldenRoot, name);
  const databases = JSON.parse(readFileSync(join(dir, 'databases.json'), 'utf8')) as Record<string, Database>;
  const optionsFile = join(dir, 'options.json');
  const raw = existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as { timeZone?: string; now?: string }) : {};
  return {
    name,
    dir,
    about: readFileSync(join(dir, 'about.txt'), 'utf8').trim(),
    databases,
    options: { timeZone: raw.timeZone ?? 'UTC', now: new Date(raw.now ?? '2026-01-15T12:00:00Z') },
  };
}

/** The file beside the generated ones that holds the model's warnings, one per line. */
export const WARNINGS_FILE = 'warnings.txt';

/** target path -> generated text, for every gateway target, plus the warnings as WARNINGS_FILE. */
export function renderAll(databases: Record<string, Database>, options: Scenario['options'], customDir = join(projectRoot, 'test/model/no-custom')): Record<string, string> {
  // As the db layer does, a database the scenario leaves out reads as its shipped defaults (tc: high and low).
  const tcDefaults = JSON.parse(readFileSync(join(projectRoot, 'db/tc/defaults.json'), 'utf8')) as Database;
  const qos = buildQosModel({ tc: tcDefaults, ...databases }, options);
  const model = buildModel(databases, options);
  const context = { ...model, qos, db: databases };
  const out: Record<string, string> = {};
  for (const target of GATEWAY_TARGETS) out[target] = renderTarget(target, context, { shipped: shippedTemplates, custom: customDir });
  out[WARNINGS_FILE] = [...model.warnings.map(formatWarning), ...qos.warnings].map((w) => `${w}\n`).join('');
  return out;
}

/** Writes rendered files under dir (etc/shorewall/..., etc/shorewall6/...). */
export function writeRendered(dir: string, files: Record<string, string>): void {
  for (const [target, text] of Object.entries(files)) {
    const file = join(dir, target);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
