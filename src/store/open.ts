import type { KilnConfig } from '../config/types.js';
import { openSqliteStore } from './sqlite/index.js';
import type { SqlStore } from './sql/sql-store.js';

/** The store the configuration asks for: PostgreSQL when a database URL is set, else embedded SQLite. */
export async function openStore(config: KilnConfig): Promise<SqlStore> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./postgres/index.js');
    return openPostgresStore(config.databaseUrl, config.database);
  }
  return openSqliteStore(config.dataDir, { readCacheBytes: config.database.readCacheMb * 1024 * 1024 });
}
