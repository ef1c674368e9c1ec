/**
 * After a burst of writes, the PostgreSQL store refreshes the planner's statistics and vacuums
 * the tables in the background (store/sql/statistics.ts): without the vacuum, index-only scans
 * visit the table for every row a bulk load just inserted (a count over 90,000 index rows took
 * 250 ms instead of 33 ms at 1M resources). PostgreSQL (PGlite, or KILN_TEST_POSTGRES_URL).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUIET_MS } from '../../src/store/sql/statistics.js';
import { storeBackends } from '../support/stores.js';

const openPostgres = storeBackends.find(([name]) => name === 'postgres')![1];

test('a burst of writes is followed by ANALYZE and VACUUM of the search tables', async () => {
  const { store, cleanup } = await openPostgres();
  try {
    await store.transaction(async (tx) => {
      for (let i = 0; i < 300; i++) {
        const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
        const resource = { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, meta: { versionId: '1', lastUpdated } };
        await tx.writeVersion('', { resourceType: 'Observation', id: resource.id, versionId: '1', lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(resource), resource });
      }
    });
    const db = (store as unknown as { db: { query<T>(sql: string): Promise<T[]> } }).db;
    let row: { analyzed: boolean; vacuumed: boolean } | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      [row] = await db.query<{ analyzed: boolean; vacuumed: boolean }>(
        `SELECT last_analyze IS NOT NULL AS analyzed, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = 'search_token'`,
      );
      if (row?.analyzed && row.vacuumed) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(row, { analyzed: true, vacuumed: true });
  } finally {
    await cleanup();
  }
});

test('writes that stop short of the next refresh get one once they have been quiet', async () => {
  const { store, cleanup } = await openPostgres();
  const db = (store as unknown as { db: { query<T>(sql: string): Promise<T[]> } }).db;
  const vacuums = async () =>
    Number((await db.query<{ n: number | string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'search_token' AND schemaname = current_schema()`))[0]?.n ?? 0);
  const until = async (done: () => Promise<boolean>, ms: number) => {
    for (const start = Date.now(); Date.now() - start < ms; await new Promise((resolve) => setTimeout(resolve, 100))) if (await done()) return true;
    return false;
  };
  const writeBurst = (from: number, n: number) =>
    store.transaction(async (tx) => {
      for (let i = from; i < from + n; i++) {
        const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
        const resource = { resourceType: 'Patient', id: `p${i}`, gender: 'female', meta: { versionId: '1', lastUpdated } };
        await tx.writeVersion('', { resourceType: 'Patient', id: resource.id, versionId: '1', lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(resource), resource });
      }
    });
  try {
    await writeBurst(0, 800);
    assert.ok(await until(async () => (await vacuums()) >= 1, 10_000), 'the first burst is vacuumed at once');
    const before = await vacuums();
    // 201 writes since the last run, fewer than a quarter of the 1,001 seen: no run at commit time.
    await writeBurst(800, 201);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await vacuums(), before, 'no refresh while the writes may go on');
    assert.ok(await until(async () => (await vacuums()) > before, QUIET_MS + 10_000), 'a refresh once the writes have been quiet');
  } finally {
    await cleanup();
  }
});
