// The cache of current versions (store/sql/committed-cache.ts) that a SQLite file's store reads
// through outside transactions: kept true by the writer thread's commits, bounded, and copied.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { CommittedCache } from '../../src/store/sql/committed-cache.js';
import { migrate } from '../../src/store/sql/schema.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-database.js';
import type { NewVersion, StoredVersion } from '../../src/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-read-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function openStore(name: string, options: { writerThread?: boolean; readCacheBytes?: number } = {}) {
  const file = join(dir, `${name}.sqlite`);
  const db = new SqliteDatabase(file, options);
  await migrate(db);
  db.startServing();
  return { file, db, store: new SqlStore(db) };
}

const basic = (id: string, versionId: string, note: string): NewVersion => ({
  resourceType: 'Basic',
  id,
  versionId,
  lastUpdated: new Date().toISOString(),
  deleted: false,
  method: 'PUT',
  json: JSON.stringify({ resourceType: 'Basic', id, meta: { versionId }, text: { status: 'generated', div: `<div>${note}</div>` } }),
});

const put = (store: SqlStore, version: NewVersion) => store.transaction((tx) => tx.writeVersion('', version));

/** Changes a stored version behind Kiln's back, so that a read shows whether it came from the cache. */
function overwriteBehindKilnsBack(file: string, id: string, note: string): void {
  const connection = new Database(file);
  connection.prepare(`UPDATE resource_version SET json = json_set(json, '$.text.div', ?) WHERE type = 'Basic' AND id = ?`).run(`<div>${note}</div>`, id);
  connection.close();
}

const noteOf = (version: StoredVersion | undefined) => (version?.json ? (JSON.parse(version.json) as { text: { div: string } }).text.div : undefined);

test('a read after a write is answered sees the write; before it, the version read earlier comes from the cache', async () => {
  const { file, db, store } = await openStore('read-after-write');
  await put(store, basic('a', '1', 'one'));
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>one</div>');

  overwriteBehindKilnsBack(file, 'a', 'changed behind its back');
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>one</div>', 'the second read comes from the cache');

  await put(store, basic('a', '2', 'two'));
  const afterUpdate = await store.readCurrent('', 'Basic', 'a');
  assert.equal(afterUpdate?.versionId, '2');
  assert.equal(noteOf(afterUpdate), '<div>two</div>');

  await store.transaction((tx) => tx.writeVersion('', { ...basic('a', '3', ''), deleted: true, method: 'DELETE', json: undefined }));
  assert.equal((await store.readCurrent('', 'Basic', 'a'))?.deleted, true);
  await db.close();
});

/** A store whose cache holds Basic/a and Basic/b, both since changed behind its back (to 'a changed', 'b changed'). */
async function withStaleEntries(name: string) {
  const opened = await openStore(name);
  for (const id of ['a', 'b']) await put(opened.store, basic(id, '1', id));
  for (const id of ['a', 'b']) await opened.store.readCurrent('', 'Basic', id);
  for (const id of ['a', 'b']) overwriteBehindKilnsBack(opened.file, id, `${id} changed`);
  return opened;
}

test('a commit of writes with no declared key empties the cache; other resources keep their entries', async () => {
  const { db, store } = await withStaleEntries('undeclared');
  await put(store, basic('c', '1', 'c'));
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>a</div>', "another resource's write leaves a's entry");

  // A statement through the writer that names no key (SoleWriter.writing): nothing is known to be unchanged.
  await db.execute(`UPDATE kiln_setting SET value = value WHERE name = 'none'`);
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>a changed</div>');
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'b')), '<div>b changed</div>');
  await db.close();
});

test('a rehearsal undone in a savepoint (tentatively) keeps the entries of resources it did not write', async () => {
  const { db, store } = await withStaleEntries('tentatively');

  await store.transaction(async (tx) => {
    await tx.tentatively(() => tx.writeVersion('', basic('b', '2', 'rehearsed, undone')));
    await tx.writeVersion('', basic('c', '1', 'c'));
  });
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>a</div>', 'a: not written, still cached');
  assert.equal(noteOf(await store.readCurrent('', 'Basic', 'b')), '<div>b changed</div>', 'b: written in the rehearsal, read again');
  assert.equal((await store.readCurrent('', 'Basic', 'b'))?.versionId, '1', 'the rehearsal left nothing');
  assert.equal((await store.readCurrent('', 'Basic', 'c'))?.versionId, '1');
  await db.close();
});

test('callers get copies, and no cache is kept with readCacheBytes 0 or without the writer thread', async () => {
  const cached = await openStore('copies');
  await put(cached.store, basic('a', '1', 'one'));
  const first = await cached.store.readCurrent('', 'Basic', 'a');
  first!.versionId = 'spoilt';
  assert.equal((await cached.store.readCurrent('', 'Basic', 'a'))?.versionId, '1');
  assert.ok(cached.db.committedCache);
  await cached.db.close();

  for (const [name, options] of [
    ['no-cache', { readCacheBytes: 0 }],
    ['no-thread', { writerThread: false }],
  ] as const) {
    const { file, db, store } = await openStore(name, options);
    assert.equal(db.committedCache, undefined, name);
    await put(store, basic('a', '1', 'one'));
    await store.readCurrent('', 'Basic', 'a');
    overwriteBehindKilnsBack(file, 'a', 'changed');
    assert.equal(noteOf(await store.readCurrent('', 'Basic', 'a')), '<div>changed</div>', name);
    await db.close();
  }
});

test('the cache keeps no version read before a commit it did not see, and stays within its bytes', () => {
  const version = (id: string, size: number): StoredVersion => ({
    resourceType: 'Basic',
    id,
    versionId: '1',
    lastUpdated: '2026-01-01T00:00:00Z',
    deleted: false,
    method: 'PUT',
    json: 'x'.repeat(size),
  });
  const cache = new CommittedCache(64 * 1024);
  const clock = cache.clock;
  cache.committed(['Basic/x']);
  cache.keep('Basic/a', version('a', 100), clock);
  assert.equal(cache.get('Basic/a'), undefined, 'read before a commit: maybe stale, not kept');

  cache.keep('Basic/a', version('a', 100), cache.clock);
  assert.equal(cache.get('Basic/a')?.id, 'a');
  cache.keep('Basic/big', version('big', 5000), cache.clock);
  assert.equal(cache.get('Basic/big'), undefined, 'more than an eighth of the cache: not kept');

  cache.keep('Basic/read', version('read', 3000), cache.clock);
  for (let i = 0; i < 40; i++) {
    cache.keep(`Basic/${i}`, version(String(i), 3000), cache.clock);
    assert.equal(cache.get('Basic/read')?.id, 'read', 'an entry read often stays');
  }
  assert.equal(cache.get('Basic/a'), undefined, 'the entries read least recently went');
  assert.equal(cache.get('Basic/39')?.id, '39');
  const kept = Array.from({ length: 40 }, (_, i) => cache.get(`Basic/${i}`)).filter(Boolean).length;
  assert.ok(kept > 0 && (kept + 1) * (2 * 3000 + 256) <= 64 * 1024, `kept ${kept}`);

  cache.committed(undefined);
  assert.equal(cache.get('Basic/39'), undefined);
});
