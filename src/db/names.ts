/**
 * The character and naming rules every database, key, prop and value obeys, and the
 * problem type validation reports. Cheap to load (no address parsing), so every write
 * checks its input with it before taking the lock.
 */
import { GatehouseError } from '../errors/index.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Control characters and line breaks can inject lines into generated files. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

export interface Problem {
  db: string;
  key: string;
  prop?: string;
  message: string;
  /** What would be valid. */
  hint: string;
}

/**
 * Bidirectional controls and zero-width characters: they make text display as something
 * else (a key that reads `web` but is not, an error message that reads backwards).
 */
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

export function hasInvisibleCharacter(text: string): boolean {
  INVISIBLE.lastIndex = 0;
  return INVISIBLE.test(text);
}

/** Text with bidi and zero-width characters shown as `\u202e` escapes, for display. */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Quote a value for a message, showing control and invisible characters instead of printing them. */
export function quote(value: string): string {
  return escapeInvisible(JSON.stringify(value).replace(/^"|"$/g, "'"));
}

/**
 * Rules for db names, keys, prop names and types: no control characters or line breaks
 * anywhere; `=` and `|` are the separators of the e-smith text format, so they may not
 * appear in keys and prop names; `__proto__` cannot be stored as a plain object key.
 */
export function nameProblem(kind: 'key' | 'prop name' | 'type' | 'database name', name: string): string | undefined {
  if (name === '') return `an empty ${kind} is not allowed`;
  if (hasControlCharacter(name)) return `the ${kind} ${quote(name)} holds a control character or line break`;
  if (hasInvisibleCharacter(name)) return `the ${kind} ${quote(name)} holds a bidirectional or zero-width character, which would display as something else`;
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
