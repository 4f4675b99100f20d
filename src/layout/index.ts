/**
 * Where things live: the installed project (shipped templates, events, db defaults)
 * and the runtime root (databases, generated files, plans, logs). Paths only, no I/O
 * beyond locating the project folder once.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runtime root: `--root`, else GATEHOUSE_ROOT, else `/`. */
export function resolveRoot(explicit?: string): string {
  const chosen = explicit ?? process.env['GATEHOUSE_ROOT'] ?? '/';
  return resolve(chosen === '' ? '/' : chosen);
}

function findProjectDir(): string {
  // Works from src/ (vitest) and from dist/src/ (built): walk up to package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot locate the Gatehouse project folder (no package.json above the code)');
    dir = up;
  }
}

let cachedProjectDir: string | undefined;

/** The folder holding package.json, templates/, events/ and db/. */
export function projectDir(): string {
  cachedProjectDir ??= findProjectDir();
  return cachedProjectDir;
}

export interface ShippedPaths {
  templates: string;
  events: string;
  dbDefaults: string;
}

export function shippedPaths(): ShippedPaths {
  const dir = projectDir();
  return {
    templates: join(dir, 'templates'),
    events: join(dir, 'events'),
    dbDefaults: join(dir, 'db'),
  };
}

export interface RuntimePaths {
  root: string;
  dbDir: string;
  templatesCustom: string;
  eventsCustom: string;
  planDir: string;
  logDir: string;
  runDir: string;
  shorewall: string;
  shorewall6: string;
}

export function runtimePaths(root: string): RuntimePaths {
  return {
    root,
    dbDir: join(root, 'var/lib/gatehouse/db'),
    templatesCustom: join(root, 'etc/gatehouse/templates-custom'),
    eventsCustom: join(root, 'etc/gatehouse/events'),
    planDir: join(root, 'var/lib/gatehouse/plan'),
    logDir: join(root, 'var/log/gatehouse'),
    runDir: join(root, 'run/gatehouse'),
    shorewall: join(root, 'etc/shorewall'),
    shorewall6: join(root, 'etc/shorewall6'),
  };
}

/** A target path such as `/etc/shorewall/rules` placed under a root. */
export function underRoot(root: string, target: string): string {
  return join(root, target.replace(/^\/+/, ''));
}
