// Group commit in the SQLite backend: concurrent units share one database transaction, each in
// its own savepoint, and a failing unit takes none of the others with it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FhirError } from '../../src/fhir/errors.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-group-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const version = (id: string) => ({
  resourceType: 'Basic',
  id,
  versionId: '1',
  lastUpdated: new Date().toISOString(),
  deleted: false,
  method: 'PUT' as const,
  json: JSON.stringify({ resourceType: 'Basic', id }),
});

test('concurrent units commit together; a failing unit rolls back alone', async () => {
  const store = await openSqliteStore(dir);
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      store.transaction(async (tx) => {
        await tx.writeVersion('', version(`unit-${i}`));
        if (i % 5 === 0) throw new FhirError('invalid', `unit ${i} fails after writing`);
        return i;
      }),
    ),
  );
  for (const [i, result] of results.entries()) {
    assert.equal(result.status, i % 5 === 0 ? 'rejected' : 'fulfilled', `unit ${i}`);
    const stored = await store.readCurrent('', 'Basic', `unit-${i}`);
    assert.equal(stored !== undefined, i % 5 !== 0, `unit ${i} is stored only if it succeeded`);
  }
  await store.close();
});

test('a unit answered as committed survives a reopen of the database', async () => {
  const store = await openSqliteStore(dir);
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.transaction((tx) => tx.writeVersion('', version(`durable-${i}`)))));
  await store.close();
  const reopened = await openSqliteStore(dir);
  for (let i = 0; i < 10; i++) assert.ok(await reopened.readCurrent('', 'Basic', `durable-${i}`));
  await reopened.close();
});

test('transactions of single interactions keep their journals in memory; those of bundles do not', async () => {
  const { SqliteDatabase } = await import('../../src/store/sqlite/sqlite-database.js');
  const db = new SqliteDatabase(join(dir, 'journals.sqlite'));
  db.startServing();
  const tempStore = (options?: { small?: boolean }) =>
    db.transaction(async (tx) => Number((await tx.query<{ temp_store: number }>('PRAGMA temp_store'))[0].temp_store), options);
  // temp_store: 2 = MEMORY, 0 = DEFAULT (a file past 64 KiB).
  assert.deepEqual(await Promise.all([tempStore({ small: true }), tempStore({ small: true })]), [2, 2]);
  assert.equal(await tempStore(), 0, 'a unit that may be large');
  assert.equal(await tempStore({ small: true }), 2);
  // The writer thread ends the small units' transaction before a large unit: its own journals.
  assert.deepEqual(await Promise.all([tempStore({ small: true }), tempStore(), tempStore({ small: true })]), [2, 0, 2], 'a large unit among small ones');
  await db.close();
});

test('full-text writes wait for the end of the group, yet every unit reads those before it, and rollbacks drop theirs', async () => {
  const { parseSearch } = await import('../../src/search/parse.js');
  const store = await openSqliteStore(join(dir, 'full-text'));
  const basic = (id: string, word: string) => ({ ...version(id), json: JSON.stringify({ resourceType: 'Basic', id, code: { text: word } }) });
  const withWord = async (reader: { search: typeof store.search }, word: string) =>
    (await reader.search('', { search: parseSearch([['_content', word]], 'Basic'), count: 100, total: 'none' })).matches.map((m) => m.id).sort();
  const units = await Promise.allSettled([
    store.transaction((tx) => tx.writeVersion('', basic('ft-a', 'aardvark'))),
    // A later unit of the same group finds what an earlier one wrote.
    store.transaction(async (tx) => {
      const seen = await withWord(tx, 'aardvark');
      await tx.writeVersion('', basic('ft-b', 'badger'));
      return seen;
    }),
    // A failing unit: its text goes with it, the earlier units' text stays.
    store.transaction(async (tx) => {
      await tx.writeVersion('', basic('ft-c', 'cormorant'));
      assert.deepEqual(await withWord(tx, 'badger'), ['ft-b']);
      throw new FhirError('invalid', 'fails after a full-text read applied the queue');
    }),
    // A tentative write (rolled back) inside a unit that succeeds.
    store.transaction(async (tx) => {
      const tentative = await tx.tentatively(async () => {
        await tx.writeVersion('', basic('ft-d', 'dormouse'));
        return withWord(tx, 'dormouse');
      });
      await tx.writeVersion('', basic('ft-e', 'eland'));
      return [tentative, await withWord(tx, 'cormorant')];
    }),
  ]);
  assert.deepEqual(
    units.map((u) => u.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual((units[1] as PromiseFulfilledResult<string[]>).value, ['ft-a']);
  assert.deepEqual((units[3] as PromiseFulfilledResult<string[][]>).value, [['ft-d'], []]);
  assert.deepEqual(await withWord(store, 'aardvark'), ['ft-a']);
  assert.deepEqual(await withWord(store, 'badger'), ['ft-b']);
  assert.deepEqual(await withWord(store, 'cormorant'), []);
  assert.deepEqual(await withWord(store, 'dormouse'), []);
  assert.deepEqual(await withWord(store, 'eland'), ['ft-e']);
  await store.close();
});

test('a worker thread copies the write-ahead log into the database file while the server runs', async () => {
  const { copyFileSync } = await import('node:fs');
  const { default: Database } = await import('better-sqlite3');
  const where = join(dir, 'checkpoints');
  const store = await openSqliteStore(where);
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.transaction((tx) => tx.writeVersion('', version(`copied-${i}`)))));
  // Far below wal_autocheckpoint: without the worker, the writes would still be in the log only.
  const inFile = () => {
    copyFileSync(join(where, 'kiln.sqlite'), join(dir, 'file-only.sqlite'));
    const db = new Database(join(dir, 'file-only.sqlite'), { readonly: true });
    try {
      const schema = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'resource'").get() as { n: number };
      return schema.n === 0 ? 0 : (db.prepare("SELECT COUNT(*) AS n FROM resource WHERE id LIKE 'copied-%'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  let copied = 0;
  for (let attempt = 0; attempt < 50 && copied < 50; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    copied = inFile();
  }
  assert.equal(copied, 50);
  await store.close();
});
