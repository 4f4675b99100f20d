/**
 * The live blocklist. Requests go through two queues, each served one batch at a time,
 * so concurrent requests never interleave:
 *
 * 1. the kernel queue works out what a batch changes against the entries in force (a
 *    duplicate changes nothing) and sends the changes to the kernel in one ipset batch:
 *    this is what stops the packets, and it never waits for the disk. Set batches are
 *    pipelined: the next is worked out over the changes of those still in the kernel and
 *    written to the ipset process at once, which does them in order; if one fails, it and
 *    every batch sent after it are undone (newest first) and fail, so each batch stays all
 *    or nothing. A batch with pair rules (iptables-restore) waits until none is in flight;
 * 2. the database queue then records every change of the batches that reached the
 *    kernel in one locked append to the database's journal (src/db/journal.ts: a line
 *    per change, synced, so the cost does not grow with the list; merged into the file
 *    at start and whenever it outgrows it), once no more requests wait for the kernel
 *    (or after DATABASE_DEFER_MS), so a burst's drops never queue behind a write. Only
 *    then are the requests answered. If the write fails, the kernel changes are undone
 *    (in reverse order) and the requests fail, so nothing is ever half-applied.
 *
 * Why the drop does not wait for the fsync, and nothing is lost by it: what a client is
 * told is what counts. A request is answered only once its change is both in the kernel
 * and synced to the journal, so every acknowledged change survives a crash. A crash
 * between the two loses only a change nobody was told of, and only the one the client
 * asked for: the kernel sets are rebuilt from the database at the next start (the API's,
 * which its unit restarts, and `gatehouse start`'s), so the kernel returns to what was
 * recorded, and the client, which got no answer, retries (PUT and DELETE are
 * idempotent). Syncing first would only
 * delay the drop by the disk's latency (a fdatasync is 0.3 to several ms here, more on a
 * busy disk) and gain nothing an administrator can observe.
 *
 * Expiry: the kernel drops an expired element by itself (ipset timeouts); the record is
 * removed from the database by the next write or the purge timer, and is never listed
 * once expired. A forward pair is a rule (src/compile/blocklist.ts says why): its time
 * match stops it at its expiry, and a timer here deletes the rule then (the next batch, or
 * the next start, does when the API was not running). On start every set is rebuilt from the database with the time left, so
 * entries survive restarts and reboots and still expire on time; expired records are
 * removed and the journal merged into the file.
 */
import { type JournalChange, appendDatabase, databaseFile, journalFile, prepareAppend, updateDatabase } from '../db/index.js';
import { existsSync } from 'node:fs';
import { GatehouseError } from '../errors/index.js';
import { type BlockChain, type BlockEntry, EntryError, type StoredEntry, blockEntry, entryKey, networksOverlap, storedEntry } from './entry.js';
import { type BlocklistKernel, type Counters, addLine, delLine, inversePairLine, isPairLine } from './kernel.js';
import { BLOCKLIST_DB, entryRecord, isExpired, readEntries } from './store.js';

export interface ChangeResult {
  /** False when the request changed nothing (a duplicate add, or removing what is absent). */
  changed: boolean;
  entry: StoredEntry | undefined;
}

interface Request {
  /** sweep: only remove the rules of expired pairs (the expiry timer). */
  kind: 'add' | 'remove' | 'sweep';
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
  /** Write the database whole (merging its journal) instead of appending. */
  whole?: boolean;
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

/** A batch sent to the kernel and not yet done: later batches are worked out over its changes. */
interface Flight {
  changes: Map<string, StoredEntry | undefined>;
  applied: Applied[];
  /** Expiries it took out of the queue (put back if it fails). */
  due: { at: number; key: string }[];
  /** Whether it touched pairs (their expiry timer is set again once it is done). */
  pairs: boolean;
}

/** The clock of every Blocklist without one of its own: one function for all (see warmup.ts: V8's code for a call fits every instance). */
function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Set batches in the kernel at once, at most (each later one is worked out over the changes of all before it). */
const MAX_IN_FLIGHT = 8;

/**
 * Requests that make a batch at once, without waiting for the end of the round of I/O: a burst read in one
 * round (100 requests take the thread 10-20 ms) then reaches the kernel in steps, ipset working on one batch
 * while the next requests are read, instead of all at the end of the round.
 */
const EARLY_BATCH = 16;

/** The longest a change in the kernel waits for its database write while more requests wait for the kernel. */
const DATABASE_DEFER_MS = 20;

/** The key of the same entry with the interface as an exact name instead of a prefix, or the other way round. */
function siblingKey(entry: BlockEntry): string | undefined {
  if (entry.interface === 'any' || entry.to) return undefined;
  const other = entry.interface.endsWith('+') ? entry.interface.slice(0, -1) : `${entry.interface}+`;
  return entryKey(blockEntry(entry.action, entry.chain, other, entry));
}

/** Entries with an expiry, soonest first: a binary heap; an item whose entry changed meanwhile is skipped when it comes due. */
class ExpiryQueue {
  private readonly heap: { at: number; key: string }[] = [];

  push(at: number, key: string): void {
    const h = this.heap;
    h.push({ at, key });
    let i = h.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (h[up]!.at <= h[i]!.at) break;
      [h[up], h[i]] = [h[i]!, h[up]!];
      i = up;
    }
  }

  /** Items due at `now` or before, taken out of the queue. */
  popDue(now: number): { at: number; key: string }[] {
    const h = this.heap;
    const out: { at: number; key: string }[] = [];
    while (h.length > 0 && h[0]!.at <= now) {
      out.push(h[0]!);
      const last = h.pop()!;
      if (h.length === 0) break;
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return out;
  }
}

export class Blocklist {
  private readonly requests: Request[] = [];
  private readonly toWrite: Applied[] = [];
  private kernelBusy = false;
  private writing = false;
  /** The entries in force: what the kernel holds, by key. */
  private entries = new Map<string, StoredEntry>();
  /** When entries expire (a batch takes the due ones out, so no batch scans every entry). */
  private readonly expiries = new ExpiryQueue();
  /** Keys of the forward pairs in force (few: they are rules). */
  private readonly pairs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private merged: Promise<void> = Promise.resolve();
  /** Fires at the next expiry of a pair rule. */
  private pairTimer: NodeJS.Timeout | undefined;
  /** Epoch seconds now (the clock the entries' expiry is judged by). */
  readonly now: () => number;
  private kernelBatches = 0;
  private databaseWrites = 0;
  /** Every kernel change so far (batches and undos), settled or not: what a pair rule change waits for. */
  private kernelChain: Promise<unknown> = Promise.resolve();
  /** Kernel changes waiting on kernelChain (pair rules, and set lines queued behind them). */
  private chained = 0;
  /** Set batches sent to the kernel and not yet done, oldest first. */
  private inflight: Flight[] = [];
  /** Resolved when no batch is in flight. */
  private idle: (() => void)[] = [];
  /** The settling of the last batch sent (each settles after the one before). */
  private lastSettled: Promise<void> = Promise.resolve();
  /** When the oldest change not yet written reached the kernel (performance.now()). */
  private unwrittenSince = 0;
  /** A database write is being considered (writeSoon). */
  private writeAsked = false;
  /** The kernel queue is to be served after this round of I/O. */
  private serveAsked = false;

  constructor(private readonly options: BlocklistOptions) {
    this.now = options.now ?? epochSeconds;
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
    await this.options.kernel.load(live.map((entry) => ({ entry, ...(entry.expires !== undefined ? { timeout: entry.expires - now, expires: entry.expires } : {}) })));
    // Start the long-lived ipset process now, not on the first request.
    await this.options.kernel.apply([]);
    this.entries = new Map(live.map((e) => [e.key, e]));
    for (const e of live) this.track(e);
    this.schedulePairExpiry();
    const expired = read.entries.length - live.length;
    // One whole write, behind the kernel load (the entries already act) and in the database queue
    // (requests' writes wait for it, their kernel changes do not): expired records go, the journal is merged.
    this.merged =
      expired > 0 || existsSync(journalFile(databaseFile(this.options.root, BLOCKLIST_DB)))
        ? this.purge(true).catch((e: unknown) => void process.stderr.write(`gatehouse api: merging the blocklist journal failed (the next start tries again): ${(e as Error).message}\n`))
        : // Otherwise the file's digest, which the first append would work out while its request waits.
          prepareAppend(this.options.root, BLOCKLIST_DB).catch(() => undefined);
    const every = (this.options.purgeSeconds ?? 60) * 1000;
    this.timer = setInterval(() => void this.purge().catch(() => undefined), every);
    this.timer.unref();
    return { loaded: live.length, expired };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.pairTimer) clearTimeout(this.pairTimer);
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

  /** Settles once the database merge that start() began (if any) is done. */
  settled(): Promise<void> {
    return this.merged;
  }

  /**
   * Removes expired entries: their records from the database (the kernel has already dropped
   * their elements), and the rules of expired pairs. `whole`: only a whole database write
   * that also removes every expired record and merges the journal (start).
   */
  purge(whole = false): Promise<void> {
    if (!whole) return this.enqueue({ kind: 'sweep', entry: undefined as unknown as BlockEntry }).then(() => undefined);
    return new Promise((resolve, reject) => {
      this.toWrite.push({ done: () => resolve(), fail: reject, result: { changed: false, entry: undefined }, undo: [], before: undefined, whole });
      if (!this.writing) void this.writeDatabase();
    });
  }

  /** Notes an entry now in force: its expiry, whether it is a pair. */
  private track(e: StoredEntry): void {
    if (e.expires !== undefined) this.expiries.push(e.expires, e.key);
    if (e.to) this.pairs.add(e.key);
  }

  /** Entries in force now, in key order. */
  list(filter: (e: StoredEntry) => boolean = () => true): StoredEntry[] {
    const now = this.now();
    return [...this.entries.values()].filter((e) => !isExpired(e, now) && filter(e)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The kernel's packet and byte counters of the entries of `chain`, by key. */
  counters(chain: BlockChain): Promise<Map<string, Counters>> {
    return this.options.kernel.counters(chain);
  }

  get(entry: BlockEntry): StoredEntry | undefined {
    const found = this.entries.get(entryKey(entry));
    return found && !isExpired(found, this.now()) ? found : undefined;
  }

  stats(): BlocklistStats {
    const bySet: Record<string, number> = {};
    const entries = this.list();
    for (const e of entries) {
      const set = `${e.action}/${e.chain}/${e.to ? 'pairs' : e.interface === 'any' ? 'any' : 'interface'}/v${e.family}`;
      bySet[set] = (bySet[set] ?? 0) + 1;
    }
    return { entries: entries.length, bySet, kernelBatches: this.kernelBatches, databaseWrites: this.databaseWrites };
  }

  /** Sets the timer for the next pair to expire (the kernel's time match has stopped it; its rule goes then). */
  private schedulePairExpiry(): void {
    if (this.pairTimer) clearTimeout(this.pairTimer);
    this.pairTimer = undefined;
    let next: number | undefined;
    for (const key of this.pairs) {
      const e = this.entries.get(key);
      if (e?.expires !== undefined && (next === undefined || e.expires < next)) next = e.expires;
    }
    if (next === undefined) return;
    const wait = Math.max(0, next - this.now()) * 1000 + 50;
    this.pairTimer = setTimeout(() => void this.purge().catch(() => undefined), Math.min(wait, 2 ** 31 - 1));
    this.pairTimer.unref();
  }

  private enqueue(request: Omit<Request, 'done' | 'fail' | 'at'>): Promise<ChangeResult> {
    const promise = new Promise<ChangeResult>((done, fail) => {
      const queued: Request = { kind: request.kind, at: performance.now(), entry: request.entry, done, fail };
      if (request.expire !== undefined) queued.expire = request.expire;
      this.requests.push(queued);
    });
    if (!this.kernelBusy) {
      if (this.requests.length >= EARLY_BATCH) {
        // Enough for a batch while the round of I/O goes on: ipset does it meanwhile (on the other core).
        void this.serveKernel();
      } else if (!this.serveAsked) {
        // After the current round of I/O, so that every request read in it goes in the same batch.
        this.serveAsked = true;
        setImmediate(() => {
          this.serveAsked = false;
          if (!this.kernelBusy && this.requests.length > 0) void this.serveKernel();
        });
      }
    }
    return promise;
  }

  /**
   * Pair rules first (one restore per family, all or nothing), then the set lines; a set
   * failure undoes the rules. Set lines alone go straight to the ipset process, which does
   * them in the order written, unless pair rules are being changed (then they queue behind).
   */
  private kernel(lines: string[], undoing = false): Promise<void> {
    if (this.chained === 0 && !lines.some(isPairLine)) {
      const run = this.options.kernel.apply(lines);
      this.kernelChain = Promise.all([this.kernelChain, run.catch(() => undefined)]);
      return run;
    }
    this.chained++;
    const run = this.kernelChain.then(async () => {
      const rules = lines.filter(isPairLine);
      const sets = rules.length === 0 ? lines : lines.filter((l) => !isPairLine(l));
      // Set lines run even when the pair rules fail (an undo must never skip them: a left-over
      // accept would stay in the kernel with no entry the API knows of); the first failure is reported.
      let failure: unknown;
      let rulesDone = false;
      if (rules.length > 0) {
        try {
          await this.options.kernel.rules(rules);
          rulesDone = true;
        } catch (e) {
          failure = e;
        }
      }
      if (failure !== undefined && !undoing) throw failure;
      try {
        if (sets.length > 0 || rules.length === 0) await this.options.kernel.apply(sets);
      } catch (e) {
        if (rulesDone && !undoing) await this.options.kernel.rules([...rules].reverse().map(inversePairLine)).catch(() => undefined);
        throw failure ?? e;
      }
      if (failure !== undefined) throw failure;
    });
    const counted = run.finally(() => this.chained--);
    this.kernelChain = counted.catch(() => undefined);
    return counted;
  }

  /** Settles once no batch is in flight. */
  private drained(): Promise<void> {
    return this.inflight.length === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * A batch is done (in the order they were sent: one ipset stream). Done: its changes are
   * in force and go to the database queue. Failed: it and every batch sent after it (worked
   * out over its changes) are undone, newest first, then fail; the entries in force are
   * those before it.
   */
  private settle(flight: Flight, error: unknown, ok: boolean): void {
    const at = this.inflight.indexOf(flight);
    // Undone already, with a batch before it.
    if (at === -1) return;
    if (ok) {
      this.inflight.splice(at, 1);
      this.kernelBatches++;
      for (const [key, e] of flight.changes) {
        if (e === undefined) {
          this.entries.delete(key);
          this.pairs.delete(key);
        } else {
          this.entries.set(key, e);
          this.track(e);
        }
      }
      if (flight.pairs) this.schedulePairExpiry();
      if (this.toWrite.length === 0) this.unwrittenSince = performance.now();
      this.toWrite.push(...flight.applied);
    } else {
      const doomed = this.inflight.splice(at);
      // ipset does each line on its own: the set lines are undone (a batch's pair rules went all or nothing,
      // and this.kernel has put them back already); written now, they come after every line sent before.
      const undo = [...doomed].reverse().flatMap((f) => [...f.applied].reverse().flatMap((a) => (a.write ? a.undo : [])).filter((l) => !isPairLine(l)));
      for (const f of doomed) for (const d of f.due) this.expiries.push(d.at, d.key);
      const fail = () => {
        for (const f of doomed) for (const a of f.applied) a.fail(error);
      };
      if (undo.length > 0) void this.kernel(undo).catch(() => undefined).then(fail);
      else fail();
    }
    if (this.inflight.length === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.writeSoon();
  }

  /** Whether a batch taken now would change pair rules: requests on pairs, the expiry sweep, or a pair due to expire. */
  private touchesPairs(batch: readonly Request[], now: number): boolean {
    if (batch.some((r) => r.kind === 'sweep' || r.entry.to)) return true;
    for (const key of this.pairs) {
      const e = this.entries.get(key);
      if (e?.expires !== undefined && e.expires <= now) return true;
    }
    return false;
  }

  /** Kernel queue: one batch at a time is worked out and sent, each handed to the database queue once in the kernel. */
  private async serveKernel(): Promise<void> {
    this.kernelBusy = true;
    try {
      while (this.requests.length > 0) {
        // Pair rules do not go through the ipset stream: such a batch waits until none is in flight, and is waited for.
        const exclusive = this.touchesPairs(this.requests, this.now());
        if ((exclusive && this.inflight.length > 0) || this.inflight.length >= MAX_IN_FLIGHT) {
          await (exclusive ? this.drained() : new Promise<void>((resolve) => this.idle.push(resolve)));
          continue;
        }
        const batch = this.requests.splice(0, this.requests.length);
        const now = this.now();
        const applied: Applied[] = [];
        const forward: string[] = [];
        // The batch's changes over the entries in force and those of the batches in flight, kept apart
        // until the kernel has them (no copy of 100,000 entries).
        const changes = new Map<string, StoredEntry | undefined>();
        const inflight = this.inflight;
        const entries = {
          get: (key: string) => {
            if (changes.has(key)) return changes.get(key);
            for (let i = inflight.length - 1; i >= 0; i--) if (inflight[i]!.changes.has(key)) return inflight[i]!.changes.get(key);
            return this.entries.get(key);
          },
          set: (key: string, e: StoredEntry) => void changes.set(key, e),
          delete: (key: string) => void changes.set(key, undefined),
        };
        // Expired entries first: their records go, and the rules of expired pairs (their time match stopped them already).
        const due = this.expiries.popDue(now);
        for (const { at, key } of due) {
          const e = entries.get(key);
          if (!e || e.expires !== at) continue;
          entries.delete(key);
          const undo = e.to ? [addLine(e, undefined, e.expires)] : [];
          if (e.to) forward.push(delLine(e, e.expires));
          applied.push({ done: () => undefined, fail: () => undefined, result: { changed: true, entry: e }, write: { key, entry: undefined }, undo, before: e });
        }
        for (const request of batch) {
          if (request.kind === 'sweep') {
            applied.push({ done: request.done, fail: request.fail, result: { changed: false, entry: undefined }, undo: [], before: undefined });
            continue;
          }
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
            const stored = storedEntry(request.entry, key, now, expires);
            entries.set(key, stored);
            forward.push(addLine(request.entry, request.expire, expires));
            applied.push({ done: request.done, fail: request.fail, result: { changed: true, entry: stored }, write: { key, entry: stored }, undo: [delLine(request.entry, expires)], before: undefined });
            continue;
          }
          if (!existing) {
            applied.push({ done: request.done, fail: request.fail, result: { changed: false, entry: undefined }, undo: [], before: undefined });
            continue;
          }
          entries.delete(key);
          forward.push(delLine(existing, existing.expires));
          const left = existing.expires === undefined ? undefined : Math.max(1, existing.expires - now);
          applied.push({ done: request.done, fail: request.fail, result: { changed: true, entry: existing }, write: { key, entry: undefined }, undo: [addLine(existing, left, existing.expires)], before: existing });
        }
        const flight: Flight = { changes, applied, due, pairs: exclusive || applied.some((a) => a.before?.to) };
        this.inflight.push(flight);
        const k0 = performance.now();
        const outcome = (forward.length > 0 ? this.kernel(forward) : Promise.resolve()).then(
          () => {
            if (process.env['GATEHOUSE_TRACE_BATCHES']) process.stderr.write(`kernel batch ${batch.length}: ${(performance.now() - k0).toFixed(1)} ms; waited ${(k0 - Math.min(...batch.map((r) => r.at))).toFixed(1)} ms\n`);
            return { ok: true, error: undefined as unknown };
          },
          (error: unknown) => ({ ok: false, error }),
        );
        // Settled in the order sent, also a batch with no kernel line (say, only duplicates): it holds only if those before it do.
        const sent = Promise.all([this.lastSettled, outcome]).then(([, o]) => this.settle(flight, o.error, o.ok));
        // A batch's settling never holds up the next one's.
        this.lastSettled = sent.catch(() => undefined);
        // Pair batches are waited for; set batches are not (the next one goes to the ipset stream at once).
        if (exclusive) await sent;
      }
    } finally {
      this.kernelBusy = false;
      this.writeSoon();
    }
  }

  /**
   * Starts the database write of the changes in the kernel, unless more requests or batches wait for the
   * kernel (their drops come first, and the write and the answers after it would hold them up), but never
   * later than DATABASE_DEFER_MS after the oldest change reached the kernel. Decided two turns of the event
   * loop later: requests whose bytes have arrived meanwhile are read first (a turn's I/O is read before its
   * immediates, and the second turn polls what arrived during the first), so a burst's drops do not queue
   * behind the answers of its first batch. Each settled batch and each end of the kernel queue asks again.
   */
  private writeSoon(): void {
    if (this.writeAsked || this.writing || this.toWrite.length === 0) return;
    this.writeAsked = true;
    setImmediate(() =>
      setImmediate(() => {
        this.writeAsked = false;
        if (this.writing || this.toWrite.length === 0) return;
        if ((this.requests.length === 0 && this.inflight.length === 0) || performance.now() - this.unwrittenSince > DATABASE_DEFER_MS) void this.writeDatabase();
      }),
    );
  }

  /** Database queue: every change that reached the kernel, in one locked write per turn. */
  private async writeDatabase(): Promise<void> {
    this.writing = true;
    try {
      while (this.toWrite.length > 0) {
        const batch = this.toWrite.splice(0, this.toWrite.length);
        try {
          // The last change of each key wins; expired records go (the kernel has already dropped their elements).
          const changes = new Map<string, JournalChange>();
          for (const a of batch) {
            if (!a.write) continue;
            const e = a.write.entry;
            changes.set(a.write.key, { key: a.write.key, record: e ? entryRecord(e, e.created, e.expires) : undefined });
          }
          const now = this.now();
          if (batch.some((a) => a.whole)) {
            await updateDatabase(this.options.root, BLOCKLIST_DB, (db) => {
              // Every expired record, those of before the start too (a pair still in force waits for the sweep to delete its rule).
              for (const key in db) {
                const expires = db[key]!.props['Expires'];
                if (expires !== undefined && expires !== '' && Number(expires) <= now && !this.entries.get(key)?.to) delete db[key];
              }
              for (const c of changes.values()) {
                if (c.record === undefined) delete db[c.key];
                else db[c.key] = c.record;
              }
            });
          } else await appendDatabase(this.options.root, BLOCKLIST_DB, [...changes.values()]);
          this.databaseWrites++;
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
    const lines: string[] = [];
    for (const a of [...batch].reverse()) {
      if (!a.write) continue;
      lines.push(...a.undo);
      if (a.before) {
        this.entries.set(a.write.key, a.before);
        this.track(a.before);
      } else {
        this.entries.delete(a.write.key);
        this.pairs.delete(a.write.key);
      }
    }
    await this.kernel(lines, true).catch(() => undefined);
  }

}
