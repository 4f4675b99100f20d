/**
 * The e-smith text format of NethServer 7 databases (pure): `key=type|prop|value|...`,
 * one line per key, `#` comments. Values are stored unescaped in JSON; in text, a pipe
 * inside a value is written `\|` (as e-smith's reader understands it) and a backslash is
 * doubled only where it would otherwise be misread (before `|`, before `\`, or at the end
 * of a value). Any other backslash is literal, so NethServer's `\n` (an escaped newline)
 * is kept as the two characters: Gatehouse values never hold a line break.
 */
import { GatehouseError } from '../errors/index.js';
import type { Database, DbRecord } from './store.js';

/** Escape one field for the text format. */
export function escapeField(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '|') out += '\\|';
    else if (ch === '\\') {
      const next = value[i + 1];
      out += next === undefined || next === '|' || next === '\\' ? '\\\\' : '\\';
    } else out += ch;
  }
  return out;
}

/** Split a raw value on unescaped pipes and undo the escapes of `escapeField`. */
export function splitFields(raw: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    const next = raw[i + 1];
    if (ch === '\\' && (next === '|' || next === '\\')) {
      current += next;
      i++;
    } else if (ch === '|') {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}

/** The raw value of a record, `type|prop|value|...` with props sorted (what `db get` prints). */
export function formatRawValue(rec: DbRecord): string {
  let out = escapeField(rec.type);
  for (const prop of Object.keys(rec.props).sort()) out += `|${escapeField(prop)}|${escapeField(rec.props[prop]!)}`;
  return out;
}

/** Parse a raw value back into a record; `where` names the line for errors. */
export function parseRawValue(raw: string, where: { file: string; line: number; key: string }): DbRecord {
  const fields = splitFields(raw);
  const type = fields[0]!;
  if (type === '') {
    throw new GatehouseError(`record '${where.key}' has no type (the value starts with '|')`, {
      place: { file: where.file, line: where.line },
      hint: 'write key=type|prop|value...',
    });
  }
  if (fields.length % 2 === 0) {
    throw new GatehouseError(`record '${where.key}' has a prop without a value (odd number of fields after the type)`, {
      place: { file: where.file, line: where.line },
      hint: 'each prop needs |prop|value, the value may be empty',
    });
  }
  const props: Record<string, string> = {};
  for (let i = 1; i < fields.length; i += 2) {
    const prop = fields[i]!;
    if (prop === '__proto__') {
      throw new GatehouseError(`record '${where.key}' has a prop named '__proto__'`, { place: { file: where.file, line: where.line } });
    }
    props[prop] = fields[i + 1]!;
  }
  return { type, props };
}

/** One parsed line: the record and where it came from. */
export interface ParsedEntry {
  key: string;
  record: DbRecord;
  line: number;
}

/**
 * Parse e-smith text: blank and `#` lines are skipped, the key ends at the first `=`,
 * key and value are trimmed, and a key seen twice keeps its last line (as e-smith does).
 */
export function parseEsmithText(text: string, file: string): ParsedEntry[] {
  const byKey = new Map<string, ParsedEntry>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      throw new GatehouseError(`line has no '='`, { place: { file, line: i + 1 }, hint: 'write key=value or key=type|prop|value...' });
    }
    const key = line.slice(0, eq).trim();
    if (key === '') throw new GatehouseError(`line has an empty key`, { place: { file, line: i + 1 }, hint: 'write key=type...' });
    if (key === '__proto__') throw new GatehouseError(`'__proto__' cannot be a key`, { place: { file, line: i + 1 } });
    const record = parseRawValue(line.slice(eq + 1).trim(), { file, line: i + 1, key });
    byKey.delete(key);
    byKey.set(key, { key, record, line: i + 1 });
  }
  return [...byKey.values()];
}

/** Header written at the top of every export. */
export function exportHeader(name: string): string {
  return [
    '# DO NOT MODIFY THIS FILE.',
    `# Gatehouse database '${name}' in e-smith text format (db ${name} export).`,
    `# Load it back with: db ${name} import FILE`,
    '# One line per key: key=type|prop|value|..., keys and props sorted.',
    '# Inside a value, \\| is a pipe and \\\\ a backslash.',
    '#',
  ].join('\n') + '\n';
}

/** The whole database as e-smith text, deterministic (keys and props sorted). */
export function formatEsmithText(name: string, db: Database): string {
  let out = exportHeader(name);
  for (const key of Object.keys(db).sort()) out += `${key}=${formatRawValue(db[key]!)}\n`;
  return out;
}
