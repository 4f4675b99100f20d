/**
 * `initialize-default-databases`: merge every shipped db/<name>/defaults.json into the
 * root's databases: missing records and missing props are added, an existing value (even
 * an empty one) and an existing type are never overwritten.
 */
import { type Database, listShippedDatabases, readDefaults, updateDatabase } from '../../db/index.js';
import type { ActionContext } from './index.js';

/** Adds what `defaults` has and `db` lacks; returns how many records and props were added. */
export function mergeMissing(db: Database, defaults: Database): { records: number; props: number } {
  const added = { records: 0, props: 0 };
  for (const [key, def] of Object.entries(defaults)) {
    const current = db[key];
    if (!current) {
      db[key] = { type: def.type, props: { ...def.props } };
      added.records++;
      continue;
    }
    for (const [prop, value] of Object.entries(def.props)) {
      if (!Object.hasOwn(current.props, prop)) {
        current.props[prop] = value;
        added.props++;
      }
    }
  }
  return added;
}

export async function initializeDefaultDatabases(context: ActionContext): Promise<void> {
  for (const name of await listShippedDatabases()) {
    const defaults = await readDefaults(name);
    const added = await updateDatabase(context.root, name, (db) => mergeMissing(db, defaults));
    context.log(`${name}: ${added.records} record(s) and ${added.props} prop(s) added`);
  }
}
