export {
  MIGRATION_LOCK_KEY,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type MigrateResult,
  MigrationError,
  type MigrationFile,
  migrate,
  pendingMigrations,
  readMigrations,
} from "./migrate.js";
export {
  createPool,
  createPools,
  type PoolOptions,
  type Pools,
  UnknownClientError,
} from "./pool.js";
