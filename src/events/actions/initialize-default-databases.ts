/**
 * `initialize-default-databases`: merge every shipped db/<name>/defaults.json into the
 * root's databases (missing records and props are added, no value is overwritten); the
 * merge itself belongs to the db stage.
 */
import { mergeDefaults } from '../../db/index.js';
import type { ActionContext } from './index.js';

export async function initializeDefaultDatabases(context: ActionContext): Promise<void> {
  for (const report of await mergeDefaults(context.root)) {
    if (report.added.length > 0) context.log(`${report.db}: added ${report.added.join(' ')}`);
  }
}
