/**
 * Stores opened fresh for a store-level test and removed after it: a SQLite file store in a
 * temporary directory, and PostgreSQL (PGlite, or the server at KILN_TEST_POSTGRES_URL).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { connectPostgres, PgliteDatabase } from '../../src/store/postgres/index.js';
import type { SqlDatabase } from '../../src/store/sql/driver.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-database.js';
import type { Store } from '../../src/store/types.js';
import { dropSchema, openTestPostgres, testPostgresUrl, uniqueSchemaName } from './postgres.js';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

export async function openTestSqlite(prefix = 'kiln-store-'): Promise<OpenedStore> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openSqliteStore(dir);
  return { store, cleanup: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
}

/** Every SQL backend, by name. */
export const storeBackends: [string, () => Promise<OpenedStore>][] = [
  ['sqlite', () => openTestSqlite()],
  ['postgres', () => openTestPostgres()],
];

/** A bare database (no migrations run), for tests of the schema and of query plans. */
export interface RawDatabase {
  db: SqlDatabase;
  cleanup(): Promise<void>;
}

export const rawDatabases: [string, () => Promise<RawDatabase>][] = [
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kiln-raw-'));
      const db = new SqliteDatabase(join(dir, 'kiln.sqlite'));
      return { db, cleanup: async () => (await db.close(), await rm(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'postgres',
    async () => {
      const url = testPostgresUrl();
      if (!url) {
        const db = new PgliteDatabase(await PGlite.create());
        return { db, cleanup: () => db.close() };
      }
      const schema = uniqueSchemaName();
      const admin = await connectPostgres(url, { poolSize: 1, statementTimeoutMs: 0 });
      await admin.execute(`CREATE SCHEMA ${schema}`);
      await admin.close();
      const target = new URL(url);
      target.searchParams.set('options', `-c search_path=${schema}`);
      const db = await connectPostgres(target.toString(), { poolSize: 2, statementTimeoutMs: 0 });
      return { db, cleanup: async () => (await db.close(), await dropSchema(url, schema)) };
    },
  ],
];
