/**
 * Where things live: the installed project (shipped templates, events, db defaults)
 * and the runtime root (databases, generated files, plans, logs). Paths only, no I/O
 * beyond locating the project folder once.
 */
import { existsSync, realpathSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatehouseError } from '../errors/index.js';

/**
 * The runtime root: `--root`, else GATEHOUSE_ROOT, else `/`. An empty value is an error,
 * never `/`: as root, `/` also makes `host` the default apply mode, so an unset variable
 * in a script would rewrite this machine's own firewall. A root on a kernel file system
 * (/proc, /sys, /dev) is refused: nothing there is a database, and reading it can spin.
 */
export function resolveRoot(explicit?: string): string {
  const fromEnv = process.env['GATEHOUSE_ROOT'];
  const [chosen, source] = explicit !== undefined ? [explicit, '--root'] : fromEnv !== undefined ? [fromEnv, 'GATEHOUSE_ROOT'] : ['/', ''];
  if (chosen.trim() === '') {
    throw new GatehouseError(`${source} is empty`, {
      hint: `give a directory (for this machine itself, write / explicitly)${source === 'GATEHOUSE_ROOT' ? ', or unset GATEHOUSE_ROOT' : ''}`,
    });
  }
  const root = resolve(chosen);
  const kernelFs = kernelFileSystem(root);
  if (kernelFs !== undefined) {
    throw new GatehouseError(`${source || 'the root'} '${root}' is on the kernel's ${kernelFs} file system`, {
      hint: 'give an ordinary directory as the root',
    });
  }
  return root;
}

/** statfs magic numbers of the kernel's own file systems. */
const KERNEL_FILE_SYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1373: 'devtmpfs',
  0x1cd1: 'devpts',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0xcafe4a11: 'bpf',
  0x6165676c: 'pstore',
  0x62656570: 'configfs',
};

/** The kernel file system holding `path` (or its nearest existing parent), if any. */
function kernelFileSystem(path: string): string | undefined {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real: string;
  try {
    real = realpathSync(existing);
  } catch {
    return undefined;
  }
  const top = /^\/(proc|sys|dev)(?:\/|$)/.exec(real)?.[1];
  if (top !== undefined) return { proc: 'proc', sys: 'sysfs', dev: 'devtmpfs' }[top];
  try {
    return KERNEL_FILE_SYSTEMS[statfsSync(real).type];
  } catch {
    return undefined;
  }
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

export { untrustedReason, assertTrustedFile, makePrivateDir } from './trust.js';
