import type { KilnConfig } from '../config/types.js';
import { openSqliteStore } from './sqlite/index.js';
import type { SqlStore } from './sql/sql-store.js';

/** The store the configuration asks for: PostgreSQL when a database URL is set, else embedded SQLite. */
export async function openStore(config: KilnConfig): Promise<SqlStore> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./postgres/index.js');
    return openPostgresStore(config.databaseUrl, config.database);
  }
  // A configuration built by hand may lack readCacheMb: the SQLite default then.
  const readCacheMb = config.database.readCacheMb;
  return openSqliteStore(config.dataDir, Number.isFinite(readCacheMb) ? { readCacheBytes: readCacheMb * 1024 * 1024 } : {});
}
