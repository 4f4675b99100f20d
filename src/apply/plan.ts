/**
 * The compiled plan as a value: the files `gatehouse compile` writes, read once and
 * checked before anything touches the kernel. Parsing here is pure; only readPlan reads.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors/index.js';

export const PLAN_FILES = ['rules.v4', 'rules.v6', 'ipsets', 'stopped.v4', 'stopped.v6', 'sysctl.conf', 'summary.json'] as const;
export type PlanFileName = (typeof PLAN_FILES)[number];

/** Files that must hold something: an empty ruleset would leave the firewall open. */
const MUST_NOT_BE_EMPTY: readonly PlanFileName[] = ['rules.v4', 'rules.v6', 'stopped.v4', 'stopped.v6', 'summary.json'];

export const RESTORE_TABLES = ['filter', 'nat', 'mangle', 'raw', 'security'] as const;

export interface Sysctl {
  key: string;
  value: string;
}

export interface IpsetDefinition {
  name: string;
  /** The rest of the `create` line after the name: type and options. */
  spec: string;
  entries: string[];
}

export interface Plan {
  /** Where the plan was read from (for messages). */
  dir: string;
  files: Record<PlanFileName, string>;
  sysctls: Sysctl[];
  ipsets: IpsetDefinition[];
  /** sha256 of each file, hex. */
  digests: Record<PlanFileName, string>;
  /** Optional parts kept with the plan when present (routing.json: applied by src/wan). */
  extras?: Record<string, string>;
}

/** Files a plan may hold; kept with it through promote and rollback. */
export const OPTIONAL_PLAN_FILES = ['routing.json'] as const;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads and validates a plan directory; a missing or corrupt file is a GatehouseError naming it. */
export async function readPlan(dir: string): Promise<Plan> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new GatehouseError(`plan directory ${dir} does not exist`, {
      hint: 'run `gatehouse compile` (or signal-event firewall-adjust) first, or name a plan with --plan',
    });
  }
  const files = {} as Record<PlanFileName, string>;
  const missing: string[] = [];
  for (const name of PLAN_FILES) {
    try {
      files[name] = await readFile(join(dir, name), 'utf8');
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new GatehouseError(`plan ${dir} is incomplete: missing ${missing.join(', ')}`, {
      hint: `a plan holds ${PLAN_FILES.join(', ')}; recompile it`,
    });
  }
  const extras: Record<string, string> = {};
  for (const name of OPTIONAL_PLAN_FILES) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) extras[name] = text;
  }
  return { ...parsePlan(dir, files), extras };
}

/** Validates plan files already in memory. */
export function parsePlan(dir: string, files: Record<PlanFileName, string>): Plan {
  for (const name of MUST_NOT_BE_EMPTY) {
    if (files[name].trim() === '') {
      throw new GatehouseError('file is empty', {
        place: { file: join(dir, name) },
        hint: 'a plan never has an empty ruleset; recompile it',
      });
    }
  }
  for (const name of ['rules.v4', 'rules.v6', 'stopped.v4', 'stopped.v6'] as const) {
    checkRestoreText(files[name], join(dir, name), name.startsWith('stopped'));
  }
  try {
    JSON.parse(files['summary.json']);
  } catch (e) {
    throw new GatehouseError(`not valid JSON: ${(e as Error).message}`, {
      place: { file: join(dir, 'summary.json') },
      hint: 'recompile the plan',
    });
  }
  const digests = {} as Record<PlanFileName, string>;
  for (const name of PLAN_FILES) digests[name] = sha256(files[name]);
  return {
    dir,
    files,
    sysctls: parseSysctlConf(files['sysctl.conf'], join(dir, 'sysctl.conf')),
    ipsets: parseIpsets(files.ipsets, join(dir, 'ipsets')),
    digests,
  };
}

/**
 * Structural check of an iptables-restore input: tables opened with `*name` and closed
 * with COMMIT, only chain declarations and rule commands in between. The kernel still
 * judges the rules themselves; this catches truncated or foreign files early.
 */
export function checkRestoreText(text: string, file: string, needsFilter: boolean): string[] {
  const tables: string[] = [];
  let open: string | undefined;
  let openLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const place = { file, line: i + 1 };
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      const table = line.slice(1);
      if (open !== undefined) {
        throw new GatehouseError(`table ${table} starts before table ${open} (line ${openLine}) has its COMMIT`, { place, hint: 'end every table with COMMIT' });
      }
      if (!(RESTORE_TABLES as readonly string[]).includes(table)) {
        throw new GatehouseError(`unknown table '${table}'`, { place, hint: `valid tables: ${RESTORE_TABLES.join(', ')}` });
      }
      if (tables.includes(table)) {
        throw new GatehouseError(`table ${table} is declared twice`, { place, hint: 'declare each table once' });
      }
      open = table;
      openLine = i + 1;
      tables.push(table);
      return;
    }
    if (line === 'COMMIT') {
      if (open === undefined) throw new GatehouseError('COMMIT outside a table', { place, hint: 'open a table with *filter, *nat, ...' });
      open = undefined;
      return;
    }
    if (open === undefined) {
      throw new GatehouseError(`'${line.slice(0, 40)}' outside a table`, { place, hint: 'rules go between *table and COMMIT' });
    }
    if (!/^(:\S+ \S+( \[\d+:\d+\])?|-[ANIDRXZFP] .*|\[\d+:\d+\] -A .*)$/.test(line)) {
      throw new GatehouseError(`not an iptables-restore line: '${line.slice(0, 60)}'`, {
        place,
        hint: 'expected a chain declaration (:CHAIN POLICY [0:0]), a rule (-A CHAIN ...) or COMMIT',
      });
    }
  });
  if (open !== undefined) {
    throw new GatehouseError(`table ${open} (line ${openLine}) has no COMMIT: the file is truncated`, {
      place: { file },
      hint: 'recompile the plan',
    });
  }
  if (tables.length === 0) {
    throw new GatehouseError('declares no table', { place: { file }, hint: 'a ruleset declares at least *filter' });
  }
  if (needsFilter && !tables.includes('filter')) {
    throw new GatehouseError('the stopped ruleset does not declare the filter table', {
      place: { file },
      hint: 'a stopped ruleset must set the filter policies, or the firewall would be open',
    });
  }
  return tables;
}

const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;

/** `key = value` lines; `#` comments and blank lines allowed. */
export function parseSysctlConf(text: string, file: string): Sysctl[] {
  const out: Sysctl[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const m = /^([^=\s]+)\s*=\s*(\S(?:.*\S)?)$/.exec(line);
    if (!m || !SYSCTL_KEY.test(m[1]!)) {
      throw new GatehouseError(`not a sysctl setting: '${line.slice(0, 60)}'`, {
        place: { file, line: i + 1 },
        hint: 'write key = value, for example net.ipv4.ip_forward = 1',
      });
    }
    out.push({ key: m[1]!, value: m[2]! });
  });
  return out;
}

const IPSET_NAME = /^[A-Za-z0-9_.:-]{1,31}$/;

/** `create NAME TYPE ...` and `add NAME ENTRY ...` lines (the form `ipset save` writes). */
export function parseIpsets(text: string, file: string): IpsetDefinition[] {
  const sets = new Map<string, IpsetDefinition>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const place = { file, line: i + 1 };
    if (line === '' || line.startsWith('#')) return;
    const [verb, name, ...rest] = line.split(/\s+/);
    if ((verb !== 'create' && verb !== 'add') || name === undefined || rest.length === 0) {
      throw new GatehouseError(`not an ipset line: '${line.slice(0, 60)}'`, {
        place,
        hint: 'expected `create NAME TYPE [options]` or `add NAME ENTRY`',
      });
    }
    if (!IPSET_NAME.test(name)) {
      throw new GatehouseError(`invalid set name '${name}'`, { place, hint: 'at most 31 letters, digits, _ . : -' });
    }
    if (verb === 'create') {
      if (sets.has(name)) throw new GatehouseError(`set ${name} is created twice`, { place, hint: 'create each set once' });
      sets.set(name, { name, spec: rest.join(' '), entries: [] });
    } else {
      const set = sets.get(name);
      if (!set) throw new GatehouseError(`add to set ${name} before its create line`, { place, hint: 'create the set first' });
      set.entries.push(rest.join(' '));
    }
  });
  return [...sets.values()];
}
