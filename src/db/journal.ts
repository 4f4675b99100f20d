/**
 * A database's journal: `<name>.journal` beside `<name>.json`, appended to under the
 * database's lock, so a change to a database of 100,000 records (the API's blocklist)
 * writes a line instead of the whole file. Every reader replays it over the file
 * (readDatabase), and every whole-file write (updateDatabase, the `db` command) merges it
 * and removes it, so all of them see the same records.
 *
 * Format: one JSON object per line. The first names the file it extends by a digest of
 * its bytes, `{"journal":1,"base":"<sha256 prefix>"}`; the others set a record,
 * `{"k":"<key>","r":{"type":...,"props":{...}}}`, or delete one, `{"k":"<key>","d":1}`.
 * Replaying a set or a delete twice gives the same database, and order is kept.
 *
 * Crash safety:
 * - a line counts once its newline is on disk (each append is one write, then fdatasync,
 *   before the caller is answered). A last line without its newline is a write torn by a
 *   crash: readers ignore it with a warning, and the next append cuts it off first, so it
 *   can never glue itself to a later line. Any earlier line that does not parse is
 *   corruption: the read fails naming the file and line, nothing is dropped silently;
 * - a whole-file write renames the merged file in first, then removes the journal. A
 *   crash between the two leaves a journal whose digest names the file before: it has
 *   been merged already, so readers ignore it and the next writer removes it.
 */
import type { Database, DbRecord } from './store.js';

export const JOURNAL_VERSION = 1;

/** A change to one record: its new value, or undefined to delete it. */
export interface JournalChange {
  key: string;
  record: DbRecord | undefined;
}

export function journalFile(databaseFile: string): string {
  return databaseFile.replace(/\.json$/, '') + '.journal';
}

/** The digest a journal names its base file by; `absent` when there is no file (the shipped defaults). */
export function baseDigest(text: string | undefined): string {
  // Loaded on first use: node:crypto costs every db command (getprop too) ~15 ms to load.
  return text === undefined ? 'absent' : process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export function journalHeader(digest: string): string {
  return JSON.stringify({ journal: JOURNAL_VERSION, base: digest }) + '\n';
}

export function journalLines(changes: readonly JournalChange[]): string {
  let out = '';
  for (const c of changes) out += (c.record === undefined ? JSON.stringify({ k: c.key, d: 1 }) : JSON.stringify({ k: c.key, r: c.record })) + '\n';
  return out;
}

export interface ParsedJournal {
  /** The digest of the file it extends; undefined when not even the header line is complete. */
  base: string | undefined;
  changes: JournalChange[];
  /** Bytes of complete lines (where a torn last line starts). */
  complete: number;
  /** Set when the last line was torn (no newline). */
  torn?: string;
}

export class JournalCorruption extends Error {
  constructor(
    readonly line: number,
    why: string,
  ) {
    super(`line ${line}: ${why}`);
  }
}

/** Parses a journal's text (pure). Throws JournalCorruption for a bad complete line. */
export function parseJournal(text: string): ParsedJournal {
  const end = text.lastIndexOf('\n') + 1;
  const torn = end < text.length ? text.slice(end) : undefined;
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  const changes: JournalChange[] = [];
  let base: string | undefined;
  lines.forEach((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new JournalCorruption(i + 1, `not JSON (${(e as Error).message})`);
    }
    const v = value as Record<string, unknown>;
    if (i === 0) {
      if (v === null || typeof v !== 'object' || v['journal'] !== JOURNAL_VERSION || typeof v['base'] !== 'string') {
        throw new JournalCorruption(1, `not a version ${JOURNAL_VERSION} journal header`);
      }
      base = v['base'];
      return;
    }
    if (v === null || typeof v !== 'object' || typeof v['k'] !== 'string' || v['k'] === '__proto__') throw new JournalCorruption(i + 1, 'no record key');
    if (v['d'] === 1) {
      changes.push({ key: v['k'], record: undefined });
      return;
    }
    const r = v['r'] as Record<string, unknown> | null | undefined;
    if (r === null || typeof r !== 'object' || typeof r['type'] !== 'string' || r['props'] === null || typeof r['props'] !== 'object' || Array.isArray(r['props'])) {
      throw new JournalCorruption(i + 1, 'neither a record nor a delete');
    }
    const props = r['props'] as Record<string, unknown>;
    for (const p in props) if (p === '__proto__' || typeof props[p] !== 'string') throw new JournalCorruption(i + 1, `prop '${p}' is not a string`);
    changes.push({ key: v['k'], record: { type: r['type'], props: props as Record<string, string> } });
  });
  return { base, changes, complete: end, ...(torn !== undefined ? { torn } : {}) };
}

/** Applies changes to a database in place, in order. */
export function replayJournal(db: Database, changes: readonly JournalChange[]): Database {
  for (const c of changes) {
    if (c.record === undefined) delete db[c.key];
    else db[c.key] = c.record;
  }
  return db;
}
