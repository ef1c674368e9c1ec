// How Kiln opens a SQLite database file (store/sqlite/connection.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { openConnection } from '../../src/store/sqlite/connection.js';
import { openSqliteStore, SQLITE_FILE_NAME } from '../../src/store/sqlite/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-connection-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pageSize = (file: string) => {
  const connection = new Database(file, { readonly: true });
  try {
    return connection.pragma('page_size', { simple: true });
  } finally {
    connection.close();
  }
};

const basic = (id: string) => ({ resourceType: 'Basic', id, versionId: '1', lastUpdated: new Date().toISOString(), deleted: false, method: 'PUT' as const, json: JSON.stringify({ resourceType: 'Basic', id }) });

test('a new database gets 8 KiB pages; one made with other pages keeps them and works as before', async () => {
  const fresh = join(dir, 'fresh');
  const store = await openSqliteStore(fresh);
  await store.transaction((tx) => tx.writeVersion('', basic('a')));
  await store.close();
  assert.equal(pageSize(join(fresh, SQLITE_FILE_NAME)), 8192);

  const older = join(dir, 'older');
  const made = await openSqliteStore(older);
  await made.close();
  // As releases before 8 KiB pages made it: 4 KiB pages (rebuilt by VACUUM, out of WAL mode).
  const connection = new Database(join(older, SQLITE_FILE_NAME));
  connection.pragma('journal_mode = DELETE');
  connection.pragma('page_size = 4096');
  connection.exec('VACUUM');
  connection.close();
  const reopened = await openSqliteStore(older);
  await reopened.transaction((tx) => tx.writeVersion('', basic('b')));
  assert.equal((await reopened.readCurrent('', 'Basic', 'b'))?.versionId, '1');
  await reopened.close();
  assert.equal(pageSize(join(older, SQLITE_FILE_NAME)), 4096);
});

test('the writer checkpoints by itself at ~40 MB of WAL, whatever the page size', () => {
  for (const size of [8192, 4096]) {
    const file = join(dir, `checkpoint-${size}.sqlite`);
    const made = new Database(file);
    made.pragma(`page_size = ${size}`);
    made.exec('CREATE TABLE t (x)');
    made.close();
    const connection = openConnection(file, false);
    const pages = connection.pragma('wal_autocheckpoint', { simple: true }) as number;
    connection.close();
    assert.equal(pages * size, 40 * 1024 * 1024, `page size ${size}`);
  }
});
