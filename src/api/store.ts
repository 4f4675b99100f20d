/**
 * The blocklist database (`blocklist`, one record per entry, keyed by the entry's
 * canonical key) and its conversion to entries. Written only through the db layer's
 * locked updates; read as any database.
 */
import { type Database, type DbRecord, readDatabase } from '../db/index.js';
import { type BlockEntry, type StoredEntry, blockEntry, entryKey, parseAction, parseChain, parseInterface, parseNetwork, storedEntry } from './entry.js';

export const BLOCKLIST_DB = 'blocklist';
export const ENTRY_TYPE = 'entry';

export function entryRecord(entry: BlockEntry, created: number, expires?: number): DbRecord {
  const props: Record<string, string> = {
    Action: entry.action,
    Chain: entry.chain,
    Interface: entry.interface,
    Address: entry.address,
    Created: String(created),
  };
  if (entry.to) {
    props['ToInterface'] = entry.to.interface;
    props['ToAddress'] = entry.to.address;
  }
  if (expires !== undefined) props['Expires'] = String(expires);
  return { type: ENTRY_TYPE, props };
}

/** A record back into an entry; undefined (with the reason) when it is not a valid one. */
export function recordEntry(key: string, record: DbRecord): StoredEntry | string {
  if (record.type !== ENTRY_TYPE) return `type '${record.type}' is not '${ENTRY_TYPE}'`;
  const p = record.props;
  try {
    const entry = blockEntry(parseAction(p['Action'] ?? ''), parseChain(p['Chain'] ?? ''), parseInterface(p['Interface'] ?? 'any'), parseNetwork(p['Address'] ?? ''));
    if (p['ToAddress'] !== undefined || p['ToInterface'] !== undefined) {
      const to = parseNetwork(p['ToAddress'] ?? '');
      if (entry.chain !== 'forward') return 'ToAddress goes with Chain forward only';
      if (to.family !== entry.family) return `ToAddress ${to.address} is not of the IP version of Address`;
      entry.to = { interface: parseInterface(p['ToInterface'] ?? 'any'), address: to.address };
    }
    if (entryKey(entry) !== key) return `the key should be ${entryKey(entry)}`;
    const expires = p['Expires'] === undefined || p['Expires'] === '' ? undefined : Number(p['Expires']);
    if (expires !== undefined && !Number.isInteger(expires)) return `Expires '${p['Expires']}' is not epoch seconds`;
    const created = Number(p['Created'] ?? '0');
    return storedEntry(entry, key, Number.isFinite(created) ? created : 0, expires);
  } catch (e) {
    return (e as Error).message;
  }
}

export interface EntriesRead {
  entries: StoredEntry[];
  /** Records that are not valid entries: `key: reason`. */
  invalid: string[];
}

/**
 * Every record as an entry. `known` entries (the previous read) are reused when their
 * record is unchanged, so a batch against 100,000 entries does not parse them all again.
 */
export function entriesOf(db: Database, known?: ReadonlyMap<string, StoredEntry>): EntriesRead {
  const entries: StoredEntry[] = [];
  const invalid: string[] = [];
  for (const key of Object.keys(db)) {
    const record = db[key]!;
    const before = known?.get(key);
    if (before && sameRecord(before, record)) {
      entries.push(before);
      continue;
    }
    const e = recordEntry(key, record);
    if (typeof e === 'string') invalid.push(`${BLOCKLIST_DB}/${key}: ${e}`);
    else entries.push(e);
  }
  return { entries, invalid };
}

function sameRecord(e: StoredEntry, record: DbRecord): boolean {
  const p = record.props;
  return (
    record.type === ENTRY_TYPE &&
    p['Expires'] === (e.expires === undefined ? undefined : String(e.expires)) &&
    p['Created'] === String(e.created) &&
    p['Action'] === e.action &&
    p['Chain'] === e.chain &&
    p['Interface'] === e.interface &&
    p['Address'] === e.address &&
    p['ToInterface'] === e.to?.interface &&
    p['ToAddress'] === e.to?.address
  );
}

export async function readEntries(root: string): Promise<EntriesRead> {
  return entriesOf(await readDatabase(root, BLOCKLIST_DB));
}

export function isExpired(entry: StoredEntry, now: number): boolean {
  return entry.expires !== undefined && entry.expires <= now;
}
