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
} from './store.js';
