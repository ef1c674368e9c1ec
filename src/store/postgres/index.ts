import { migrate } from '../sql/schema.js';
import { SqlStore, type SqlStoreOptions } from '../sql/sql-store.js';
import type { SqlExecutor } from '../sql/driver.js';
import { describeConnectError, describeTarget } from './connect-errors.js';
import { assertSchemaName, createPool, PostgresDatabase, type IsolationLevel, type PoolSettings } from './postgres-database.js';

export { postgresDialect, toPositional } from './dialect.js';
export { PostgresDatabase, type IsolationLevel, type PoolSettings } from './postgres-database.js';
export { PgliteDatabase, openPgliteStore, type PgliteStoreOptions } from './pglite-database.js';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /**
   * Keep Kiln's tables in this schema (created if missing) instead of the first schema of the
   * search_path the URL or the role gives. Lower-case letters, digits and _ only.
   */
  schema?: string;
  /**
   * Isolation level of store transactions (default READ COMMITTED: every written resource is
   * locked until commit, see docs/operations.md). SERIALIZABLE also rules out write skew
   * between bundles, at the price of more retried transactions.
   */
  isolation?: IsolationLevel;
}

/**
 * Opens a pool on `url` and checks that the server answers, so that a wrong host or wrong
 * credentials fail here with a plain message rather than on the first request.
 */
export async function connectPostgres(url: string, settings: PoolSettings, options: { schema?: string; isolation?: IsolationLevel } = {}): Promise<PostgresDatabase> {
  const target = describeTarget(url);
  if (options.schema) assertSchemaName(options.schema);
  const pool = createPool(url, settings, options.schema);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new Error(describeConnectError(error, target));
  }
  return new PostgresDatabase(pool, options.isolation);
}

/**
 * Applies pending migrations. Several Kiln processes may start at once: each takes the same
 * transaction-scoped advisory lock first, so one migrates and the others then find nothing to
 * do. READ COMMITTED, so that the waiting ones see the ledger rows the first one committed.
 */
export async function migratePostgres(db: PostgresDatabase, schema?: string): Promise<number> {
  const lockAndCreateSchema = async (tx: SqlExecutor) => {
    // Building an index on a large table, or waiting for another process that does, may take
    // longer than any request should: no statement timeout here.
    await tx.execute('SET LOCAL statement_timeout = 0');
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('kiln.migrate ' || current_setting('search_path')))`);
    if (schema && (await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = ?', [schema])).length === 0) {
      await tx.execute(`CREATE SCHEMA "${schema}"`);
    }
  };
  return migrate({ dialect: db.dialect, transaction: (work) => db.transactionAt(work, 'READ COMMITTED') }, lockAndCreateSchema);
}

/** The PostgreSQL store: connects, migrates (creating the schema when asked) and returns the store. */
export async function openPostgresStore(url: string, settings: PoolSettings, options: PostgresStoreOptions = {}): Promise<SqlStore> {
  const { schema, isolation, ...storeOptions } = options;
  const db = await connectPostgres(url, settings, { schema, isolation });
  try {
    await migratePostgres(db, schema);
  } catch (error) {
    await db.close();
    // 3F000: the search_path names no schema that exists.
    const hint = (error as { code?: string }).code === '3F000' ? ' (does the schema named in search_path exist?)' : '';
    throw new Error(`Cannot migrate the PostgreSQL schema: ${(error as Error).message}${hint}`);
  }
  return new SqlStore(db, storeOptions);
}
