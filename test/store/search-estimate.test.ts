/**
 * `_total=estimate` past the candidates the store counts one by one (2,000 when they come in rkey
 * order): the population of an rkey-ordered driving clause is extrapolated from how far into the
 * type's rkeys the counted ones reach, the share
 * that passes the other clauses is sampled, and the first page's plan and estimate ride along in
 * the cursor. SQLite file store, written at the store level (fast enough for 12,000 resources).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearch } from '../../src/search/parse.js';
import type { SearchPage, Store } from '../../src/store/types.js';
import { openTestSqlite, storeBackends } from '../support/stores.js';

const HEART_RATE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const OTHER = { coding: [{ system: 'http://loinc.org', code: '29463-7' }] };

async function search(store: Store, query: string, total: 'estimate' | 'accurate', cursor?: string): Promise<SearchPage> {
  return store.search('', { search: parseSearch([...new URLSearchParams(query)], 'Observation'), count: 20, total, ...(cursor ? { cursor } : {}) });
}

test('estimates beyond the counted candidates are close to the accurate totals, and later pages keep them', async () => {
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

/**
 * Candidates that are costly to test (clauses that follow references: `_has`, chains) are tested
 * in rkey order only until the page is full, and the default estimate comes from that page: the
 * share of matches among the candidates it tested. Both backends, store level.
 */
for (const [backend, open] of storeBackends) {
  test(`costly candidate tests stream and estimate from the first page (${backend})`, async () => {
    const { store, cleanup } = await open();
    try {
      // 3,000 patients, every fifth a Smith, nine in ten active; one observation each, a heart
      // rate for two patients in three.
      await store.transaction(async (tx) => {
        const write = async (resource: { resourceType: string; id: string } & Record<string, unknown>, i: number) => {
          const lastUpdated = new Date(Date.UTC(2026, 0, 1) + i).toISOString();
          const stamped = { ...resource, meta: { versionId: '1', lastUpdated } };
          await tx.writeVersion('', { resourceType: resource.resourceType, id: resource.id, versionId: '1', lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(stamped), resource: stamped });
        };
        for (let i = 0; i < 3_000; i++) {
          await write({ resourceType: 'Patient', id: `p${i}`, active: i % 10 !== 0, name: [{ family: i % 5 === 0 ? 'Smith' : `Other${i % 7}` }] }, i);
          await write({ resourceType: 'Observation', id: `o${i}`, status: 'final', code: i % 3 !== 0 ? HEART_RATE : OTHER, subject: { reference: `Patient/p${i}` } }, i);
        }
      });
      const find = (type: string, query: string, total: 'estimate' | 'accurate', cursor?: string) =>
        store.search('', { search: parseSearch([...new URLSearchParams(query)], type), count: 20, total, ...(cursor ? { cursor } : {}) });
      const index = (id: string) => Number(id.slice(1));

      // _has, driven by the 600 Smiths (the 2,000 heart rates are too many to drive): 400 match.
      const has = `name=Smith&_has:Observation:subject:code=${encodeURIComponent('http://loinc.org|8867-4')}`;
      const expected = Array.from({ length: 3_000 }, (_, i) => i).filter((i) => i % 5 === 0 && i % 3 !== 0);
      const first = await find('Patient', has, 'estimate');
      assert.deepEqual(first.matches.map((m) => index(m.id)), expected.slice(0, 20), 'the first 20 matches, in the order they were written');
      assert.ok(Math.abs(first.total! - 400) <= 40, `estimate ${first.total} is far from 400`);
      assert.equal((await find('Patient', has, 'accurate')).total, 400);
      const seen: number[] = [];
      for (let page: SearchPage | undefined = first; page; ) {
        seen.push(...page.matches.map((m) => index(m.id)));
        page = page.nextCursor ? await find('Patient', has, 'estimate', page.nextCursor) : undefined;
      }
      assert.deepEqual(seen, expected, 'paging lists every match once, in order');

      // A chain tested on every heart rate (its own targets, 2,700 active patients, are too many
      // to drive): 1,800 match.
      const chain = `code=${encodeURIComponent('http://loinc.org|8867-4')}&subject:Patient.active=true`;
      const chained = await find('Observation', chain, 'estimate');
      assert.deepEqual(chained.matches.map((m) => index(m.id)), Array.from({ length: 3_000 }, (_, i) => i).filter((i) => i % 3 !== 0 && i % 10 !== 0).slice(0, 20));
      assert.ok(Math.abs(chained.total! - 1_800) <= 180, `estimate ${chained.total} is far from 1,800`);
      assert.equal((await find('Observation', chain, 'accurate')).total, 1_800);

      // A chain with few targets (600 Smiths): on SQLite, candidates are tested against the list of them.
      const few = `code=${encodeURIComponent('http://loinc.org|8867-4')}&subject:Patient.name=Smith`;
      const smiths = await find('Observation', few, 'estimate');
      assert.deepEqual(smiths.matches.map((m) => index(m.id)), expected.slice(0, 20));
      assert.ok(Math.abs(smiths.total! - 400) <= 60, `estimate ${smiths.total} is far from 400`);
      assert.equal((await find('Observation', few, 'accurate')).total, 400);
    } finally {
      await cleanup();
    }
  });
}
