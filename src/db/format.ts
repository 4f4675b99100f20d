/**
 * The text and JSON shapes `db` prints (pure), as NethServer 7's `db` prints them but
 * deterministic: keys and props sorted.
 */
import { GatehouseError } from '../errors/index.js';
import { formatRawValue } from './esmith.js';
import { escapeInvisible } from './names.js';
import type { Database, DbRecord } from './store.js';

/**
 * `key=type` then one `    prop=value` line per prop. Bidi and zero-width characters are
 * shown escaped (`\u202e`), so what is displayed is what is stored.
 */
export function formatShow(key: string, rec: DbRecord): string {
  let out = `${escapeInvisible(key)}=${escapeInvisible(rec.type)}\n`;
  for (const prop of Object.keys(rec.props).sort()) out += `    ${escapeInvisible(prop)}=${escapeInvisible(rec.props[prop]!)}\n`;
  return out;
}

/** `key=type|prop|value...` (the raw e-smith line). */
export function formatPrint(key: string, rec: DbRecord): string {
  return `${key}=${formatRawValue(rec)}\n`;
}

export function formatPrintType(key: string, rec: DbRecord): string {
  return `${key}=${rec.type}\n`;
}

/** `prop=value` lines, sorted; only `props` when given (unknown ones are skipped). */
export function formatPrintProp(rec: DbRecord, props: string[] = []): string {
  const chosen = props.length > 0 ? props.filter((p) => Object.hasOwn(rec.props, p)) : Object.keys(rec.props);
  return [...new Set(chosen)]
    .sort()
    .map((p) => `${p}=${rec.props[p]}\n`)
    .join('');
}

/** A record as printjson shows it; `props` is left out when there are none. */
export interface JsonEntry {
  name: string;
  type: string;
  props?: Record<string, string>;
}

export function toJsonEntry(key: string, rec: DbRecord): JsonEntry {
  const names = Object.keys(rec.props).sort();
  if (names.length === 0) return { name: key, type: rec.type };
  const props: Record<string, string> = {};
  for (const p of names) props[p] = rec.props[p]!;
  return { name: key, type: rec.type, props };
}

export function toJsonEntries(db: Database): JsonEntry[] {
  return Object.keys(db)
    .sort()
    .map((key) => toJsonEntry(key, db[key]!));
}

/**
 * Records from setjson input: one `{name, type, props}` object or an array of them.
 * Prop values must be strings (numbers and booleans are accepted and written as text).
 */
export function parseJsonEntries(text: string, source: string): { key: string; record: DbRecord }[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new GatehouseError(`not valid JSON (${(e as Error).message})`, {
      place: { file: source },
      hint: 'give {"name":"k","type":"t","props":{"p":"v"}} or an array of them',
    });
  }
  const list = Array.isArray(data) ? data : [data];
  return list.map((item, i) => {
    const where = Array.isArray(data) ? `${source} entry ${i + 1}` : source;
    const bad = (why: string): GatehouseError =>
      new GatehouseError(why, { place: { file: where }, hint: 'each entry is {"name":"k","type":"t","props":{"p":"v"}}' });
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw bad('entry is not an object');
    const { name, type, props } = item as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') throw bad('entry has no string "name"');
    if (typeof type !== 'string' || type === '') throw bad(`entry '${name}' has no string "type"`);
    const out: Record<string, string> = {};
    if (props !== undefined && props !== null) {
      if (typeof props !== 'object' || Array.isArray(props)) throw bad(`entry '${name}' has "props" that is not an object`);
      for (const [p, v] of Object.entries(props as Record<string, unknown>)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw bad(`entry '${name}' prop '${p}' is not a string`);
        }
        if (p === '__proto__') throw bad(`entry '${name}' has a prop named '__proto__'`);
        out[p] = String(v);
      }
    }
    return { key: name, record: { type, props: out } };
  });
}
