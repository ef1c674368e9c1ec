import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';
import { SqliteDatabase } from './sqlite-database.js';

export const SQLITE_FILE_NAME = 'kiln.sqlite';

/**
 * Opens (creating and migrating as needed) the embedded store in `dataDir`, or in memory.
 * `readCacheBytes`: the cache of current versions read (SqlDatabase.committedCache; 0: none).
 */
export async function openSqliteStore(dataDir: string | ':memory:', options: { readCacheBytes?: number } = {}): Promise<SqlStore> {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    file = join(dataDir, SQLITE_FILE_NAME);
  }
  const db = new SqliteDatabase(file, options);
  // The writer creates the file and schema before the read-only connection opens it.
  await migrate(db);
  db.startServing();
  return new SqlStore(db);
}
