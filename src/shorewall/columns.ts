/**
 * The column layout of every Shorewall file Gatehouse reads and writes, written once: the
 * parser reads columns by these names (and Shorewall's `{name:value}` form spells them so),
 * and the model names the cells of the rows it writes with them, so a template fragment can
 * print or rearrange a row's fields (`{{fields.dport}}`, `{{columns fields}}`).
 * Names are Shorewall 5.2's (man shorewall-<file>), lower case.
 */

const MANGLE_HEAD = ['action', 'source', 'dest', 'proto', 'dport', 'sport', 'user', 'test', 'length', 'tos', 'connbytes', 'helper'] as const;
const MANGLE_TAIL = ['probability', 'dscp', 'state', 'time', 'switch'] as const;

export const SHOREWALL_COLUMNS = {
  zones: ['zone', 'type', 'options', 'in_options', 'out_options'],
  /** ?FORMAT 2, what Gatehouse writes; format 1 has a broadcast column (interfaceColumns). */
  interfaces: ['zone', 'interface', 'options'],
  hosts: ['zone', 'hosts', 'options'],
  policy: ['source', 'dest', 'policy', 'log_level', 'rate', 'connlimit'],
  rules: ['action', 'source', 'dest', 'proto', 'dport', 'sport', 'origdest', 'rate', 'user', 'mark', 'connlimit', 'time', 'headers', 'switch', 'helper'],
  snat: ['action', 'source', 'dest', 'proto', 'port', 'ipsec', 'mark', 'user', 'switch', 'origdest', 'probability'],
  nat: ['external', 'interface', 'internal', 'all_interfaces', 'local'],
  maclist: ['disposition', 'interface', 'mac', 'addresses'],
  stoppedrules: ['action', 'source', 'dest', 'proto', 'dport', 'sport'],
  mangle: [...MANGLE_HEAD, ...MANGLE_TAIL],
  /** IPv6 (shorewall6) has HEADERS before PROBABILITY. */
  mangle6: [...MANGLE_HEAD, 'headers', ...MANGLE_TAIL],
  providers: ['name', 'number', 'mark', 'duplicate', 'interface', 'gateway', 'options', 'copy'],
  rtrules: ['source', 'dest', 'provider', 'priority', 'mark'],
  routes: ['provider', 'dest', 'gateway', 'device', 'options'],
} as const satisfies Record<string, readonly string[]>;

export type ColumnFile = keyof typeof SHOREWALL_COLUMNS;

/**
 * The text of rows whose fields the model named, by their fields object: `{{row fields}}`
 * prints it as it is instead of joining the fields again (once per rule of every event).
 */
const KNOWN_LINES = new WeakMap<object, string>();

/**
 * Cells named by the file's columns, every column present (`-` when empty), in column order.
 * `line`: the row's text (the model's row(): the same as joinFields of the result), kept for joinFields.
 */
export function namedCells(file: ColumnFile, cells: readonly string[], line?: string): Record<string, string> {
  const names = SHOREWALL_COLUMNS[file];
  if (cells.length > names.length) {
    // A writer bug, not input: every row Gatehouse writes fits its file's layout.
    throw new Error(`a ${file} row has ${cells.length} cells; the file has ${names.length} columns`);
  }
  const fields: Record<string, string> = {};
  names.forEach((name, i) => (fields[name] = cells[i] === undefined || cells[i] === '' ? '-' : cells[i]!));
  if (line !== undefined) KNOWN_LINES.set(fields, line);
  return fields;
}

/** A row's text from its fields, in the order given: tab-separated, trailing `-` columns left out. */
export function joinFields(fields: Record<string, unknown>): string {
  const known = KNOWN_LINES.get(fields);
  if (known !== undefined) return known;
  const cells = Object.values(fields).map((v) => (v === undefined || v === null || v === '' ? '-' : String(v)));
  while (cells.length > 1 && cells[cells.length - 1] === '-') cells.pop();
  return cells.join('\t');
}

/** Where column `name` sits in `file` (a parser's index into a row). */
export function columnIndex<F extends ColumnFile>(file: F, name: (typeof SHOREWALL_COLUMNS)[F][number]): number {
  return (SHOREWALL_COLUMNS[file] as readonly string[]).indexOf(name);
}
