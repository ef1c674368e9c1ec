/**
 * `_total=estimate` past the candidates the store counts one by one (10,000): the population of
 * an rkey-ordered driving clause is extrapolated from where its 10,000th candidate lies, the share
 * that passes the other clauses is sampled, and the first page's plan and estimate ride along in
 * the cursor. SQLite file store, written at the store level (fast enough for 12,000 resources).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearch } from '../../src/search/parse.js';
import type { SearchPage, Store } from '../../src/store/types.js';
import { openTestSqlite } from '../support/stores.js';

const HEART_RATE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const OTHER = { coding: [{ system: 'http://loinc.org', code: '29463-7' }] };

async function search(store: Store, query: string, total: 'estimate' | 'accurate', cursor?: string): Promise<SearchPage> {
  return store.search('', { search: parseSearch([...new URLSearchParams(query)], 'Observation'), count: 20, total, ...(cursor ? { cursor } : {}) });
}

test('estimates beyond 10,000 candidates are close to the accurate totals, and later pages keep them', async () => {
  const { store, cleanup } = await openTestSqlite('kiln-estimate-');
  try {
    // 12,000 heart rates (a quarter 'final') spread among 3,000 other observations.
    await store.transaction(async (tx) => {
      for (let i = 0; i < 15_000; i++) {
        const heartRate = i % 5 !== 4;
        const resource = { resourceType: 'Observation', id: `o${i}`, status: heartRate && i % 4 === 0 ? 'final' : 'preliminary', code: heartRate ? HEART_RATE : OTHER };
        const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
        const stamped = { ...resource, meta: { versionId: '1', lastUpdated } };
        await tx.writeVersion('', { resourceType: 'Observation', id: resource.id, versionId: '1', lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(stamped), resource: stamped });
      }
    });
    const code = `code=${encodeURIComponent('http://loinc.org|8867-4')}`;
    const single = await search(store, code, 'estimate');
    assert.equal((await search(store, code, 'accurate')).total, 12_000);
    assert.ok(Math.abs(single.total! - 12_000) <= 12_000 * 0.1, `estimate ${single.total} is far from 12,000`);

    const both = await search(store, `${code}&status=final`, 'estimate');
    const accurate = (await search(store, `${code}&status=final`, 'accurate')).total!;
    assert.equal(accurate, 3_000);
    assert.ok(Math.abs(both.total! - accurate) <= accurate * 0.25, `estimate ${both.total} is far from ${accurate}`);
    assert.equal(both.matches.length, 20);

    const next = await search(store, `${code}&status=final`, 'estimate', both.nextCursor);
    assert.equal(next.total, both.total, 'the next page carries the first page estimate');
    assert.ok(next.matches.every((m) => !both.matches.some((b) => b.id === m.id)));
  } finally {
    await cleanup();
  }
});
