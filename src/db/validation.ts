/**
 * Everything about validity in one module, loaded on demand through `loadValidation()`
 * (index.ts): address parsing costs more than a read-only `db` command may spend.
 */
export { type Problem, validateRecord, validateDatabase, validateChanges, crossRecordProblems, characterProblems, problemsError, assertNoProblems, quote } from './validate.js';
export { type RecordSchema, type DatabaseSchema, type RecordProblem, SCHEMAS, schemaFor } from './schema/records.js';
export { type Referrer, REFERENCE_KINDS, findReferences, splitReference, isReferenceTarget } from './schema/references.js';
export * as checks from './schema/checks.js';
export { ROLE_ZONES, NO_ZONE_ROLES, zoneOfRole, zoneClashes, reservedZoneProblem } from './schema/zones.js';
