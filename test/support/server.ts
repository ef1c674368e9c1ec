import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKiln, type KilnOverrides } from '../../src/index.js';

export interface TestServer {
  /** FHIR base URL, no trailing slash, e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/** Starts a real Kiln HTTP server on a free loopback port with a fresh data directory. */
export async function startTestServer(overrides: KilnOverrides = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kiln-test-'));
  const kiln = await createKiln({
    dataDir,
    ...overrides,
    port: 0,
    host: '127.0.0.1',
    logging: { level: 'silent', pretty: false, ...overrides.logging },
  });
  const address = await kiln.listen();
  return {
    baseUrl: address,
    dataDir,
    async close() {
      await kiln.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
