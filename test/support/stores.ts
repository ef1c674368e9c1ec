/**
 * Stores opened fresh for a store-level test and removed after it: a SQLite file store in a
 * temporary directory, and PostgreSQL (PGlite, or the server at KILN_TEST_POSTGRES_URL).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/types.js';
import { openTestPostgres } from './postgres.js';

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
