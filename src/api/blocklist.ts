/**
 * The live blocklist: requests are queued and served in batches, one at a time, so
 * concurrent requests never interleave. A batch takes the database lock, works out
 * what changes (a duplicate changes nothing), sends those changes to the kernel in one
 * ipset batch, and only then writes the database; if the write fails, the kernel
 * changes are undone, so nothing is ever half-applied. The kernel is changed first
 * because that is what stops the packets; the request is answered after both.
 *
 * Expiry: the kernel drops an expired element by itself (ipset timeouts); the record is
 * removed from the database by the next batch or the purge timer, and is never listed
 * once expired. On start every set is rebuilt from the database with the time left, so
 * entries survive restarts and reboots and still expire on time.
 */
import { updateDatabase } from '../db/index.js';
import { GatehouseError } from '../errors/index.js';
import { type BlockEntry, EntryError, type StoredEntry, entryKey, networksOverlap } from './entry.js';
import { type BlocklistKernel, addLine, delLine } from './kernel.js';
import { BLOCKLIST_DB, entriesOf, entryRecord, isExpired, readEntries } from './store.js';

export interface ChangeResult {
  /** False when the request changed nothing (a duplicate add, or removing what is absent). */
  changed: boolean;
  entry: StoredEntry | undefined;
}

type Operation =
  | { kind: 'add'; entry: BlockEntry; expire?: number; done: (r: ChangeResult) => void; fail: (e: unknown) => void }
  | { kind: 'remove'; entry: BlockEntry; done: (r: ChangeResult) => void; fail: (e: unknown) => void }
  | { kind: 'purge'; done: (r: ChangeResult) => void; fail: (e: unknown) => void };

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
  batches: number;
  lastBatchMs: number;
}

export class Blocklist {
  private readonly queue: Operation[] = [];
  private running = false;
  private cache = new Map<string, StoredEntry>();
  private timer: NodeJS.Timeout | undefined;
  /** Epoch seconds now (the clock the entries' expiry is judged by). */
  readonly now: () => number;
  private batches = 0;
  private lastBatchMs = 0;

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
    this.cache = new Map(live.map((e) => [e.key, e]));
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
    return this.enqueue((done, fail) => ({ kind: 'add', entry, ...(expire !== undefined ? { expire } : {}), done, fail }));
  }

  remove(entry: BlockEntry): Promise<ChangeResult> {
    return this.enqueue((done, fail) => ({ kind: 'remove', entry, done, fail }));
  }

  purge(): Promise<ChangeResult> {
    return this.enqueue((done, fail) => ({ kind: 'purge', done, fail }));
  }

  /** Entries in force now, in key order. */
  list(filter: (e: StoredEntry) => boolean = () => true): StoredEntry[] {
    const now = this.now();
    return [...this.cache.values()].filter((e) => !isExpired(e, now) && filter(e)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(entry: BlockEntry): StoredEntry | undefined {
    const found = this.cache.get(entryKey(entry));
    return found && !isExpired(found, this.now()) ? found : undefined;
  }

  stats(): BlocklistStats {
    const bySet: Record<string, number> = {};
    const entries = this.list();
    for (const e of entries) {
      const set = `${e.action}/${e.chain}/${e.interface === 'any' ? 'any' : 'interface'}/v${e.family}`;
      bySet[set] = (bySet[set] ?? 0) + 1;
    }
    return { entries: entries.length, bySet, batches: this.batches, lastBatchMs: this.lastBatchMs };
  }

  private enqueue(make: (done: (r: ChangeResult) => void, fail: (e: unknown) => void) => Operation): Promise<ChangeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push(make(resolve, reject));
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        const started = performance.now();
        try {
          const results = await this.runBatch(batch);
          batch.forEach((op, i) => op.done(results[i]!));
        } catch (e) {
          for (const op of batch) op.fail(e);
        }
        this.batches++;
        this.lastBatchMs = performance.now() - started;
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Operation[]): Promise<ChangeResult[]> {
    const { kernel, root } = this.options;
    let undo: string[] = [];
    let kernelChanged = false;
    try {
      return await updateDatabase(root, BLOCKLIST_DB, async (db) => {
        const now = this.now();
        const { entries } = entriesOf(db, this.cache);
        const current = new Map(entries.map((e) => [e.key, e]));
        const forward: string[] = [];
        undo = [];
        // Expired records go first: the kernel has already dropped their elements.
        for (const e of entries) {
          if (isExpired(e, now)) {
            delete db[e.key];
            current.delete(e.key);
          }
        }
        const results = batch.map((op): ChangeResult => {
          if (op.kind === 'purge') return { changed: false, entry: undefined };
          const key = entryKey(op.entry);
          const existing = current.get(key);
          if (op.kind === 'add') {
            if (existing) return { changed: false, entry: existing };
            const expires = op.expire === undefined ? undefined : now + op.expire;
            const stored: StoredEntry = { ...op.entry, key, created: now, ...(expires !== undefined ? { expires } : {}) };
            db[key] = entryRecord(op.entry, now, expires);
            current.set(key, stored);
            forward.push(addLine(op.entry, op.expire));
            undo.unshift(delLine(op.entry));
            return { changed: true, entry: stored };
          }
          if (!existing) return { changed: false, entry: undefined };
          delete db[key];
          current.delete(key);
          forward.push(delLine(op.entry));
          undo.unshift(addLine(existing, existing.expires === undefined ? undefined : Math.max(1, existing.expires - now)));
          return { changed: true, entry: existing };
        });
        if (forward.length > 0) {
          await kernel.apply(forward);
          kernelChanged = true;
        }
        this.cache = current;
        return results;
      });
    } catch (e) {
      if (kernelChanged) {
        // The database was not written: take the kernel back to what the database says.
        await kernel.apply(undo).catch(() => undefined);
        this.cache = new Map((await readEntries(root).catch(() => ({ entries: [] as StoredEntry[] }))).entries.map((x) => [x.key, x]));
      }
      throw e;
    }
  }
}
