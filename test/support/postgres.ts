/**
 * PostgreSQL for tests. With KILN_TEST_POSTGRES_URL set, every store lives in its own schema on
 * that server, dropped afterwards; an unreachable server fails the test run. Without it, stores
 * run on PGlite (real PostgreSQL compiled to WebAssembly, in this process): never skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { openPgliteStore, openPostgresStore } from '../../src/store/postgres/index.js';

export interface TestStore {
  store: SqlStore;
  /** Closes the store (if still open) and drops what it created. */
  cleanup(): Promise<void>;
  backend: 'postgres' | 'pglite';
}

export const testPostgresUrl = (): string | undefined => process.env.KILN_TEST_POSTGRES_URL || undefined;

export const settings = { poolSize: 10, statementTimeoutMs: 30_000 };

export function uniqueSchemaName(): string {
  return `kiln_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function openTestPostgres(): Promise<TestStore> {
  const url = testPostgresUrl();
  return url ? openOnServer(url) : openOnPglite();
}

async function openOnServer(url: string): Promise<TestStore> {
  const schema = uniqueSchemaName();
  let store: SqlStore;
  try {
    store = await openPostgresStore(url, settings, { schema });
  } catch (error) {
    throw new Error(`KILN_TEST_POSTGRES_URL is set, but: ${(error as Error).message}`);
  }
  return {
    store,
    backend: 'postgres',
    async cleanup() {
      await store.close();
      await dropSchema(url, schema);
    },
  };
}

/** Runs `work` on a fresh connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function openOnPglite(): Promise<TestStore> {
  const store = await openPgliteStore();
  return { store, backend: 'pglite', cleanup: () => store.close() };
}

/**
 * A real PostgreSQL server for the tests that need several connections or processes on one
 * database: KILN_TEST_POSTGRES_URL, else the local default. Fails with a clear message when
 * neither answers.
 */
export async function requireServerUrl(): Promise<string> {
  const url = testPostgresUrl() ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `This test needs a PostgreSQL server and none answered at ${url} (${(error as Error).message}). ` +
        'Start one, or set KILN_TEST_POSTGRES_URL to one.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return url;
}
