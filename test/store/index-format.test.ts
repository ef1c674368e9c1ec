// Which index a database holds (store/sql/index-state.ts): a new database records it; one that
// recorded nothing is taken for the first extraction format and rebuilt once, on a real SQLite file.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { defaultParameterSet } from '../../src/search/parameter-set.js';
import { openSqliteStore, SQLITE_FILE_NAME } from '../../src/store/sqlite/index.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-index-format-'));
  dirs.push(dir);
  return dir;
}

const observation = {
  resourceType: 'Observation',
  id: 'o1',
  meta: { versionId: '1', lastUpdated: '2026-01-01T00:00:00.000Z' },
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p1' },
};

function withFile<T>(dir: string, work: (db: Database.Database) => T): T {
  const db = new Database(join(dir, SQLITE_FILE_NAME));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const settings = (db: Database.Database) => Object.fromEntries((db.prepare('SELECT name, value FROM kiln_setting').all() as { name: string; value: string }[]).map((r) => [r.name, r.value]));
const rowsOf = (db: Database.Database, param: string) => (db.prepare('SELECT COUNT(*) AS n FROM search_reference WHERE param = ?').get(param) as { n: number }).n;

test('a new database records the index it holds: nothing to rebuild at start', async () => {
  const dir = await newDir();
  const store = await openSqliteStore(dir);
  assert.equal(await store.useSearchParameters(defaultParameterSet()), undefined);
  await store.close();
  withFile(dir, (db) => assert.equal(settings(db)['search.fingerprint'], defaultParameterSet().fingerprint));
});

test('a database that recorded no index is rebuilt once: rows of the old format go', async () => {
  const dir = await newDir();
  let store = await openSqliteStore(dir);
  const json = JSON.stringify(observation);
  await store.transaction((tx) => tx.writeVersion('', { resourceType: 'Observation', id: 'o1', versionId: '1', lastUpdated: observation.meta.lastUpdated, deleted: false, method: 'POST', json, resource: observation }));
  await store.close();
  // As a database written by a release before this one: no fingerprint, and a `patient` row
  // (format 1 stored Observation.patient's rows; format 2 reads subject's).
  withFile(dir, (db) => {
    assert.equal(rowsOf(db, 'patient'), 0);
    db.prepare('DELETE FROM kiln_setting').run();
    db.prepare(`INSERT INTO search_reference (rkey, tenant, type, param, target_type, target_id) SELECT rkey, tenant, type, 'patient', target_type, target_id FROM search_reference WHERE param = 'subject'`).run();
  });

  store = await openSqliteStore(dir);
  const rebuilt = await store.useSearchParameters(defaultParameterSet());
  assert.equal(rebuilt?.resources, 1);
  assert.equal(rebuilt?.changed, 1);
  await store.close();
  withFile(dir, (db) => {
    assert.equal(rowsOf(db, 'patient'), 0);
    assert.equal(rowsOf(db, 'subject'), 1);
    assert.equal(settings(db)['search.fingerprint'], defaultParameterSet().fingerprint);
  });

  store = await openSqliteStore(dir);
  assert.equal(await store.useSearchParameters(defaultParameterSet()), undefined, 'current from then on');
  await store.close();
});

test('a rebuild lets the event loop turn between batches, so its progress is logged while it runs', async () => {
  const dir = await newDir();
  const store = await openSqliteStore(dir);
  for (let i = 0; i < 30; i++) {
    const resource = { ...observation, id: `o${i}` };
    await store.transaction((tx) => tx.writeVersion('', { resourceType: 'Observation', id: resource.id, versionId: '1', lastUpdated: observation.meta.lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(resource), resource }));
  }
  let turns = 0;
  const timer = setInterval(() => turns++, 0);
  const seen: number[] = [];
  try {
    await store.reindex(defaultParameterSet(), { batchSize: 5, onProgress: (p) => void (p.finished || seen.push(turns)) });
  } finally {
    clearInterval(timer);
    await store.close();
  }
  assert.equal(seen.length, 6);
  assert.ok(seen[5] > seen[0], `timers ran between batches: ${seen.join(', ')}`);
});
