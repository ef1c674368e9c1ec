/**
 * Storage that outlives a server, for tests that stop a server and start another on the same
 * data: the SQLite data directory, or with KILN_TEST_BACKEND=postgres a schema of its own on
 * KILN_TEST_POSTGRES_URL (dropped by cleanup), else a PGlite directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKiln, type KilnComponents, type KilnOverrides } from '../../src/index.js';
import { openPgliteStore } from '../../src/store/postgres/index.js';
import { dropSchema, testPostgresUrl, uniqueSchemaName, withClient } from './postgres.js';

export interface RunningServer {
  baseUrl: string;
  close(): Promise<void>;
}

export interface TestStorage {
  backend: 'sqlite' | 'postgres' | 'pglite';
  /** Starts a server on this storage; close it before starting the next. */
  start(overrides?: KilnOverrides): Promise<RunningServer>;
  cleanup(): Promise<void>;
}

export async function testStorage(): Promise<TestStorage> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-storage-'));
  const url = testPostgresUrl();
  const onPostgres = process.env.KILN_TEST_BACKEND === 'postgres';
  const schema = onPostgres && url ? uniqueSchemaName() : undefined;
  if (schema) await withClient(url!, (client) => client.query(`CREATE SCHEMA "${schema}"`));
  const backend = !onPostgres ? 'sqlite' : schema ? 'postgres' : 'pglite';

  const storeConfig = async (): Promise<{ config: KilnOverrides; components: Partial<KilnComponents> }> => {
    if (backend === 'sqlite') return { config: { dataDir: dir }, components: {} };
    if (backend === 'postgres') {
      const target = new URL(url!);
      target.searchParams.set('options', `-c search_path=${schema}`);
      return { config: { dataDir: dir, databaseUrl: target.toString() }, components: {} };
    }
    return { config: { dataDir: dir }, components: { store: await openPgliteStore({ dataDir: join(dir, 'pglite') }) } };
  };

  return {
    backend,
    async start(overrides = {}) {
      const { config, components } = await storeConfig();
      let kiln;
      try {
        kiln = await createKiln({ ...config, ...overrides, port: 0, host: '127.0.0.1', logging: { level: 'silent', pretty: false } }, components);
      } catch (error) {
        await components.store?.close();
        throw error;
      }
      return { baseUrl: await kiln.listen(), close: () => kiln.close() };
    },
    async cleanup() {
      if (schema) await dropSchema(url!, schema);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

