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

/** A line or record an import could not use, and why. */
export interface RefusedLine {
  line: number;
  key?: string;
  why: string;
}

export interface ImportText {
  /** `esmith`: the database file (`key=type|prop|value...`); `show`: `db show` output. */
  format: 'esmith' | 'show';
  entries: ParsedEntry[];
  refused: RefusedLine[];
}

const EXPECTED_FORMAT =
  "expected a NethServer e-smith database file (key=type|prop|value|... per line) or 'db NAME show' output (key=type, then indented prop=value lines)";

/**
 * Read text to import, forgiving per record: either a NethServer database file or the
 * output of `db NAME show` / `config show` (recognised by its indented `prop=value`
 * lines). A line that fits neither is refused with what was expected, never turned into
 * a record; the other records are still read. JSON is refused as a whole (setjson reads it).
 */
export function parseImportText(text: string, file: string): ImportText {
  const trimmedStart = text.trimStart();
  if (trimmedStart.startsWith('[') || trimmedStart.startsWith('{')) {
    throw new GatehouseError('this is JSON, not e-smith text', { place: { file }, hint: 'load db printjson output with: db NAME setjson - < FILE' });
  }
  const lines = text.split(/\r?\n/);
  const isShow = lines.some((l) => /^\s+\S[^=]*=/.test(l) && !l.trim().startsWith('#'));
  const byKey = new Map<string, ParsedEntry>();
  const refused: RefusedLine[] = [];
  let current: ParsedEntry | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (isShow && /^\s/.test(line)) {
      // An indented prop=value line belongs to the record above it.
      if (!current || eq < 0) {
        refused.push({ line: i + 1, why: current ? `'${trimmed}' has no '=' (${EXPECTED_FORMAT})` : `prop line before any key=type line (${EXPECTED_FORMAT})` });
        continue;
      }
      const prop = line.slice(0, eq).trim();
      if (prop === '' || prop === '__proto__') {
        refused.push({ line: i + 1, key: current.key, why: `invalid prop name '${prop}'` });
        continue;
      }
      current.record.props[prop] = line.slice(eq + 1);
      continue;
    }
    if (eq <= 0) {
      current = undefined;
      refused.push({ line: i + 1, why: `'${trimmed.length > 60 ? `${trimmed.slice(0, 60)}...` : trimmed}' is not a record (${EXPECTED_FORMAT})` });
      continue;
    }
    const key = line.slice(0, eq).trim();
    const raw = line.slice(eq + 1).trim();
    if (key === '__proto__' || /\s/.test(key)) {
      current = undefined;
      refused.push({ line: i + 1, key, why: `invalid key '${key}' (${EXPECTED_FORMAT})` });
      continue;
    }
    try {
      const record = isShow ? { type: raw, props: {} } : parseRawValue(raw, { file, line: i + 1, key });
      if (isShow && (raw === '' || raw.includes('|'))) throw new GatehouseError(`'${raw}' is not a type (${EXPECTED_FORMAT}; do not mix the two)`);
      current = { key, record, line: i + 1 };
      byKey.delete(key);
      byKey.set(key, current);
    } catch (e) {
      current = undefined;
      refused.push({ line: i + 1, key, why: (e as Error).message });
    }
  }
  return { format: isShow ? 'show' : 'esmith', entries: [...byKey.values()], refused };
}
