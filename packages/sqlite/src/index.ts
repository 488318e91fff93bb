export { SqlitePersistence, type SqlitePersistenceOptions, SqliteStoreError, type SqliteSynchronous } from './sqlite-persistence.js';
export { SCHEMA_VERSION } from './schema.js';
