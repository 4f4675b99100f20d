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
  readDefaults,
  readAllDatabases,
  listShippedDatabases,
  updateDatabase,
  sortDatabase,
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
export {
  type Problem,
  validateRecord,
  validateDatabase,
  validateChanges,
  characterProblems,
  problemsError,
  assertNoProblems,
} from './validate.js';
export { type RecordSchema, type DatabaseSchema, SCHEMAS, schemaFor } from './schema/records.js';
export { type Referrer, REFERENCE_KINDS, findReferences, splitReference } from './schema/references.js';
export * as checks from './schema/checks.js';
