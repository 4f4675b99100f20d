/**
 * Storage: one lowdb JSON file per database under $ROOT/var/lib/gatehouse/db/.
 * Reads never lock (writes are atomic renames, so a reader sees the old or the new file).
 * Writes take an inter-process lock, re-read, change, and write atomically.
 */
import nodeFs, { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFile, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GatehouseError } from '../errors/index.js';
import { makePrivateDir, runtimePaths, shippedPaths } from '../layout/index.js';
import { type JournalChange, JournalCorruption, baseDigest, journalFile, journalHeader, journalLines, parseJournal, replayJournal } from './journal.js';
import { CanonicalScanner } from './canonical.js';

/**
 * node:fs/promises, loaded when first used: a command that only reads one database
 * (`db getprop`) never needs it, and loading it costs every such command a few ms.
 */
const fsp = (): typeof import('node:fs/promises') => process.getBuiltinModule('node:fs/promises');

/** One record: its type and its props (all values are strings, as in e-smith). */
export interface DbRecord {
  type: string;
  props: Record<string, string>;
}

/** A database: records keyed by name. */
export type Database = Record<string, DbRecord>;

const DB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function assertDatabaseName(name: string): void {
  if (!DB_NAME.test(name) || name.includes('..')) {
    throw new GatehouseError(`invalid database name '${name}'`, {
      hint: 'use letters, digits, dot, dash and underscore, starting with a letter or digit',
    });
  }
}

export function databaseFile(root: string, name: string): string {
  return join(runtimePaths(root).dbDir, `${name}.json`);
}

function defaultsFile(name: string): string {
  return join(shippedPaths().dbDefaults, name, 'defaults.json');
}

/** Check that parsed JSON has the database shape; name the file and key when not. */
export function checkDatabaseShape(data: unknown, file: string): Database {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw corrupt(file, 'the top level is not an object of records');
  }
  // for-in over JSON.parse output: own enumerable keys only, and no array per record.
  const records = data as Record<string, unknown>;
  for (const key in records) {
    if (key === '__proto__') throw corrupt(file, `'__proto__' cannot be a key`);
    const rec = records[key];
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) throw corrupt(file, `record '${key}' is not an object`);
    const r = rec as Record<string, unknown>;
    if (typeof r['type'] !== 'string') throw corrupt(file, `record '${key}' has no string 'type'`);
    const props = r['props'];
    if (props === undefined) {
      r['props'] = {};
      continue;
    }
    if (props === null || typeof props !== 'object' || Array.isArray(props)) throw corrupt(file, `record '${key}' has 'props' that is not an object`);
    const values = props as Record<string, unknown>;
    for (const p in values) {
      if (p === '__proto__') throw corrupt(file, `record '${key}' has a prop named '__proto__'`);
      if (typeof values[p] !== 'string') throw corrupt(file, `record '${key}' prop '${p}' is not a string`);
    }
  }
  return data as Database;
}

function corrupt(file: string, why: string): GatehouseError {
  return new GatehouseError(`database file is corrupt: ${why}; refusing to use or overwrite it`, {
    place: { file },
    hint: 'repair the JSON by hand or restore it from a backup',
  });
}

async function readText(file: string): Promise<string | undefined> {
  return (await readBytes(file))?.toString('utf8');
}

/** The file's bytes, or undefined when it does not exist. */
function readBytes(file: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    readFile(file, (e, data) => {
      if (!e) resolve(data);
      else if (e.code === 'ENOENT') resolve(undefined);
      else reject(e);
    });
  });
}

async function parseFile(file: string): Promise<Database | undefined> {
  const text = await readText(file);
  return text === undefined ? undefined : parseText(text, file);
}

function parseText(text: string, file: string): Database {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, `invalid JSON (${(e as Error).message})`);
  }
  return checkDatabaseShape(data, file);
}

/** The shipped defaults of a database, or an empty database when none are shipped. */
export async function readDefaults(name: string): Promise<Database> {
  return (await parseFile(defaultsFile(name))) ?? {};
}

/** Read a database; one that does not exist yet reads as its shipped defaults. Its journal, if any, is replayed over it. */
export async function readDatabase(root: string, name: string): Promise<Database> {
  assertDatabaseName(name);
  const file = databaseFile(root, name);
  for (let attempt = 0; ; attempt++) {
    const text = await readText(file);
    const journal = await readText(journalFile(file));
    if (journal === undefined) return text === undefined ? await readDefaults(name) : parseText(text, file);
    const db = text === undefined ? await readDefaults(name) : parseText(text, file);
    // A journal naming another file: merged already, or a whole write merged it and began a new one between the two reads (read both again).
    const replayed = withJournal(db, text, journal, file, attempt < 3);
    if (replayed) return replayed;
  }
}

/**
 * The record stored under `key` in a database, as readDatabase(root, name) gives it (its
 * journal replayed, the shipped defaults when the file does not exist), or undefined.
 * When no journal extends the file and the scan of ./canonical.ts vouches for the whole
 * file, only the record's line is parsed: `db getprop` on 10,000 fwrules parsed 2 MB to
 * print one value. Anything else reads the whole database.
 */
export async function readRecord(root: string, name: string, key: string): Promise<DbRecord | undefined> {
  assertDatabaseName(name);
  const file = databaseFile(root, name);
  if (!existsSync(journalFile(file))) {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
    } catch {
      // Absent (the defaults) or unreadable: the whole read says which.
    }
    if (fd !== undefined) {
      try {
        const scanner = new CanonicalScanner(key);
        if (scanFile(fd, scanner)) {
          if (!scanner.line) return undefined;
          const text = readRange(fd, scanner.line.start, scanner.line.end).toString('utf8');
          return getRecord(parseText(`{${text.endsWith(',') ? text.slice(0, -1) : text}}`, file), key);
        }
      } finally {
        closeSync(fd);
      }
    }
  }
  return getRecord(await readDatabase(root, name), key);
}

/** What tells one version of a file from another without reading it: inode, then its stamp (size and modification time). */
function identitySync(file: string): string {
  try {
    const s = statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'absent';
  }
}

async function identity(file: string): Promise<string> {
  try {
    const s = await fsp().stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'absent';
  }
}

/**
 * `db` with its journal replayed, when the journal extends this very file; a journal
 * naming another file was merged already and is left out (or, with `retry`, undefined).
 */
function withJournal(db: Database, text: string | undefined, journal: string, file: string, retry = false): Database | undefined {
  const jf = journalFile(file);
  let parsed;
  try {
    parsed = parseJournal(journal);
  } catch (e) {
    if (!(e instanceof JournalCorruption)) throw e;
    throw new GatehouseError(`database journal is corrupt: ${e.message}; refusing to use or overwrite it`, {
      place: { file: jf, line: e.line },
      hint: 'repair or remove the line by hand (every line is one JSON change), or restore it from a backup',
    });
  }
  const extendsFile = parsed.base !== undefined && parsed.base === baseDigest(text);
  if (!extendsFile && retry) return undefined;
  if (parsed.torn !== undefined && (extendsFile || parsed.base === undefined)) warnTorn(jf, parsed.torn.length);
  return extendsFile ? replayJournal(db, parsed.changes) : db;
}

function warnTorn(file: string, bytes: number): void {
  process.stderr.write(`warning: ${file}: the last line (${bytes} bytes) has no end: a write torn by a crash, ignored (nothing before it is lost)\n`);
}

/** Every database that exists under the root or has shipped defaults, by name. */
export async function readAllDatabases(root: string): Promise<Record<string, Database>> {
  const names = new Set<string>(await listShippedDatabases());
  for (const n of await listExistingDatabases(root)) names.add(n);
  const out: Record<string, Database> = {};
  for (const n of [...names].sort()) out[n] = await readDatabase(root, n);
  return out;
}

async function listExistingDatabases(root: string): Promise<string[]> {
  try {
    return (await fsp().readdir(runtimePaths(root).dbDir))
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((n) => DB_NAME.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Names of the databases that ship defaults (db/<name>/defaults.json). */
export async function listShippedDatabases(): Promise<string[]> {
  const dir = shippedPaths().dbDefaults;
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'defaults.json')))
    .map((d) => d.name)
    .sort();
}

/** A copy with keys and props sorted, so the file is deterministic. */
export function sortDatabase(db: Database): Database {
  const out: Database = {};
  for (const key of Object.keys(db).sort()) {
    const rec = db[key]!;
    const props: Record<string, string> = {};
    for (const p of Object.keys(rec.props).sort()) props[p] = rec.props[p]!;
    out[key] = { type: rec.type, props };
  }
  return out;
}

/** Array-index-like keys, which JavaScript objects always list first, in numeric order. */
function isIndexKey(key: string): boolean {
  if (key.length === 0 || key.length > 9 || (key.length > 1 && key.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether the non-index keys of an object already come in sorted order (no allocation). */
function inOrder(obj: object): boolean {
  let previous: string | undefined;
  for (const key in obj) {
    if (isIndexKey(key)) continue;
    if (previous !== undefined && previous > key) return false;
    previous = key;
  }
  return true;
}

/**
 * The database in its canonical order, reusing what is already in order (the common
 * case: one record changed, 10,000 untouched): keys and props sorted. JavaScript objects
 * list index-like keys (fwrules ids) first in numeric order, then the others by
 * insertion, so only the others need sorting.
 */
function canonicalize(db: Database): Database {
  let out = db;
  if (!inOrder(db)) {
    out = {};
    for (const key of Object.keys(db).sort()) out[key] = db[key]!;
  }
  for (const key in out) {
    const rec = out[key]!;
    if (inOrder(rec.props)) continue;
    const props: Record<string, string> = {};
    for (const p of Object.keys(rec.props).sort()) props[p] = rec.props[p]!;
    if (out === db) out = { ...db };
    out[key] = { type: rec.type, props };
  }
  return out;
}

/**
 * The file text of a database: canonical order, one record per line, so "unchanged"
 * means byte-identical and `grep` finds a record with its props.
 *
 * Files used to be written with a two-space indent. That indent was 30% of the bytes
 * (2.8 MB instead of 1.95 MB for 10,000 rules), and every write reads, parses and
 * writes them all; one record per line costs one compact native stringify plus one
 * native replace. Both forms are plain JSON, so databases written before are still read
 * as they are and take the new form at their next write.
 *
 * The replace finds the ends of records: `}},"` is a props object and its record
 * closing, then the next key. It cannot match inside a string, where every `"` is
 * escaped; a hand-added nested object inside a record at worst gets one more line
 * break, which is still the same JSON and still a function of the content alone.
 */
export function serializeDatabase(db: Database): string {
  const compact = JSON.stringify(canonicalize(db));
  if (compact === '{}') return '{}\n';
  return `{\n${compact.slice(1, -1).replaceAll('}},"', '}},\n"')}\n}\n`;
}

export interface UpdateOptions {
  /** Called with the changed database before it is written; throw to refuse the change. */
  validate?: (db: Database) => void;
  /**
   * The one key `change` reads and writes: it looks at no other record. When the file
   * holds that key and is byte for byte what a write of ours produced, `change` gets a
   * database of that one record and only its line is replaced (see updateOneRecord);
   * otherwise, or when `change` adds or removes records, it runs on the whole database.
   * `change` must then be safe to call twice.
   */
  only?: string;
}

/**
 * Change a database under the inter-process lock: re-read, apply `change`, validate,
 * and write atomically only if something changed. `change` mutates the database in place
 * and returns a value handed back to the caller.
 */
export async function updateDatabase<T>(
  root: string,
  name: string,
  change: (db: Database) => T | Promise<T>,
  options: UpdateOptions = {},
): Promise<T> {
  assertDatabaseName(name);
  const file = databaseFile(root, name);
  const dir = runtimePaths(root).dbDir;
  if (!existsSync(dir)) makePrivateDir(dir);
  return withLock(file, async (compromised) => {
    const journal = await readText(journalFile(file));
    if (journal === undefined && options.only !== undefined && options.validate === undefined) {
      const quick = await updateOneRecord(file, options.only, change, compromised);
      if (quick) return quick.result;
    }
    // Loaded lazily: read-only commands and one-record writes do not need lowdb.
    const lowdbNode = import('lowdb/node');
    lowdbNode.catch(() => undefined); // a failure surfaces where it is awaited
    const bytes = await readBytes(file);
    const before = bytes?.toString('utf8');
    let current = before === undefined ? await readDefaults(name) : parseText(before, file);
    // Under the lock no merge can come between the two reads.
    if (journal !== undefined) current = withJournal(current, before, journal, file)!;
    const result = await change(current);
    options.validate?.(current);
    const after = serializeDatabase(current);
    if (after === before) {
      // The file stays as it is, so a journal kept would still extend it: removing the journal is the commit.
      if (journal !== undefined) await fsp().unlink(journalFile(file));
      // Canonical but unmarked (written before marks existed): the next one-record write may splice.
      else if (bytes !== undefined && options.only !== undefined) writeCanonicalMark(file, bytes);
      return result;
    }
    // Another writer may own the lock now; writing would lose its update.
    if (compromised()) throw lockLost(file, compromised()!);
    // lowdb's text adapter writes a temp file and renames it over the database.
    const { TextFile } = await lowdbNode;
    await new TextFile(file).write(after);
    // Databases may hold secrets (PPPoE passwords): owner-only, whatever the umask
    // (lowdb's temp file gets the umask's mode; the folder is owner-only too).
    await fsp().chmod(file, 0o600);
    writeCanonicalMark(file, Buffer.from(after));
    // A database kept with a journal: the next append begins one naming this file, whose digest is known now.
    if (journal !== undefined) digests.set(file, { identity: await identity(file), digest: baseDigest(after) });
    // Merged into the file renamed in above: a crash before this leaves a journal naming the file before, which readers ignore.
    if (journal !== undefined) await fsp().unlink(journalFile(file)).catch(() => undefined);
    return result;
  });
}

/** Runs `body` holding the database's inter-process lock; `compromised()` says whether it was lost meanwhile. */
let lockModule: typeof import('proper-lockfile') | undefined;

async function withLock<T>(file: string, body: (compromised: () => Error | undefined) => Promise<T>): Promise<T> {
  // A chunk of the command's bundle (scripts/bundle.mjs), loaded only by commands that write; kept once loaded
  // (an import() of a loaded module still goes through the loader's resolution: about 4% of the API's journal append).
  const lockfile = (lockModule ??= (await import('proper-lockfile')).default);
  let compromised: Error | undefined;
  const options = {
    // Node's own fs: the default, graceful-fs, patches fs and loads Node's streams when it
    // loads (a tenth of a `db setprop`), to work around limits a lock's few calls never meet.
    fs: nodeFs,
    realpath: false,
    lockfilePath: `${file}.lock`,
    // A holder refreshes the lock every stale/2 ms; a lock left by a killed process is
    // taken over after `stale` ms.
    stale: LOCK_STALE_MS,
    onCompromised: (e: Error) => {
      compromised = e;
    },
  };
  // One try first (the lock is mostly free); held by another writer, waits of 2 ms growing
  // to 50 ms, repeated until LOCK_WAIT_MS have passed. (`retries: 4000` did the same, but the
  // retry package works out every wait before the first try: 4,000 of them, about a
  // millisecond of the thread per lock, which every journal append of the API paid.)
  const release = await lockfile.lock(file, { ...options, retries: 0 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ELOCKED') throw e;
    return lockfile.lock(file, { ...options, retries: { retries: 20, forever: true, maxRetryTime: LOCK_WAIT_MS, minTimeout: 2, maxTimeout: 50, factor: 1.3, randomize: true } });
  });
  try {
    return await body(() => compromised);
  } finally {
    if (!compromised) await release();
  }
}

/** The digest of each database file this process last saw, by its identity: appends must not hash 10 MB each time. */
const digests = new Map<string, { identity: string; digest: string }>();

export interface AppendOptions {
  /** Merge the journal into the file once it is larger than this many bytes (default: 1 MiB or the file's size, whichever is larger). */
  compactBytes?: number;
}

/**
 * Records changes to a database by appending them to its journal (see ./journal.ts),
 * under the same lock as every write, synced to disk before it returns: the cost of a
 * change does not grow with the database. Unvalidated: for databases only a program
 * writes (the API's blocklist). Once the journal outgrows the file it is merged in.
 */
export async function appendDatabase(root: string, name: string, changes: readonly JournalChange[], options: AppendOptions = {}): Promise<void> {
  if (changes.length === 0) return;
  assertDatabaseName(name);
  const file = databaseFile(root, name);
  const dir = runtimePaths(root).dbDir;
  if (!existsSync(dir)) makePrivateDir(dir);
  const jf = journalFile(file);
  const grown = await withLock(file, async (compromised) => {
    const id = identitySync(file);
    const digest = () => baseDigestOf(file, id);
    const lines = journalLines(changes);
    // The small steps on the journal (open, stat, reads of its head and last byte, the write) are synchronous:
    // a few µs each from the page cache, where a FileHandle's promise costs tens of µs of the thread each
    // (measured: 3 such steps 100-250 µs of CPU, against about 25 µs). The sync to disk, which waits for the
    // device, goes to the thread pool.
    let fd: number | undefined;
    try {
      fd = openSync(jf, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let size: number | undefined;
    if (fd !== undefined) {
      try {
        size = await appendable(fd, jf, digest);
        if (size !== undefined) {
          if (compromised()) throw lockLost(file, compromised()!);
          const text = Buffer.from(lines, 'utf8');
          for (let done = 0; done < text.length; ) done += writeSync(fd, text, done, text.length - done, size + done);
          await new Promise<void>((resolve, reject) => nodeFs.fdatasync(fd!, (e) => (e ? reject(e) : resolve())));
          size += text.length;
        }
      } finally {
        closeSync(fd);
      }
    }
    if (size === undefined) {
      // No journal, or one that extends another file (merged already): a new one, whole or not at all.
      if (compromised()) throw lockLost(file, compromised()!);
      const text = journalHeader(await digest()) + lines;
      const temp = `${jf}.tmp`;
      const out = await fsp().open(temp, 'w', 0o600);
      try {
        await out.write(text, 0, 'utf8');
        await out.datasync();
      } finally {
        await out.close();
      }
      await fsp().rename(temp, jf);
      await syncDir(dir);
      size = Buffer.byteLength(text);
    }
    const limit = options.compactBytes ?? Math.max(1 << 20, Number(id.split(':')[1] ?? 0));
    return size > limit;
  });
  if (grown) await updateDatabase(root, name, () => undefined);
}

/** The digest of a database file as it is now (`id`), read and hashed only when this process has not seen that version. */
async function baseDigestOf(file: string, id: string): Promise<string> {
  const known = digests.get(file);
  if (known?.identity === id) return known.digest;
  const digest = baseDigest(await readText(file));
  digests.set(file, { identity: id, digest });
  return digest;
}

/**
 * Prepares appends to a database: works out its file's digest ahead of the first append
 * (which would otherwise read and hash the file while a request waits).
 */
export async function prepareAppend(root: string, name: string): Promise<void> {
  assertDatabaseName(name);
  const file = databaseFile(root, name);
  await baseDigestOf(file, await identity(file));
}

/**
 * Where the next line goes in an open journal, when it extends the database file as it is
 * now (of digest `digest()`): its size, after cutting off a torn last line; undefined when
 * it extends another file.
 */
async function appendable(fd: number, file: string, digest: () => Promise<string>): Promise<number | undefined> {
  const { size } = fstatSync(fd);
  const head = Buffer.alloc(Math.min(size, 512));
  readSync(fd, head, 0, head.length, 0);
  const newline = head.indexOf(10);
  if (newline === -1) return undefined;
  try {
    if (parseJournal(head.subarray(0, newline + 1).toString('utf8')).base !== (await digest())) return undefined;
  } catch {
    return undefined;
  }
  // A last line without its newline was torn by a crash: cut it off, so the next line cannot join it.
  // The last byte first: it is a newline unless a crash tore the line (then the search goes back block by block).
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 10) return size;
  let end = size;
  const tail = Buffer.alloc(Math.min(size, 64 * 1024));
  while (end > 0) {
    const from = Math.max(0, end - tail.length);
    readSync(fd, tail, 0, end - from, from);
    const at = tail.subarray(0, end - from).lastIndexOf(10);
    if (at !== -1) {
      end = from + at + 1;
      break;
    }
    end = from;
  }
  if (end < size) {
    warnTorn(file, size - end);
    ftruncateSync(fd, end);
  }
  return end;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp().open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

const LOCK_STALE_MS = 5_000;
/** How long a write waits for another writer's lock before giving up (as 4,000 retries of at most 50 ms did). */
const LOCK_WAIT_MS = 200_000;


/**
 * The one-record write (`setprop` on 10,000 fwrules): parsing and writing back 2 MB of
 * JSON was most of what such a command cost. A file written by serializeDatabase holds
 * one record per line, each `"key":{...}` exactly as serializing that record alone gives
 * it, in an order that depends only on the set of keys. So when the file is in that form
 * and the change keeps the set of keys, replacing that record's line gives the very bytes
 * the whole parse and serialization would (the caller takes this path only when no
 * journal extends the file, see ./journal.ts).
 *
 * Whether the file is in that form: the scan of ./canonical.ts vouches for it line by line
 * (a hand edit that kept the form, or a file from before marks, included); for forms it
 * does not know, the mark beside the file (the SHA-256 of our last write) does. Anything
 * else (the key absent, records added or removed, a hand edit in another form, a crash
 * between file and mark) returns undefined and the caller runs the whole-database path.
 */
async function updateOneRecord<T>(
  file: string,
  key: string,
  change: (db: Database) => T | Promise<T>,
  compromised: () => Error | undefined,
): Promise<{ result: T } | undefined> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const scanner = new CanonicalScanner(key);
    const vouched = scanFile(fd, scanner);
    let line = vouched ? scanner.line : undefined;
    // Read whole only when the mark is to be checked: the scan reads in blocks.
    let bytes: Buffer | undefined;
    if (!vouched) {
      const mark = readCanonicalMark(file);
      if (mark === undefined) return undefined;
      bytes = readFileSync(fd);
      if (digestOf(bytes) !== mark) return undefined;
      line = lineOf(bytes, key);
    }
    if (line === undefined) return undefined;
    const { start, end } = line;
    const text = (bytes ? bytes.subarray(start, end) : readRange(fd, start, end)).toString('utf8');
    const comma = text.endsWith(',');
    const old = comma ? text.slice(0, -1) : text;
    const one = parseText(`{${old}}`, file);
    const result = await change(one);
    const keys = Object.keys(one);
    if (keys.length !== 1 || keys[0] !== key) return undefined;
    // serializeDatabase of one record is `{\n<line>\n}\n`.
    const after = serializeDatabase(one).slice(2, -3);
    if (after === old) return { result };
    if (compromised()) throw lockLost(file, compromised()!);
    const replacement = Buffer.from(comma ? `${after},` : after);
    if (bytes) {
      const parts = [bytes.subarray(0, start), replacement, bytes.subarray(end)];
      replaceFile(file, (out) => parts.forEach((part) => writeAll(out, part)));
      writeCanonicalMark(file, parts);
    } else {
      // Vouched for by the scan, the new file is too (the new line is in the form): no mark needed.
      replaceFile(file, (out) => {
        copyRange(fd, out, 0, start);
        writeAll(out, replacement);
        copyRange(fd, out, end, Number.POSITIVE_INFINITY);
      });
    }
    return { result };
  } finally {
    closeSync(fd);
  }
}

/** Bytes read per block by the scan and the copies (a longer line grows the buffer). */
const BLOCK = 64 * 1024;

/** Feeds the file behind `fd` to `scanner` in blocks of whole lines; whether it vouched for all of it. */
function scanFile(fd: number, scanner: CanonicalScanner): boolean {
  let buffer = Buffer.allocUnsafe(BLOCK);
  // buffer[0, have) is the start of a line not complete yet, from byte `offset` of the file.
  let have = 0;
  let offset = 0;
  for (;;) {
    if (have === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, have);
      buffer = bigger;
    }
    const got = readSync(fd, buffer, have, buffer.length - have, offset + have);
    if (got === 0) return have === 0 && scanner.end();
    const filled = have + got;
    const newline = buffer.lastIndexOf(10, filled - 1);
    if (newline < 0) {
      have = filled;
      continue;
    }
    if (!scanner.block(buffer, 0, newline + 1, offset)) return false;
    buffer.copy(buffer, 0, newline + 1, filled);
    have = filled - newline - 1;
    offset += newline + 1;
  }
}

/** Where the record of `key` is in a file of one record per line: its first byte and its newline. */
function lineOf(bytes: Buffer, key: string): { start: number; end: number } | undefined {
  // A line starts with its key; inside JSON strings a newline is always escaped, so this
  // finds the record's line and nothing else.
  const start = bytes.indexOf(`\n${JSON.stringify(key)}:{`);
  if (start < 0) return undefined;
  const end = bytes.indexOf(10, start + 1);
  return end < 0 ? undefined : { start: start + 1, end };
}

function readRange(fd: number, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let done = 0; done < out.length; ) {
    const got = readSync(fd, out, done, out.length - done, start + done);
    if (got === 0) throw new Error('the database file was cut short while being written');
    done += got;
  }
  return out;
}

/** Copies bytes [start, end) of `from` (up to its end) to `to`. */
function copyRange(from: number, to: number, start: number, end: number): void {
  const buffer = Buffer.allocUnsafe(BLOCK);
  for (let at = start; at < end; ) {
    const got = readSync(from, buffer, 0, Math.min(buffer.length, end - at), at);
    if (got === 0) break;
    writeAll(to, buffer.subarray(0, got));
    at += got;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
}

/** The mark beside a database file: the digest of the file as serializeDatabase last wrote it. */
function canonicalMarkFile(file: string): string {
  return join(dirname(file), `.${basename(file)}.canonical`);
}

function readCanonicalMark(file: string): string | undefined {
  try {
    return readFileSync(canonicalMarkFile(file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Best effort: a mark that could not be written only means the next write takes the whole path. */
function writeCanonicalMark(file: string, bytes: Buffer | readonly Buffer[]): void {
  try {
    const text = Buffer.from(`${digestOf(bytes)}\n`);
    replaceFile(canonicalMarkFile(file), (out) => writeAll(out, text));
  } catch {
    try {
      rmSync(canonicalMarkFile(file), { force: true });
    } catch {
      // Then the digest it holds is of other bytes: ignored.
    }
  }
}

/** SHA-256 of the bytes, or of the parts one after the other. */
function digestOf(bytes: Buffer | readonly Buffer[]): string {
  // process.getBuiltinModule: the CommonJS module itself; an ESM import of node:crypto builds its facade (a few ms).
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const part of Buffer.isBuffer(bytes) ? [bytes] : bytes) hash.update(part);
  return hash.digest('hex');
}

/** Fill a temp file beside `file` (`fill` writes to its descriptor), owner-only from its creation, and rename it over `file`. */
function replaceFile(file: string, fill: (fd: number) => void): void {
  const temp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  try {
    const fd = openSync(temp, 'w', 0o600);
    try {
      fill(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

function lockLost(file: string, cause: Error): GatehouseError {
  return new GatehouseError(`lost the database lock before writing (${cause.message}); nothing was written`, {
    place: { file },
    hint: 'the machine may be overloaded; run the command again',
    cause,
  });
}

/** The record stored under `key`, never an inherited property such as `constructor`. */
export function getRecord(db: Database, key: string): DbRecord | undefined {
  return Object.hasOwn(db, key) ? db[key] : undefined;
}

/** A prop's value, never an inherited property. */
export function getProp(rec: DbRecord, prop: string): string | undefined {
  return Object.hasOwn(rec.props, prop) ? rec.props[prop] : undefined;
}
