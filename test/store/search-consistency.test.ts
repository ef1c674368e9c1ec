/**
 * Store-level search, on every backend (SQLite file store; PostgreSQL on PGlite, or on the server
 * at KILN_TEST_POSTGRES_URL): the index is written in the write's transaction, so a search right
 * after a commit sees it, a transaction's own searches see its uncommitted writes, and nobody else
 * does until it commits.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../src/fhir/types.js';
import { parseSearch } from '../../src/search/parse.js';
import type { Store, StoreReader, StoreTransaction } from '../../src/store/types.js';
import { storeBackends } from '../support/stores.js';

const backends = storeBackends;

let clock = Date.parse('2026-01-01T00:00:00.000Z');

async function write(tx: StoreTransaction, resource: Resource, versionId = '1', deleted = false): Promise<void> {
  const lastUpdated = new Date(clock++).toISOString();
  const stamped = { ...resource, meta: { versionId, lastUpdated } };
  await tx.writeVersion('', {
    resourceType: resource.resourceType,
    id: resource.id!,
    versionId,
    lastUpdated,
    deleted,
    method: deleted ? 'DELETE' : versionId === '1' ? 'POST' : 'PUT',
    ...(deleted ? {} : { json: JSON.stringify(stamped), resource: stamped }),
  });
}

async function find(store: StoreReader, type: string, query: string): Promise<string[]> {
  const page = await store.search('', { search: parseSearch([...new URLSearchParams(query)], type), count: 100, total: 'accurate' });
  assert.equal(page.total, page.matches.length);
  return page.matches.map((m) => m.id).sort();
}

for (const [name, open] of backends) {
  describe(`search consistency on ${name}`, () => {
    test('every write is searchable as soon as it commits, and only its current content', async () => {
      const { store, cleanup } = await open();
      try {
        for (let i = 0; i < 20; i++) {
          const id = `p${i}`;
          await store.transaction((tx) => write(tx, { resourceType: 'Patient', id, name: [{ family: `Fam${i}` }], gender: i % 2 ? 'male' : 'female' }));
          assert.deepEqual(await find(store, 'Patient', `name=fam${i}`), [id]);
          await store.transaction((tx) => write(tx, { resourceType: 'Patient', id, name: [{ family: `New${i}` }] }, '2'));
          assert.deepEqual(await find(store, 'Patient', `name=fam${i}`), []);
          assert.deepEqual(await find(store, 'Patient', `name=new${i}`), [id]);
          assert.deepEqual(await find(store, 'Patient', `_id=${id}&gender:missing=true`), [id]);
          if (i % 3 === 0) {
            await store.transaction((tx) => write(tx, { resourceType: 'Patient', id }, '3', true));
            assert.deepEqual(await find(store, 'Patient', `_id=${id}`), []);
          }
        }
        assert.equal((await find(store, 'Patient', 'name=new')).length, 13);
      } finally {
        await cleanup();
      }
    });

    test('a transaction searches its own writes; others see them only after the commit', async () => {
      const { store, cleanup } = await open();
      try {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let inside: string[] = [];
        let written!: () => void;
        const wrote = new Promise<void>((resolve) => (written = resolve));
        const tx = store.transaction(async (t) => {
          await write(t, { resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] }, subject: { reference: 'Patient/a' } });
          inside = await find(t, 'Observation', 'code=http://loinc.org|1-8&subject=Patient/a');
          written();
          await held;
        });
        await wrote;
        assert.deepEqual(inside, ['o1']);
        // SQLite reads outside transactions on another connection; PostgreSQL isolates by MVCC.
        // PGlite has a single connection that queues behind the open transaction, so only
        // check the outside view where reading cannot block.
        if (name === 'sqlite' || process.env.KILN_TEST_POSTGRES_URL) assert.deepEqual(await find(store, 'Observation', 'code=1-8'), []);
        release();
        await tx;
        assert.deepEqual(await find(store, 'Observation', 'code=1-8'), ['o1']);
      } finally {
        await cleanup();
      }
    });

    test('a snapshot sees the store as of its first read, whatever commits meanwhile', async () => {
      const { store, cleanup } = await open();
      try {
        const patient = (id: string) => ({ resourceType: 'Patient', id, name: [{ family: 'Snap' }] });
        await store.transaction((tx) => write(tx, patient('s1')));
        let writing: Promise<void> | undefined;
        const seen = await store.snapshot!(async (snapshot) => {
          const before = await find(snapshot, 'Patient', 'name=snap');
          writing = store.transaction((tx) => write(tx, patient('s2')));
          // PGlite queues the write behind the open snapshot; elsewhere it commits now.
          const pgliteQueues = name === 'postgres' && !process.env.KILN_TEST_POSTGRES_URL;
          if (!pgliteQueues) await writing;
          const after = await find(snapshot, 'Patient', 'name=snap');
          const read = await snapshot.readCurrent('', 'Patient', 's2');
          return { before, after, read };
        });
        await writing;
        assert.deepEqual(seen.before, ['s1']);
        assert.deepEqual(seen.after, ['s1'], 'a write committed during the snapshot stays out of it');
        assert.equal(seen.read, undefined);
        assert.deepEqual(await find(store, 'Patient', 'name=snap'), ['s1', 's2'], 'reads after the snapshot see the write');
      } finally {
        await cleanup();
      }
    });
  });
}
