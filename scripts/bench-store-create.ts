// Single-resource create throughput through SqlStore on each backend (docs/operations.md):
//   node --import tsx scripts/bench-store-create.ts [postgres-url]
// The PostgreSQL run uses a schema of its own, dropped afterwards.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPgliteStore, openPostgresStore } from '../src/store/postgres/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/types.js';

const creates = Number(process.env.N ?? 3000);
const url = process.argv[2] ?? process.env.KILN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function patient(id: string) {
  return {
    resourceType: 'Patient',
    id,
    meta: { versionId: '1', lastUpdated: new Date().toISOString() },
    active: true,
    identifier: [{ system: 'urn:oid:1.2.3', value: randomUUID() }],
    name: [{ family: 'Smith', given: ['Anna', 'Maria'] }],
    telecom: [{ system: 'phone', value: '+33 4 00 00 00 00' }],
    gender: 'female',
    birthDate: '1980-04-12',
    address: [{ city: 'Lyon', postalCode: '69001', country: 'FR' }],
  };
}

async function measure(store: Store, writers: number): Promise<number> {
  let started = 0;
  const writer = async () => {
    while (started++ < creates) {
      const resource = patient(randomUUID());
      const { id, meta } = resource;
      await store.transaction((tx) => tx.writeVersion('', { resourceType: 'Patient', id, versionId: '1', lastUpdated: meta.lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(resource), resource }));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  return Math.round(creates / ((performance.now() - start) / 1000));
}

async function report(name: string, store: Store): Promise<void> {
  const results = [];
  for (const writers of [1, 16]) results.push(`${writers} writer${writers > 1 ? 's' : ''}: ${await measure(store, writers)}/s`);
  console.log(`${name.padEnd(10)} ${results.join('   ')}`);
  await store.close();
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
await report('sqlite', await openSqliteStore(dir));
rmSync(dir, { recursive: true, force: true });

const schema = `kiln_bench_${process.pid}`;
await report('postgres', await openPostgresStore(url, { poolSize: 16, statementTimeoutMs: 0 }, { schema }));
const client = new pg.Client({ connectionString: url });
await client.connect();
await client.query(`DROP SCHEMA ${schema} CASCADE`);
await client.end();

await report('pglite', await openPgliteStore());
