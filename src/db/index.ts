/**
 * The databases: storage (lowdb + lock), record schemas and validation, e-smith text
 * import/export, and the validated writes behind `db`.
 */
export {
  type DbRecord,
  type Database,
  type UpdateOptions,
  assertDatabaseName,
  databaseFile,
  readDatabase,
  readRecord,
  readDefaults,
  readAllDatabases,
  listShippedDatabases,
  updateDatabase,
  appendDatabase,
  prepareAppend,
  type AppendOptions,
  sortDatabase,
  serializeDatabase,
  checkDatabaseShape,
  getRecord,
  getProp,
} from './store.js';
export {
  type DeleteOptions,
  type MergeReport,
  setRecord,
  setDefaultRecord,
  setProps,
  deleteProps,
  setType,
  deleteRecord,
  setRecords,
  importEsmithText,
  mergeDefaults,
} from './operations.js';
export { type JournalChange, journalFile } from './journal.js';
export { escapeField, splitFields, formatRawValue, parseRawValue, parseEsmithText, formatEsmithText, type ParsedEntry } from './esmith.js';
export {
  type JsonEntry,
  formatShow,
  formatPrint,
  formatPrintType,
  formatPrintProp,
  toJsonEntry,
  toJsonEntries,
  parseJsonEntries,
} from './format.js';
export type { Problem, RecordSchema, DatabaseSchema, RecordProblem, Referrer } from './validation.js';

/**
 * The schemas, validators and reference finder (pure functions), loaded on demand so
 * that read-only commands do not pay for them:
 * `const { validateDatabase } = await loadValidation()`.
 */
export function loadValidation(): Promise<typeof import('./validation.js')> {
  return import('./validation.js');
}
/** Zone naming shared with the model, so both refuse the same clashes. */
export { ROLE_ZONES, NO_ZONE_ROLES, INTERFACE_TYPES, ZONE_NAME_MAX, type ZoneClash, zoneOfRole, zoneClashes } from './schema/zones.js';
/** NethServer's read-only configuration keys (SystemName, DomainName, TimeZone). */
export { VIRTUAL_CONFIGURATION_KEYS, virtualConfigurationRecords, withVirtualConfiguration, configuredTimeZone } from './virtual.js';
/** NethServer 7 import: every record's fate (imported, migrated, kept with a warning, refused). */
export { type ImportReport, type ImportFate, type ImportFateKind, type ImportOptions, importDatabase, planImport, formatImportReport } from './import.js';
export { migrateLegacyRecord, expandAllowExclusions, type MigratedRecord } from './legacy.js';
export { parseImportText, type ImportText, type RefusedLine } from './esmith.js';
