/**
 * Validated writes: the changes `db` (and the API) make to a database. Each one checks
 * names before taking the lock, applies its change to a fresh copy under the lock,
 * validates the records it touched, and writes only if all is well.
 * Validation and reference modules are loaded lazily: read-only commands never pay for them.
 */
import { existsSync } from 'node:fs';
import { GatehouseError } from '../errors/index.js';
import { assertNoProblems, characterProblems } from './names.js';
import { type Database, type DbRecord, type UpdateOptions, databaseFile, getRecord, listShippedDatabases, readAllDatabases, readDefaults, updateDatabase } from './store.js';

type Props = Record<string, string>;

let validationModule: Promise<typeof import('./validate.js')> | undefined;
/** The schema validator, loaded once; writes start loading it while they take the lock. */
function validation(): Promise<typeof import('./validate.js')> {
  validationModule ??= import('./validate.js');
  validationModule.catch(() => undefined); // a failure surfaces where it is awaited
  return validationModule;
}

/** Refuse bad db names, keys, prop names and control characters before touching anything. */
function checkInput(db: string, key: string, rec: { type?: string; props?: Props }): void {
  assertNoProblems(characterProblems(db, key, rec.type, rec.props ?? {}));
  void validation();
}

function missingKey(db: string, key: string): GatehouseError {
  return new GatehouseError('no such key', {
    place: { db, key },
    hint: `create it first with: db ${db} set ${key} <type> [prop value ...]`,
  });
}

/** Validate the touched records of `data` (called under the lock). */
async function validateTouched(db: string, data: Database, keys: Iterable<string>): Promise<void> {
  const v = await validation();
  const problems: import('./names.js').Problem[] = [];
  const touched = [...new Set(keys)].sort();
  for (const key of touched) {
    const rec = getRecord(data, key);
    if (rec) problems.push(...v.validateRecord(db, key, rec));
  }
  if (problems.length === 0) problems.push(...v.crossRecordProblems(db, data, touched));
  v.assertNoProblems(problems);
}

/**
 * Options of a write that changes the record `key` only: when no check reads the other
 * records of `db`, the store may hand the change that one record (UpdateOptions.only).
 */
async function oneRecord(db: string, key: string): Promise<UpdateOptions> {
  return (await validation()).checksAcrossRecords(db) ? {} : { only: key };
}

/** `set`: create or fully replace a record (old props are not kept). */
export async function setRecord(root: string, db: string, key: string, type: string, props: Props): Promise<void> {
  checkInput(db, key, { type, props });
  await updateDatabase(root, db, async (data) => {
    data[key] = { type, props: { ...props } };
    await validateTouched(db, data, [key]);
  }, await oneRecord(db, key));
}

/** `setdefault`: like set, but only when the key is absent. Returns whether it was created. */
export async function setDefaultRecord(root: string, db: string, key: string, type: string, props: Props): Promise<boolean> {
  checkInput(db, key, { type, props });
  return updateDatabase(root, db, async (data) => {
    if (getRecord(data, key)) return false;
    data[key] = { type, props: { ...props } };
    await validateTouched(db, data, [key]);
    return true;
  }, await oneRecord(db, key));
}

/** `setprop`: add or overwrite props of an existing record. */
export async function setProps(root: string, db: string, key: string, props: Props): Promise<void> {
  checkInput(db, key, { props });
  await updateDatabase(root, db, async (data) => {
    const rec = getRecord(data, key);
    if (!rec) throw missingKey(db, key);
    Object.assign(rec.props, props);
    await validateTouched(db, data, [key]);
  }, await oneRecord(db, key));
}

/** `delprop`: remove props of an existing record (absent props are ignored). */
export async function deleteProps(root: string, db: string, key: string, names: string[]): Promise<void> {
  checkInput(db, key, { props: Object.fromEntries(names.map((n) => [n, ''])) });
  await updateDatabase(root, db, async (data) => {
    const rec = getRecord(data, key);
    if (!rec) throw missingKey(db, key);
    for (const n of names) delete rec.props[n];
    await validateTouched(db, data, [key]);
  }, await oneRecord(db, key));
}

/** `settype`: change the type of an existing record, keeping its props. */
export async function setType(root: string, db: string, key: string, type: string): Promise<void> {
  checkInput(db, key, { type });
  await updateDatabase(root, db, async (data) => {
    const rec = getRecord(data, key);
    if (!rec) throw missingKey(db, key);
    rec.type = type;
    await validateTouched(db, data, [key]);
  }, await oneRecord(db, key));
}

export interface DeleteOptions {
  /** Delete even when other records still refer to this one. */
  force?: boolean;
}

/**
 * `delete`: remove a record. A firewall object that other records reference (in this or
 * other databases) is refused with the list of referrers unless `force` is set.
 */
export async function deleteRecord(root: string, db: string, key: string, options: DeleteOptions = {}): Promise<void> {
  checkInput(db, key, {});
  await updateDatabase(root, db, async (data) => {
    const rec = getRecord(data, key);
    if (!rec) throw missingKey(db, key);
    if (!options.force) {
      const refs = await import('./schema/references.js');
      if (refs.isReferenceTarget(db, rec.type)) {
        // Other databases are read without their locks: a reference added at this very
        // moment can slip through, as with any check-then-act across files.
        const all = await readAllDatabases(root);
        all[db] = data;
        const referrers = refs.findReferences(all, { db, key, type: rec.type });
        if (referrers.length > 0) {
          const list = referrers.map((r) => `${r.db}/${r.key}/${r.prop}`).join(', ');
          throw new GatehouseError(`${rec.type} '${key}' is still referenced by ${list}`, {
            place: { db, key },
            hint: 'change or delete those records first, or use --force',
          });
        }
      }
    }
    delete data[key];
    // What the deleted record leaves dangling in its own database (a provider on a deleted interface).
    if (!options.force) {
      const v = await validation();
      v.assertNoProblems(v.crossRecordProblems(db, data, [key]));
    }
  });
}

/**
 * Replace (or create) several records at once, all or nothing: `setjson` and `import`.
 * Entries may carry the line they came from in `source`, so errors can name it.
 */
export async function setRecords(
  root: string,
  db: string,
  entries: { key: string; record: DbRecord; line?: number }[],
  source?: string,
): Promise<void> {
  const v = await validation();
  for (const e of entries) {
    const problems = v.validateRecord(db, e.key, e.record);
    if (problems.length > 0) throw v.problemsError(problems, { ...(source !== undefined ? { file: source } : {}), ...(e.line !== undefined ? { line: e.line } : {}) });
  }
  await updateDatabase(root, db, (data) => {
    for (const e of entries) data[e.key] = { type: e.record.type, props: { ...e.record.props } };
    const problems = v.crossRecordProblems(db, data, entries.map((e) => e.key));
    if (problems.length > 0) {
      const line = entries.find((e) => e.key === problems[0]!.key)?.line;
      throw v.problemsError(problems, { ...(source !== undefined ? { file: source } : {}), ...(line !== undefined ? { line } : {}) });
    }
  });
}

/** `import`: e-smith text in; records replace same-named ones, all or nothing. */
export async function importEsmithText(root: string, db: string, text: string, source: string): Promise<number> {
  const { parseEsmithText } = await import('./esmith.js');
  const entries = parseEsmithText(text, source);
  await setRecords(root, db, entries, source);
  return entries.length;
}

/** What mergeDefaults added to one database: `key` for a new record, `key/prop` for a new prop. */
export interface MergeReport {
  db: string;
  added: string[];
}

/**
 * Merge the shipped defaults into the databases under `root`: add missing records and
 * props, never overwrite a value (the `initialize-default-databases` action).
 */
export async function mergeDefaults(root: string): Promise<MergeReport[]> {
  const out: MergeReport[] = [];
  for (const name of await listShippedDatabases()) {
    const defaults = await readDefaults(name);
    const existed = existsSync(databaseFile(root, name));
    const added = await updateDatabase(root, name, async (data) => {
      const added: string[] = [];
      for (const key of Object.keys(defaults).sort()) {
        const def = defaults[key]!;
        const rec = getRecord(data, key);
        if (!rec || !existed) {
          if (!rec) data[key] = { type: def.type, props: { ...def.props } };
          added.push(key);
          continue;
        }
        for (const prop of Object.keys(def.props).sort()) {
          if (!Object.hasOwn(rec.props, prop)) {
            rec.props[prop] = def.props[prop]!;
            added.push(`${key}/${prop}`);
          }
        }
      }
      await validateTouched(name, data, added.map((a) => a.split('/')[0]!));
      return added;
    });
    out.push({ db: name, added });
  }
  return out;
}
