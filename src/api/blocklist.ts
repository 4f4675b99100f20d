/**
 * The live blocklist. Requests go through two queues, each served one batch at a time,
 * so concurrent requests never interleave:
 *
 * 1. the kernel queue works out what a batch changes against the entries in force (a
 *    duplicate changes nothing) and sends the changes to the kernel in one ipset batch:
 *    this is what stops the packets, and it never waits for the disk;
 * 2. the database queue then writes every change of the batches that reached the
 *    kernel in one locked update, once no more requests wait for the kernel (or after
 *    DATABASE_DEFER_MS), so a burst's drops never queue behind a write. Only then are
 *    the requests answered. If the write fails, the kernel changes are undone (in
 *    reverse order) and the requests fail, so nothing is ever half-applied.
 *
 * Expiry: the kernel drops an expired element by itself (ipset timeouts); the record is
 * removed from the database by the next write or the purge timer, and is never listed
 * once expired. On start every set is rebuilt from the database with the time left, so
 * entries survive restarts and reboots and still expire on time.
 */
import { updateDatabase } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import { type BlockEntry, EntryError, type StoredEntry, entryKey, networksOverlap } from './entry.js';
import { type BlocklistKernel, addLine, delLine } from './kernel.js';
import { BLOCKLIST_DB, entryRecord, isExpired, readEntries } from './store.js';

export interface ChangeResult {
  /** False when the request changed nothing (a duplicate add, or removing what is absent). */
  changed: boolean;
  entry: StoredEntry | undefined;
}

interface Request {
  kind: 'add' | 'remove';
  at: number;
  entry: BlockEntry;
  expire?: number;
  done: (r: ChangeResult) => void;
  fail: (e: unknown) => void;
}

/** A request the kernel has seen (or a purge), waiting for the database. */
interface Applied {
  done: (r: ChangeResult) => void;
  fail: (e: unknown) => void;
  result: ChangeResult;
  /** The record change: set (an entry) or delete (undefined); none for a no-op. */
  write?: { key: string; entry: StoredEntry | undefined };
  /** Kernel lines that undo it, and the entry in force before it. */
  undo: string[];
  before: StoredEntry | undefined;
}

export interface BlocklistOptions {
  root: string;
  kernel: BlocklistKernel;
  /** Networks that may never be dropped (administrator's list, green networks, API clients). */
  whitelist: () => readonly string[];
  /** Epoch seconds now; tests give their own clock. */
  now?: () => number;
  /** Seconds between purges of expired records from the database. */
  purgeSeconds?: number;
}

export interface BlocklistStats {
  entries: number;
  bySet: Record<string, number>;
  /** Kernel batches and database writes so far. */
  kernelBatches: number;
  databaseWrites: number;
}

/** The longest a change in the kernel waits for its database write while more requests wait for the kernel. */
const DATABASE_DEFER_MS = 20;

/** The key of the same entry with the interface as an exact name instead of a prefix, or the other way round. */
function siblingKey(entry: BlockEntry): string | undefined {
  if (entry.interface === 'any') return undefined;
  const other = entry.interface.endsWith('+') ? entry.interface.slice(0, -1) : `${entry.interface}+`;
  return entryKey({ ...entry, interface: other });
}

export class Blocklist {
  private readonly requests: Request[] = [];
  private readonly toWrite: Applied[] = [];
  private kernelBusy = false;
  private writing = false;
  /** The entries in force: what the kernel holds, by key. */
  private entries = new Map<string, StoredEntry>();
  private timer: NodeJS.Timeout | undefined;
  /** Epoch seconds now (the clock the entries' expiry is judged by). */
  readonly now: () => number;
  private kernelBatches = 0;
  private databaseWrites = 0;
  /** Serialises every kernel change (batches and undos). */
  private kernelChain: Promise<unknown> = Promise.resolve();
  /** When the oldest change not yet written reached the kernel (performance.now()). */
  private unwrittenSince = 0;

  constructor(private readonly options: BlocklistOptions) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Loads the database into the kernel (expired records are removed first). */
  async start(): Promise<{ loaded: number; expired: number }> {
    const read = await readEntries(this.options.root);
    if (read.invalid.length > 0) {
      throw new GatehouseError(`the blocklist database holds ${read.invalid.length} invalid record(s), first ${read.invalid[0]}`, {
        hint: 'fix or delete them with `db blocklist ...`; nothing was loaded',
      });
    }
    const now = this.now();
    const live = read.entries.filter((e) => !isExpired(e, now));
    await this.options.kernel.load(live.map((entry) => ({ entry, ...(entry.expires !== undefined ? { timeout: entry.expires - now } : {}) })));
    // Start the long-lived ipset process now, not on the first request.
    await this.options.kernel.apply([]);
    this.entries = new Map(live.map((e) => [e.key, e]));
    const expired = read.entries.length - live.length;
    if (expired > 0) await this.purge();
    const every = (this.options.purgeSeconds ?? 60) * 1000;
    this.timer = setInterval(() => void this.purge().catch(() => undefined), every);
    this.timer.unref();
    return { loaded: live.length, expired };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.options.kernel.close();
  }

  /** The whitelisted network an entry would drop, if any (409 for the caller). */
  whitelisted(entry: BlockEntry): string | undefined {
    if (entry.action !== 'drop') return undefined;
    return this.options.whitelist().find((w) => networksOverlap(w, entry.address));
  }

  add(entry: BlockEntry, expire?: number): Promise<ChangeResult> {
    const white = this.whitelisted(entry);
    if (white !== undefined) {
      return Promise.reject(new EntryError(`${entry.address} is whitelisted (${white}) and can never be dropped`, 409));
    }
    return this.enqueue({ kind: 'add', entry, ...(expire !== undefined ? { expire } : {}) });
  }

  remove(entry: BlockEntry): Promise<ChangeResult> {
    return this.enqueue({ kind: 'remove', entry });
  }

  /** Removes expired records from the database (the kernel has already dropped them). */
  purge(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.toWrite.push({ done: () => resolve(), fail: reject, result: { changed: false, entry: undefined }, undo: [], before: undefined });
      if (!this.writing) void this.writeDatabase();
    });
  }

  /** Entries in force now, in key order. */
  list(filter: (e: StoredEntry) => boolean = () => true): StoredEntry[] {
    const now = this.now();
    return [...this.entries.values()].filter((e) => !isExpired(e, now) && filter(e)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(entry: BlockEntry): StoredEntry | undefined {
    const found = this.entries.get(entryKey(entry));
    return found && !isExpired(found, this.now()) ? found : undefined;
  }

  stats(): BlocklistStats {
    const bySet: Record<string, number> = {};
    const entries = this.list();
    for (const e of entries) {
      const set = `${e.action}/${e.chain}/${e.interface === 'any' ? 'any' : 'interface'}/v${e.family}`;
      bySet[set] = (bySet[set] ?? 0) + 1;
    }
    return { entries: entries.length, bySet, kernelBatches: this.kernelBatches, databaseWrites: this.databaseWrites };
  }

  private enqueue(request: Omit<Request, 'done' | 'fail' | 'at'>): Promise<ChangeResult> {
    return new Promise((done, fail) => {
      this.requests.push({ ...request, at: performance.now(), done, fail });
      if (!this.kernelBusy) {
        // After the current round of I/O, so that every request read in it goes in the same batch.
        this.kernelBusy = true;
        setImmediate(() => void this.serveKernel());
      }
    });
  }

  private kernel(lines: string[]): Promise<void> {
    const run = this.kernelChain.then(() => this.options.kernel.apply(lines));
    this.kernelChain = run.catch(() => undefined);
    return run;
  }

  /** Kernel queue: one batch at a time, each handed to the database queue once in the kernel. */
  private async serveKernel(): Promise<void> {
    this.kernelBusy = true;
    try {
      while (this.requests.length > 0) {
        const batch = this.requests.splice(0, this.requests.length);
        const now = this.now();
        const applied: Applied[] = [];
        const forward: string[] = [];
        // What the batch changes, over the entries in force (a copy of 100,000 entries per batch would cost milliseconds).
        const changes = new Map<string, StoredEntry | undefined>();
        const entries = {
          get: (key: string) => (changes.has(key) ? changes.get(key) : this.entries.get(key)),
          set: (key: string, e: StoredEntry) => void changes.set(key, e),
          delete: (key: string) => void changes.set(key, undefined),
        };
        for (const request of batch) {
          const key = entryKey(request.entry);
          let existing = entries.get(key);
          if (existing && isExpired(existing, now)) existing = undefined;
          if (request.kind === 'add') {
            const sibling = siblingKey(request.entry);
            const twin = sibling === undefined ? undefined : entries.get(sibling);
            if (!existing && twin && !isExpired(twin, now)) {
              // The kernel keys eth and eth+ alike: one would silently replace the other.
              request.fail(new EntryError(`${request.entry.interface} conflicts with the entry ${twin.key} (the kernel holds one element for eth and eth+); delete it first`, 409));
              continue;
            }
            if (existing) {
              applied.push({ done: request.done, fail: request.fail, result: { changed: false, entry: existing }, undo: [], before: existing });
              continue;
            }
            const expires = request.expire === undefined ? undefined : now + request.expire;
            const stored: StoredEntry = { ...request.entry, key, created: now, ...(expires !== undefined ? { expires } : {}) };
            entries.set(key, stored);
            forward.push(addLine(request.entry, request.expire));
            applied.push({ done: request.done, fail: request.fail, result: { changed: true, entry: stored }, write: { key, entry: stored }, undo: [delLine(request.entry)], before: undefined });
            continue;
          }
          if (!existing) {
            applied.push({ done: request.done, fail: request.fail, result: { changed: false, entry: undefined }, undo: [], before: undefined });
            continue;
          }
          entries.delete(key);
          forward.push(delLine(request.entry));
          const left = existing.expires === undefined ? undefined : Math.max(1, existing.expires - now);
          applied.push({ done: request.done, fail: request.fail, result: { changed: true, entry: existing }, write: { key, entry: undefined }, undo: [addLine(existing, left)], before: existing });
        }
        try {
          const k0 = performance.now();
          if (forward.length > 0) await this.kernel(forward);
          if (process.env['GATEHOUSE_TRACE_BATCHES']) process.stderr.write(`kernel batch ${batch.length}: ${(performance.now() - k0).toFixed(1)} ms; waited ${(k0 - Math.min(...batch.map((r) => r.at))).toFixed(1)} ms\n`);
        } catch (e) {
          // ipset does each line on its own: the other lines of the batch are undone, newest first, so nothing is half-applied.
          await this.kernel([...applied].reverse().flatMap((a) => (a.write ? a.undo : []))).catch(() => undefined);
          for (const a of applied) a.fail(e);
          continue;
        }
        this.kernelBatches++;
        for (const [key, e] of changes) {
          if (e) this.entries.set(key, e);
          else this.entries.delete(key);
        }
        if (this.toWrite.length === 0) this.unwrittenSince = performance.now();
        this.toWrite.push(...applied);
        // The database write waits while more requests wait for the kernel (their drops come first), but never long.
        if (!this.writing && (this.requests.length === 0 || performance.now() - this.unwrittenSince > DATABASE_DEFER_MS)) void this.writeDatabase();
      }
    } finally {
      this.kernelBusy = false;
      if (!this.writing && this.toWrite.length > 0) void this.writeDatabase();
    }
  }

  /** Database queue: every change that reached the kernel, in one locked write per turn. */
  private async writeDatabase(): Promise<void> {
    this.writing = true;
    try {
      while (this.toWrite.length > 0) {
        const batch = this.toWrite.splice(0, this.toWrite.length);
        try {
          await updateDatabase(this.options.root, BLOCKLIST_DB, (db) => {
            const now = this.now();
            // Expired records go: the kernel has already dropped their elements.
            for (const key in db) {
              const expires = db[key]!.props['Expires'];
              if (expires !== undefined && expires !== '' && Number(expires) <= now) delete db[key];
            }
            for (const a of batch) {
              if (!a.write) continue;
              if (a.write.entry) db[a.write.key] = entryRecord(a.write.entry, a.write.entry.created, a.write.entry.expires);
              else delete db[a.write.key];
            }
          });
          this.databaseWrites++;
          this.forgetExpired();
          for (const a of batch) a.done(a.result);
        } catch (e) {
          await this.undo(batch);
          for (const a of batch) a.fail(e);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Takes the kernel and the entries in force back to before `batch`, newest change first. */
  private async undo(batch: Applied[]): Promise<void> {
    const entries = new Map(this.entries);
    const lines: string[] = [];
    for (const a of [...batch].reverse()) {
      if (!a.write) continue;
      lines.push(...a.undo);
      if (a.before) entries.set(a.write.key, a.before);
      else entries.delete(a.write.key);
    }
    this.entries = entries;
    await this.kernel(lines).catch(() => undefined);
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [key, e] of this.entries) if (isExpired(e, now)) this.entries.delete(key);
  }
}
