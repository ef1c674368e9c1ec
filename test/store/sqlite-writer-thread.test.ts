// The SQLite writer thread (store/sqlite/writer-thread.ts): statements posted without waiting,
// their failures, the thread's own commits, and the keys it numbers new rows with.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { LOST_RACE } from '../../src/store/sql/driver.js';
import { migrate } from '../../src/store/sql/schema.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { openConnection, SqliteExecutor } from '../../src/store/sqlite/connection.js';
import { SqliteDatabase, sqliteDialect } from '../../src/store/sqlite/sqlite-database.js';
import { WriteSession } from '../../src/store/sqlite/write-session.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-writer-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function serving(name: string): Promise<SqliteDatabase> {
  const db = new SqliteDatabase(join(dir, `${name}.sqlite`));
  await migrate(db);
  db.startServing();
  await db.execute('CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  return db;
}

/** A version of Basic `id` coded `urn:s|code`. */
const codedBasic = (id: string, versionId: string, code: string) => ({
  resourceType: 'Basic',
  id,
  versionId,
  lastUpdated: new Date().toISOString(),
  deleted: false,
  method: 'PUT' as const,
  json: JSON.stringify({ resourceType: 'Basic', id, code: { coding: [{ system: 'urn:s', code }] } }),
});

const notes = async (db: SqliteDatabase) => (await db.query<{ text: string }>('SELECT text FROM note ORDER BY id')).map((row) => row.text);

test('a posted write that fails fails its unit when the unit ends, takes back its other writes, and refuses its later statements', async () => {
  const db = await serving('posted-failure');
  let refused: unknown;
  const units = await Promise.allSettled([
    db.transaction(async (tx) => tx.post!('INSERT INTO note (text) VALUES (?)', ['first'])),
    db.transaction(async (tx) => {
      tx.post!('INSERT INTO note (text) VALUES (?)', ['second, undone']);
      tx.post!('INSERT INTO note (text) VALUES (?)', [null]);
      // The unit's work goes on unaware; its next awaited statement is refused with the error.
      await tx.query('SELECT 1').catch((error: unknown) => (refused = error));
      return 'the work itself succeeded';
    }),
    db.transaction(async (tx) => tx.post!('INSERT INTO note (text) VALUES (?)', ['third'])),
  ]);
  assert.deepEqual(
    units.map((unit) => unit.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  const failure = (units[1] as PromiseRejectedResult).reason as { message: string; code: string };
  assert.match(failure.message, /NOT NULL constraint failed: note\.text/);
  assert.equal(failure.code, 'SQLITE_CONSTRAINT_NOTNULL');
  assert.equal((refused as Error | undefined)?.message, failure.message);
  assert.deepEqual(await notes(db), ['first', 'third']);
  await db.close();
});

test('a posted write told it may lose a race fails its unit with LOST_RACE when it changes no row', async () => {
  const db = await serving('lost-race');
  await db.execute("INSERT INTO note (id, text) VALUES (1, 'taken')");
  await assert.rejects(
    db.transaction(async (tx) => {
      tx.post!("INSERT INTO note (text) VALUES ('not kept')");
      tx.post!("INSERT INTO note (id, text) VALUES (1, 'mine') ON CONFLICT (id) DO NOTHING", [], 'note 1 was taken');
    }),
    (error: { code?: string; message?: string }) => error.code === LOST_RACE && error.message === 'note 1 was taken',
  );
  assert.deepEqual(await notes(db), ['taken']);
  await db.close();
});

test('units are answered only once the thread committed them (more than it lets wait at once), and a unit failing here takes none of the others', async () => {
  const db = await serving('commits');
  const visible: boolean[] = [];
  const outcomes = await Promise.allSettled(
    Array.from({ length: 600 }, (_, i) =>
      db
        .transaction(async (tx) => {
          tx.post!('INSERT INTO note (text) VALUES (?)', [`n${i}`]);
          if (i % 7 === 3) throw new Error(`unit ${i} fails`);
          return i;
        })
        // Answered means committed: a reader on its own connection sees the unit's row at once.
        .then(async () => (visible[i] = (await db.query('SELECT 1 FROM note WHERE text = ?', [`n${i}`])).length === 1)),
    ),
  );
  assert.ok(visible.filter(Boolean).length > 0 && outcomes.every((outcome, i) => outcome.status === 'rejected' || visible[i]));
  const kept = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [`n${i}`] : []));
  assert.equal(kept.length, 600 - outcomes.filter((_, i) => i % 7 === 3).length);
  assert.deepEqual(await notes(db), kept);
  await db.close();
});

test('new rows are numbered past every key the database ever gave, across restarts, and none is given twice', async () => {
  const where = join(dir, 'keys');
  const basic = (id: string, versionId = '1') => codedBasic(id, versionId, id);
  // Before serving, rows are numbered by the database (AUTOINCREMENT), as by an older release.
  let store = await openSqliteStore(where);
  await store.close();
  {
    const db = new SqliteDatabase(join(where, 'kiln.sqlite'), { writerThread: false });
    await db.transaction(async (tx) => {
      await tx.execute("INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, method, json) VALUES ('', 'Basic', 'old', 1, '2020-01-01', 0, 'PUT', '{}')");
      await tx.execute("INSERT INTO resource (tenant, type, id, version, seq, last_updated, deleted) VALUES ('', 'Basic', 'old', 1, 1, '2020-01-01', 0)");
      // A row since removed still holds its numbers (AUTOINCREMENT never gives them again).
      await tx.execute("INSERT INTO resource_version (seq, tenant, type, id, version, last_updated, deleted, method, json) VALUES (40, '', 'Basic', 'gone', 1, '2020-01-01', 0, 'PUT', '{}')");
      await tx.execute('DELETE FROM resource_version WHERE seq = 40');
    });
    await db.close();
  }
  for (let round = 0; round < 2; round++) {
    store = await openSqliteStore(where);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.transaction((tx) => tx.writeVersion('', basic(`r${round}-${i}`)))));
    // An update takes its version's number from the thread too.
    await store.transaction((tx) => tx.writeVersion('', basic(`r${round}-0`, '2')));
    await store.close();
  }
  const file = new Database(join(where, 'kiln.sqlite'), { readonly: true });
  const seqs = (file.prepare('SELECT seq FROM resource_version ORDER BY seq').all() as { seq: number }[]).map((row) => row.seq);
  const rkeys = (file.prepare('SELECT rkey FROM resource ORDER BY rkey').all() as { rkey: number }[]).map((row) => row.rkey);
  const indexRkeys = file.prepare('SELECT DISTINCT rkey FROM search_token').all() as { rkey: number }[];
  file.close();
  assert.equal(seqs.length, 1 + 2 * 21);
  assert.equal(new Set(seqs).size, seqs.length);
  assert.ok(seqs.slice(1).every((seq) => seq > 40), 'past the removed row');
  assert.equal(rkeys.length, 1 + 2 * 20);
  assert.equal(new Set(rkeys).size, rkeys.length);
  // The index rows posted with each new resource carry its number.
  assert.equal(indexRkeys.length, 2 * 20);
  assert.ok(indexRkeys.every(({ rkey }) => rkeys.includes(rkey)));
});

test('when the thread cannot open the database, writes fail with its reason instead of waiting forever', async () => {
  const { mkdirSync, renameSync } = await import('node:fs');
  const file = join(dir, 'unopenable.sqlite');
  const db = new SqliteDatabase(file);
  await migrate(db);
  db.startServing();
  // The thread is still starting (it loads its modules first): its file is now a directory.
  renameSync(file, `${file}.moved`);
  mkdirSync(file);
  await assert.rejects(
    db.transaction((tx) => tx.query('SELECT 1')),
    (error: Error) => /unable to open database file/.test(error.message),
  );
  await assert.rejects(
    db.transaction(async (tx) => tx.post!('INSERT INTO kiln_setting (name, value) VALUES (?, ?)', ['a', 'b'])),
    (error: Error) => /unable to open database file/.test(error.message),
  );
  await db.close();
});

test('a unit reads a resource that an earlier unit wrote and has not committed through the thread, and rewrites its index against those rows', async () => {
  const { parseSearch } = await import('../../src/search/parse.js');
  const store = await openSqliteStore(join(dir, 'in-flight'));
  const coded = (versionId: string, code: string) => codedBasic('x', versionId, code);
  await store.transaction((tx) => tx.writeVersion('', coded('1', 'a')));
  const attempts = [0, 0];
  const recode = (unit: number, code: string) =>
    store.transaction(async (tx) => {
      attempts[unit]++;
      const current = await tx.readCurrentForUpdate('', 'Basic', 'x');
      await tx.writeVersion('', coded(String(Number(current!.versionId) + 1), code));
    });
  // One after the other in one batch: the second runs before the first is committed.
  await Promise.all([recode(0, 'b'), recode(1, 'a')]);
  // Read from the committed data, the second would have seen version 1, lost its race and run again.
  assert.deepEqual(attempts, [1, 1]);
  assert.equal((await store.readCurrent('', 'Basic', 'x'))?.versionId, '3');
  const withCode = async (code: string) => (await store.search('', { search: parseSearch([['code', `urn:s|${code}`]], 'Basic'), count: 10, total: 'none' })).matches.map((m) => m.id);
  // Diffed against version 1's rows (code a), version 3's would have looked unchanged and kept b.
  assert.deepEqual(await withCode('a'), ['x']);
  assert.deepEqual(await withCode('b'), []);
  await store.close();
});

test('a search inside a unit finds what earlier units wrote and have not committed, of its type and of the types its chains reach', async () => {
  const { parseSearch } = await import('../../src/search/parse.js');
  const store = await openSqliteStore(join(dir, 'in-flight-search'));
  const write = (resourceType: string, id: string, body: Record<string, unknown>) => ({
    resourceType,
    id,
    versionId: '1',
    lastUpdated: new Date().toISOString(),
    deleted: false,
    method: 'PUT' as const,
    json: JSON.stringify({ resourceType, id, ...body }),
  });
  await store.transaction((tx) => tx.writeVersion('', write('Observation', 'o', { status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p' } })));
  const ids = (page: { matches: { id: string }[] }) => page.matches.map((m) => m.id).sort();
  // A large first unit keeps the thread busy, so the next units' writes are still in flight (not
  // committed) when the searches run here.
  const identifier = Array.from({ length: 20000 }, (_, i) => ({ system: 'urn:big', value: `v${i}` }));
  const [, , , sameType, throughChain, untouched] = await Promise.all([
    store.transaction((tx) => tx.writeVersion('', write('Basic', 'big', { identifier }))),
    store.transaction((tx) => tx.writeVersion('', write('Basic', 'b1', { code: { coding: [{ system: 'urn:s', code: 'c' }] } }))),
    store.transaction((tx) => tx.writeVersion('', write('Patient', 'p', { name: [{ family: 'Inflight' }] }))),
    store.transaction(async (tx) => ids(await tx.search('', { search: parseSearch([['code', 'urn:s|c']], 'Basic'), count: 10, total: 'none' }))),
    store.transaction(async (tx) => ids(await tx.search('', { search: parseSearch([['subject:Patient.family', 'Inflight']], 'Observation'), count: 10, total: 'none' }))),
    store.transaction(async (tx) => ids(await tx.search('', { search: parseSearch([['status', 'final']], 'Observation'), count: 10, total: 'none' }))),
  ]);
  assert.deepEqual(sameType, ['b1']);
  assert.deepEqual(throughChain, ['o']);
  assert.deepEqual(untouched, ['o']);
  await store.close();
});

test('the first key given is past the committed ones even when the unit asking for it has already failed', async () => {
  const db = await serving('first-key');
  await db.transaction(async (tx) => {
    await tx.execute("INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, method, json) VALUES ('', 'Basic', 'a', 1, '2020-01-01', 0, 'PUT', '{}')");
  });
  // Committed before any key was given: the database numbered it (AUTOINCREMENT).
  await assert.rejects(
    db.transaction(async (tx) => {
      tx.post!('INSERT INTO note (text) VALUES (?)', [null]);
      await tx.query('SELECT 1').catch(() => undefined);
      return tx.soleWriter!.nextKey('seq');
    }),
    /NOT NULL constraint failed/,
  );
  assert.equal(await db.transaction(async (tx) => tx.soleWriter!.nextKey('seq')), 3);
  await db.close();
});

test('a key seen in a rolled-back rehearsal is not used afterwards', async () => {
  const { parseSearch } = await import('../../src/search/parse.js');
  const store = await openSqliteStore(join(dir, 'rehearsal'));
  const coded = (versionId: string, code: string) => codedBasic('r', versionId, code);
  await store.transaction(async (tx) => {
    await tx.tentatively(async () => {
      await tx.writeVersion('', coded('1', 'rehearsed'));
      assert.equal((await tx.readCurrent('', 'Basic', 'r'))?.versionId, '1');
    });
    await tx.writeVersion('', coded('1', 'first'));
    await tx.writeVersion('', coded('2', 'second'));
  });
  assert.equal((await store.readCurrent('', 'Basic', 'r'))?.versionId, '2');
  const withCode = async (code: string) => (await store.search('', { search: parseSearch([['code', `urn:s|${code}`]], 'Basic'), count: 10, total: 'none' })).matches.map((m) => m.id);
  assert.deepEqual(await withCode('second'), ['r']);
  assert.deepEqual(await withCode('rehearsed'), []);
  await store.close();
});

test('the first unit of a transaction runs without a savepoint: when it fails, its writes (full-text ones too) are undone and the units after it are kept', () => {
  const connection = openConnection(join(dir, 'first-unit.sqlite'), false);
  connection.exec('CREATE TABLE t (unit INTEGER NOT NULL, v TEXT NOT NULL)');
  connection.exec('CREATE VIRTUAL TABLE search_fulltext USING fts5(words)');
  const session = new WriteSession(new SqliteExecutor(connection));
  const unit = (n: number, fail: 'posted' | 'work' | false) => {
    session.startUnit();
    session.post('INSERT INTO t VALUES (?, ?)', [n, `v${n}`]);
    session.post('INSERT INTO search_fulltext (rowid, words) VALUES (?, ?)', [n, `word${n}`]);
    if (fail === 'posted') session.post('INSERT INTO t VALUES (?, ?)', [n, null]);
    session.endUnit(fail !== 'work');
  };
  session.begin(false);
  unit(0, 'posted');
  unit(1, false);
  unit(2, 'work');
  unit(3, false);
  assert.deepEqual(
    session.commit().map((failure) => failure.unit),
    [0],
  );
  session.begin(true);
  unit(4, 'work');
  unit(5, 'posted');
  unit(6, false);
  assert.deepEqual(
    session.commit().map((failure) => failure.unit),
    [1],
  );
  assert.deepEqual(
    connection.prepare('SELECT unit FROM t ORDER BY unit').all().map((row) => (row as { unit: number }).unit),
    [1, 3, 6],
  );
  assert.deepEqual(
    connection.prepare("SELECT rowid FROM search_fulltext WHERE search_fulltext MATCH 'word0 OR word1 OR word2 OR word3 OR word4 OR word5 OR word6' ORDER BY rowid").all(),
    [{ rowid: 1 }, { rowid: 3 }, { rowid: 6 }],
  );
  connection.close();
});

test('a write that makes SQLite end the whole transaction (database full) fails every unit of the group, and none of them is kept', () => {
  const connection = openConnection(join(dir, 'full-session.sqlite'), false);
  connection.exec('CREATE TABLE t (unit INTEGER NOT NULL, v TEXT NOT NULL)');
  connection.exec('CREATE INDEX t_v ON t (v)');
  connection.exec('CREATE VIRTUAL TABLE search_fulltext USING fts5(words)');
  connection.pragma(`max_page_count = ${Number(connection.pragma('page_count', { simple: true })) + 20}`);
  const session = new WriteSession(new SqliteExecutor(connection));
  session.begin(false);
  session.startUnit();
  session.post('INSERT INTO t VALUES (?, ?)', [0, 'zero']);
  session.endUnit(true);
  // An index insert of many rows (INSERT OR FAIL, as the store's): the database fills part-way.
  session.startUnit();
  const rows = Array.from({ length: 100 }, (_, i) => [1, `${'x'.repeat(1500)}${i}`]);
  session.post(`${sqliteDialect.insertMany} t (unit, v) VALUES ${rows.map(() => '(?, ?)').join(', ')}`, rows.flat());
  session.endUnit(true);
  assert.equal(connection.inTransaction, false, 'SQLite rolled the whole transaction back');
  session.startUnit();
  session.post('INSERT INTO t VALUES (?, ?)', [2, 'two']);
  session.post('INSERT INTO search_fulltext (words) VALUES (?)', ['two']);
  assert.throws(() => session.query('SELECT 1'), /full/);
  session.endUnit(true);
  assert.equal(connection.inTransaction, false, 'the unit after it opened no transaction of its own');
  assert.throws(() => session.commit(), /full/);
  assert.deepEqual(connection.prepare('SELECT unit FROM t').all(), []);
  assert.deepEqual(connection.prepare('SELECT rowid FROM search_fulltext').all(), []);
  connection.close();
});

test('through the thread, after the database filled up: a caller told its write failed finds it not stored, and writes work again once there is room', async () => {
  const db = await serving('full-thread');
  const store = new SqlStore(db, { retries: 0 });
  await store.transaction((tx) => tx.writeVersion('', codedBasic('warm', '1', 'w')));
  const [{ page_count: pages }] = await db.query<{ page_count: number }>('PRAGMA page_count');
  await db.execute(`PRAGMA max_page_count = ${pages + 30}`);
  const identifier = Array.from({ length: 4000 }, (_, i) => ({ system: 'urn:ids', value: `${i}-${'x'.repeat(40)}` }));
  const big = { ...codedBasic('big', '1', 'b'), json: JSON.stringify({ resourceType: 'Basic', id: 'big', identifier }) };
  const outcomes = await Promise.all(
    [big, codedBasic('small', '1', 's')].map((version) => store.transaction((tx) => tx.writeVersion('', version)).then(() => 'ok', (error: Error) => error.message)),
  );
  assert.match(outcomes[0], /full/);
  for (const [i, id] of ['big', 'small'].entries()) {
    const stored = (await store.readCurrent('', 'Basic', id)) !== undefined;
    assert.equal(stored, outcomes[i] === 'ok', `${id}: told ${outcomes[i]}, stored ${stored}`);
  }
  await db.execute('PRAGMA max_page_count = 1073741823');
  await store.transaction((tx) => tx.writeVersion('', codedBasic('after', '1', 'a')));
  assert.equal((await store.readCurrent('', 'Basic', 'after'))?.versionId, '1');
  await db.close();
});
