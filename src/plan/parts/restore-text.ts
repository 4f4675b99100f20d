/**
 * iptables-restore input as the plan holds it: a structural check (tables, chain
 * declarations, rules, COMMIT) that catches truncated or foreign files before the kernel
 * sees them, and the stopped ruleset completed with empty tables.
 */
import { GatehouseError } from '../../errors/index.js';

export const RESTORE_TABLES = ['filter', 'nat', 'mangle', 'raw', 'security'] as const;

/**
 * Checks the structure of an iptables-restore input and returns the tables it declares.
 * The kernel still judges the rules themselves.
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

const BUILTIN_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/**
 * The stopped ruleset plus empty nat, mangle and raw tables where it does not declare
 * them, so no port forward or mark of the running plan survives a stop.
 */
export function stoppedRestoreText(stopped: string, declared: readonly string[]): string {
  const extra = ['nat', 'mangle', 'raw']
    .filter((t) => !declared.includes(t))
    .map((t) => [`*${t}`, ...BUILTIN_CHAINS[t]!.map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'].join('\n'));
  return [stopped.replace(/\n*$/, ''), ...extra].join('\n') + '\n';
}
