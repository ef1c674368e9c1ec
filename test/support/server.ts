import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKiln, openSqliteStore, type KilnComponents, type KilnOverrides, type Store } from '../../src/index.js';
import { openTestPostgres } from './postgres.js';

export interface TestServer {
  /** FHIR base URL, no trailing slash, e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts a real Kiln HTTP server on a free loopback port with a fresh data directory. With
 * KILN_TEST_BACKEND=postgres its store is a fresh PostgreSQL one (see support/postgres.ts)
 * instead of the embedded SQLite. `wrapStore` puts a wrapper of the test's around the store.
 */
export async function startTestServer(overrides: KilnOverrides = {}, wrapStore?: (store: Store) => Store): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kiln-test-'));
  const components: Partial<KilnComponents> = {};
  let cleanupStore = async () => {};
  if (process.env.KILN_TEST_BACKEND === 'postgres') {
    const postgres = await openTestPostgres();
    components.store = postgres.store;
    cleanupStore = postgres.cleanup;
  } else if (wrapStore) components.store = await openSqliteStore(dataDir);
  if (wrapStore) components.store = wrapStore(components.store!);
  const config: KilnOverrides = {
    dataDir,
    ...overrides,
    port: 0,
    host: '127.0.0.1',
    logging: { level: 'silent', pretty: false, ...overrides.logging },
  };
  let kiln;
  try {
    kiln = await createKiln(config, components);
  } catch (error) {
    await cleanupStore();
    throw error;
  }
  const address = await kiln.listen();
  return {
    baseUrl: address,
    dataDir,
    async close() {
      await kiln.close();
      await cleanupStore();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts one server for the enclosing test file (or suite) and closes it afterwards; `onStart`
 * receives it, typically to keep its base URL.
 */
export function useTestServer(onStart: (server: TestServer) => void, overrides: KilnOverrides = {}): void {
  let server: TestServer | undefined;
  before(async () => {
    server = await startTestServer(overrides);
    onStart(server);
  });
  after(async () => {
    await server?.close();
  });
}
