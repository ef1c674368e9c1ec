/**
 * The `_text`/`_content` full-text index on every backend (SQLite file; PostgreSQL on PGlite, or
 * on the server at KILN_TEST_POSTGRES_URL): migration 4 moves a database's existing text rows into
 * it, migration 7 drops the old table, and searches go through the index (FTS5 MATCH; the GIN
 * index on the tsvector), not a scan.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSearch } from '../../src/search/parse.js';
import { pageQuery } from '../../src/search/sql/plan.js';
import type { SqlDatabase } from '../../src/store/sql/driver.js';
import { migrate, migrations } from '../../src/store/sql/schema.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { rawDatabases } from '../support/stores.js';

const backends = rawDatabases;

/** A resource as a release before migration 4 stored it, `_text`/`_content` rows included. */
async function writeOldFormat(db: SqlDatabase, id: string, text: string, content: string): Promise<void> {
  const json = JSON.stringify({ resourceType: 'Observation', id, meta: { versionId: '1', lastUpdated: '2026-01-01T00:00:00.000Z' }, status: 'final' });
  await db.transaction(async (tx) => {
    const [{ seq }] = await tx.query<{ seq: number }>(
      `INSERT INTO resource_version (tenant, type, id, version, last_updated, deleted, method, json) VALUES ('', 'Observation', ?, 1, '2026-01-01T00:00:00.000Z', 0, 'POST', ?) RETURNING seq`,
      [id, json],
    );
    const [{ rkey }] = await tx.query<{ rkey: number }>(
      `INSERT INTO resource (tenant, type, id, version, seq, last_updated, deleted) VALUES ('', 'Observation', ?, 1, ?, '2026-01-01T00:00:00.000Z', 0) RETURNING rkey`,
      [id, seq],
    );
    for (const [param, value] of [['_text', text], ['_content', content]]) {
      await tx.execute(`INSERT INTO search_text (rkey, tenant, type, param, content) VALUES (?, '', 'Observation', ?, ?)`, [rkey, param, ` ${value}`]);
    }
  });
}

/** A write through the store, as a server of this release makes it. */
async function writeNow(store: SqlStore, id: string, note: string, versionId = '1'): Promise<void> {
  const resource = { resourceType: 'Observation', id, meta: { versionId, lastUpdated: '2026-02-01T00:00:00.000Z' }, status: 'final', code: { text: 'x' }, note: [{ text: note }] };
  await store.transaction((tx) =>
    tx.writeVersion('', { resourceType: 'Observation', id, versionId, lastUpdated: resource.meta.lastUpdated, deleted: false, method: 'PUT', json: JSON.stringify(resource), resource }),
  );
}

async function assertNoTextTable(db: SqlDatabase): Promise<void> {
  await assert.rejects(db.query('SELECT COUNT(*) AS n FROM search_text'), /search_text/, 'search_text is dropped');
}

async function matches(store: SqlStore, query: [string, string][]): Promise<string[]> {
  const page = await store.search('', { search: parseSearch(query, 'Observation'), count: 100, total: 'none' });
  return page.matches.map((m) => m.id).sort();
}

for (const [name, open] of backends) {
  describe(`full-text index on ${name}`, () => {
    test('migration 4 moves the text rows of an existing database into the index', async () => {
      const { db, cleanup } = await open();
      try {
        await migrate(db, undefined, migrations.slice(0, 3));
        // As migration 2's writer kept them: normalised, punctuation and all.
        await writeOldFormat(db, 'old-1', 'creme brulee & insulin', 'fasting blood glucose, e-mail: a.b@example.org');
        await writeOldFormat(db, 'old-2', 'nothing here', 'blood pressure');
        assert.equal(await migrate(db, undefined, migrations.slice(0, 6)), 3);
        const store = new SqlStore(db);
        assert.deepEqual(await matches(store, [['_content', 'blood']]), ['old-1', 'old-2']);
        assert.deepEqual(await matches(store, [['_content', 'glu']]), ['old-1']);
        assert.deepEqual(await matches(store, [['_content', 'mail example']]), ['old-1'], 'words split as new writes split them');
        assert.deepEqual(await matches(store, [['_text', 'brul']]), ['old-1']);
        assert.deepEqual(await matches(store, [['_text', 'blood']]), []);
        const kept = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM search_text');
        assert.equal(Number(kept[0].n), 4, 'migrations 4 to 6 keep the old table for servers of the release before them');
      } finally {
        await cleanup();
      }
    });

    test('migration 7 drops search_text from a database at migration 6 that has rows in it; the index answers as before', async () => {
      const { db, cleanup } = await open();
      try {
        await migrate(db, undefined, migrations.slice(0, 3));
        await writeOldFormat(db, 'old-1', 'creme brulee', 'fasting blood glucose');
        await writeOldFormat(db, 'old-2', 'nothing here', 'blood pressure');
        await migrate(db, undefined, migrations.slice(0, 6));
        const before = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM search_text');
        assert.equal(Number(before[0].n), 4, 'rows in search_text at migration 6');

        assert.equal(migrations[6].version, 7);
        assert.equal(await migrate(db), 1, 'only migration 7 is pending');
        await assertNoTextTable(db);
        const applied = await db.query<{ version: number | string }>('SELECT version FROM kiln_migration ORDER BY version');
        assert.deepEqual(applied.map((row) => Number(row.version)), [1, 2, 3, 4, 5, 6, 7]);

        const store = new SqlStore(db);
        assert.deepEqual(await matches(store, [['_content', 'blood']]), ['old-1', 'old-2']);
        assert.deepEqual(await matches(store, [['_text', 'brul']]), ['old-1']);
        await writeNow(store, 'new-1', 'blood sugar');
        await writeNow(store, 'old-2', 'rewritten', '2');
        assert.deepEqual(await matches(store, [['_content', 'blood']]), ['new-1', 'old-1'], 'writes after the upgrade keep the index current');
        assert.equal(await migrate(db), 0, 'nothing left to do');
      } finally {
        await cleanup();
      }
    });

    test('a database built from scratch: migration 2 still creates search_text for migration 4, and 7 drops it', async () => {
      const { db, cleanup } = await open();
      try {
        const statements = migrations[1].statements(db.dialect);
        assert.ok(statements.some((statement) => /CREATE TABLE search_text \(/.test(statement)), 'migration 2 is frozen history');
        assert.equal(await migrate(db), migrations.length);
        await assertNoTextTable(db);
        const store = new SqlStore(db);
        await writeNow(store, 'fresh', 'fasting glucose');
        assert.deepEqual(await matches(store, [['_content', 'glucose']]), ['fresh']);
      } finally {
        await cleanup();
      }
    });

    test('a _content search reads the full-text index', async () => {
      const { db, cleanup } = await open();
      try {
        await migrate(db);
        // Enough rows that an index is worth using; one holds the word searched.
        const rows = Array.from({ length: 3000 }, (_, i) => ({ rkey: i + 1, tenant: '', type: 'Observation', param: '_content' as const, words: `w${i} v${i % 97} ${i === 1234 ? 'glucose' : 'other'}` }));
        await db.transaction(async (tx) => {
          for (let i = 0; i < rows.length; i += 100) {
            const part = rows.slice(i, i + 100);
            await tx.execute(
              `INSERT INTO resource (tenant, type, id, version, seq, last_updated, deleted) VALUES ${part.map(() => "('', 'Observation', ?, 1, ?, '2026-01-01', 0)").join(', ')}`,
              part.flatMap((row) => [`o${row.rkey}`, row.rkey]),
            );
          }
          await db.dialect.fullText.insert(tx, rows);
        });
        if (db.dialect.analyze) await db.execute(db.dialect.analyze(['resource', 'search_fulltext']));
        const { sql } = pageQuery({ tenant: '', search: parseSearch([['_content', 'glucose']], 'Observation'), textSearch: db.dialect.fullText }, 21);
        let plan: string;
        if (db.dialect.name === 'sqlite') {
          plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql.text}`, sql.params)).map((row) => row.detail).join('\n');
          assert.match(plan, /VIRTUAL TABLE INDEX/, plan);
        } else {
          // On tables this small a sequential scan may be as cheap: forbid it to see that the index serves.
          plan = await db.transaction(async (tx) => {
            await tx.execute('SET LOCAL enable_seqscan = off');
            return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.text}`, sql.params)).map((row) => row['QUERY PLAN']).join('\n');
          });
          assert.match(plan, /search_fulltext_words/, plan);
        }
      } finally {
        await cleanup();
      }
    });
  });
}
