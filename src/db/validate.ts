/**
 * Validation: a database in, a list of problems out (pure). Every problem names the
 * db, key and prop and says what would be valid; `problemsError` turns them into the
 * one-line GatehouseError the CLI prints.
 */
import { GatehouseError } from '../errors/index.js';
import type { Database, DbRecord } from './store.js';
import { hasControlCharacter } from './schema/checks.js';
import { schemaFor } from './schema/records.js';

export interface Problem {
  db: string;
  key: string;
  prop?: string;
  message: string;
  /** What would be valid. */
  hint: string;
}

/** Quote a value for a message, showing control characters instead of printing them. */
export function quote(value: string): string {
  return JSON.stringify(value).replace(/^"|"$/g, "'");
}

/**
 * Rules for db names, keys, prop names and types: no control characters or line breaks
 * anywhere; `=` and `|` are the separators of the e-smith text format, so they may not
 * appear in keys and prop names; `__proto__` cannot be stored as a plain object key.
 */
export function nameProblem(kind: 'key' | 'prop name' | 'type' | 'database name', name: string): string | undefined {
  if (name === '') return `an empty ${kind} is not allowed`;
  if (hasControlCharacter(name)) return `the ${kind} ${quote(name)} holds a control character or line break`;
  if (kind === 'type') return undefined;
  if (name.trim() !== name) return `the ${kind} ${quote(name)} starts or ends with white space`;
  if (/[=|]/.test(name)) return `the ${kind} ${quote(name)} holds '=' or '|'`;
  if (name === '__proto__') return `'__proto__' cannot be used as a ${kind}`;
  return undefined;
}

const NAME_HINT = 'use printable characters without = or |';

/**
 * Name and character problems only: what can be judged from the input alone, before
 * the database is read (a missing type is skipped, for commands that keep the type).
 */
export function characterProblems(db: string, key: string, type: string | undefined, props: Record<string, string>): Problem[] {
  const dbProblem = nameProblem('database name', db);
  if (dbProblem) return [{ db: quote(db), key, message: dbProblem, hint: NAME_HINT }];
  const keyProblem = nameProblem('key', key);
  if (keyProblem) return [{ db, key: quote(key), message: keyProblem, hint: NAME_HINT }];
  const typeProblem = type === undefined ? undefined : nameProblem('type', type);
  if (typeProblem) return [{ db, key, message: typeProblem, hint: 'give a type such as host, rule or service' }];
  const out: Problem[] = [];
  for (const [prop, value] of Object.entries(props)) {
    const propProblem = nameProblem('prop name', prop);
    if (propProblem) out.push({ db, key, prop: quote(prop), message: propProblem, hint: NAME_HINT });
    else if (hasControlCharacter(value)) {
      out.push({ db, key, prop, message: `the value ${quote(value)} holds a control character or line break`, hint: 'values are one line of printable text' });
    }
  }
  return out;
}

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

/** One GatehouseError for a list of problems: the first one, and how many more. */
export function problemsError(problems: Problem[], where: { file?: string; line?: number } = {}): GatehouseError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new GatehouseError(`${first.message}${more}`, {
    place: { ...where, db: first.db, key: first.key, ...(first.prop !== undefined ? { prop: first.prop } : {}) },
    hint: first.hint,
  });
}

/** Throw when there are problems; used as updateDatabase's `validate`. */
export function assertNoProblems(problems: Problem[]): void {
  if (problems.length > 0) throw problemsError(problems);
}
