/**
 * Validation: a database in, a list of problems out (pure). Every problem names the
 * db, key and prop and says what would be valid; `problemsError` turns them into the
 * one-line GatehouseError the CLI prints.
 */
import type { Database, DbRecord } from './store.js';
import { type Problem, characterProblems, quote } from './names.js';
import { schemaFor } from './schema/records.js';
import { providerProblems } from './schema/providers.js';
import { zoneClashes } from './schema/zones.js';

export { type Problem, characterProblems, nameProblem, problemsError, assertNoProblems, quote } from './names.js';

/** Problems of one record: names and characters, then its schema if the type has one. */
export function validateRecord(db: string, key: string, rec: DbRecord): Problem[] {
  const out = characterProblems(db, key, rec.type, rec.props);
  if (out.length > 0) return out;
  const schema = schemaFor(db, key, rec.type);
  if (!schema) return out;
  if (schema.key) {
    const valid = schema.key(key);
    if (valid) out.push({ db, key, message: `${quote(key)} is not a valid key for a ${rec.type} record`, hint: valid });
  }
  for (const prop of schema.required ?? []) {
    if ((rec.props[prop] ?? '') === '') {
      out.push({ db, key, prop, message: `a ${rec.type} record needs ${prop}`, hint: `set ${prop}` });
    }
  }
  for (const [prop, value] of Object.entries(rec.props)) {
    if (value === '' || !Object.hasOwn(schema.props, prop)) continue;
    const valid = schema.props[prop]!(value);
    if (valid) out.push({ db, key, prop, message: `${quote(value)} is not valid`, hint: `valid: ${valid}` });
  }
  if (out.length === 0 && schema.record) {
    for (const p of schema.record(rec.props)) out.push({ db, key, ...(p.prop ? { prop: p.prop } : {}), message: p.message, hint: p.hint });
  }
  return out;
}

/** Problems of every record, in key order. */
export function validateDatabase(db: string, data: Database): Problem[] {
  const out: Problem[] = [];
  for (const key of Object.keys(data).sort()) out.push(...validateRecord(db, key, data[key]!));
  return out;
}

/**
 * Problems of the records that are new or changed since `before`: a write is judged by
 * what it changes, so an old hand-edited record does not block unrelated updates.
 */
export function validateChanges(db: string, before: Database, after: Database): Problem[] {
  const out: Problem[] = [];
  for (const key of Object.keys(after).sort()) {
    const rec = after[key]!;
    const old = Object.hasOwn(before, key) ? before[key] : undefined;
    if (old && sameRecord(old, rec)) continue;
    out.push(...validateRecord(db, key, rec));
  }
  return out;
}

function sameRecord(a: DbRecord, b: DbRecord): boolean {
  if (a.type !== b.type) return false;
  const ka = Object.keys(a.props);
  if (ka.length !== Object.keys(b.props).length) return false;
  return ka.every((p) => Object.hasOwn(b.props, p) && a.props[p] === b.props[p]);
}


/** Whether crossRecordProblems looks at other records of this database (a write of one record must then read them all). */
export function checksAcrossRecords(db: string): boolean {
  return db === 'networks';
}

/**
 * Problems between records of one database, blamed on the `touched` keys only (a write is
 * judged by what it changes): in networks, two roles or zone records that would share a
 * zone, or one whose zone is reserved; providers on a missing or non-red interface, two on one
 * interface, or more than 15.
 */
export function crossRecordProblems(db: string, data: Database, touched: Iterable<string>): Problem[] {
  if (!checksAcrossRecords(db)) return [];
  const keys = new Set(touched);
  if (keys.size === 0) return [];
  return [...zoneClashes(data, keys).filter((c) => keys.has(c.key)), ...providerProblems(data, keys)].map((c) => ({
    db,
    key: c.key,
    ...(c.prop ? { prop: c.prop } : {}),
    message: c.message,
    hint: c.hint,
  }));
}
