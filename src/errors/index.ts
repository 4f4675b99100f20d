/**
 * Errors are values with a place and a suggestion; front ends decide how to print them.
 * Every stage throws GatehouseError for problems a person must fix (bad input, missing
 * objects, refused commands), and lets genuine bugs surface as plain Errors.
 */

/** Where a problem is: a file position, a database record, or both. */
export interface Place {
  file?: string;
  line?: number;
  column?: string;
  db?: string;
  key?: string;
  prop?: string;
}

export interface GatehouseErrorOptions {
  place?: Place;
  /** What would be valid, or what to do next. */
  hint?: string;
  /** Process exit code a CLI should use (default 1). */
  exitCode?: number;
  cause?: unknown;
}

export class GatehouseError extends Error {
  readonly place: Place;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: GatehouseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.place = options.place ?? {};
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  /** One line for a person: `place: message (hint)`. */
  format(): string {
    const where = formatPlace(this.place);
    const head = where ? `${where}: ${this.message}` : this.message;
    return this.hint ? `${head} (${this.hint})` : head;
  }
}

/** `file:line [column]` and/or `db/key/prop`, whichever parts are known. */
export function formatPlace(place: Place): string {
  const parts: string[] = [];
  if (place.file !== undefined) {
    let p = place.file;
    if (place.line !== undefined) p += `:${place.line}`;
    if (place.column !== undefined) p += ` column ${place.column}`;
    parts.push(p);
  }
  if (place.db !== undefined) {
    parts.push([place.db, place.key, place.prop].filter((s) => s !== undefined).join('/'));
  }
  return parts.join(' ');
}

export function isGatehouseError(e: unknown): e is GatehouseError {
  return e instanceof GatehouseError;
}

/** The message a CLI prints for any thrown value. */
export function describeError(e: unknown): string {
  if (isGatehouseError(e)) return e.format();
  if (e instanceof Error) return e.message;
  return String(e);
}
