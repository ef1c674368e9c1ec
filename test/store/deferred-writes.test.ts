// Posted writes held back in a PostgreSQL transaction and sent merged (src/store/sql/deferred-writes.ts),
// on PostgreSQL at KILN_TEST_POSTGRES_URL (a schema of its own, dropped afterwards), else PGlite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { DeferredWrites } from '../../src/store/sql/deferred-writes.js';
import { LOST_RACE, type SqlDatabase, type SqlExecutor, type SqlValue } from '../../src/store/sql/driver.js';
import { connectPostgres, PgliteDatabase } from '../../src/store/postgres/index.js';
import { dropSchema, openTestPostgres, settings, testPostgresUrl, uniqueSchemaName, withClient } from '../support/postgres.js';

let db: SqlDatabase;
let cleanup = async () => {};

before(async () => {
  const url = testPostgresUrl();
  if (url) {
    const schema = uniqueSchemaName();
    await withClient(url, (client) => client.query(`CREATE SCHEMA "${schema}"`));
    db = await connectPostgres(url, settings, { schema });
    cleanup = async () => {
      await db.close?.();
      await dropSchema(url, schema);
    };
  } else {
    db = new PgliteDatabase(await PGlite.create());
    cleanup = async () => void (await db.close?.());
  }
  await db.execute('CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)');
  await db.execute('CREATE TABLE u (a INTEGER)');
  await db.execute('CREATE TABLE f (k INTEGER NOT NULL, w tsvector NOT NULL)');
});

after(() => cleanup());

/** The statements that reach the database, counted. */
function counting(inner: SqlExecutor, seen: string[]): SqlExecutor {
  return {
    query: (sql, params) => (seen.push(sql), inner.query(sql, params)),
    execute: (sql, params) => (seen.push(sql), inner.execute(sql, params)),
  };
}

const insertRows = (table: string, tuple: string, rows: SqlValue[][]) => `INSERT INTO ${table} (${table === 'f' ? 'k, w' : 'a, b'}) VALUES ${rows.map(() => tuple).join(', ')}`;

async function rowsOf(table: 't'): Promise<[number, string][]> {
  return (await db.query<{ a: number; b: string }>(`SELECT a, b FROM ${table} ORDER BY a, b`)).map((r) => [r.a, r.b]);
}

describe('deferred writes', () => {
  test('posted multi-row INSERTs into one table wait, then go as a few merged statements, every row once', async () => {
    await db.execute('DELETE FROM t');
    const seen: string[] = [];
    const expected: [number, string][] = [];
    let inRead = -1;
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(counting(tx, seen));
      for (let i = 0, n = 0; i < 300; i++) {
        const rows = Array.from({ length: 1 + (i % 7) }, () => [n, `v${n++}`] as [number, string]);
        expected.push(...rows);
        deferred.post(insertRows('t', '(?, ?)', rows), rows.flat());
      }
      assert.equal(seen.length, 0, 'nothing is sent while posting');
      inRead = Number((await deferred.query<{ n: number }>('SELECT count(*)::int AS n FROM t'))[0].n);
      await deferred.flush();
    });
    assert.equal(inRead, expected.length, 'a read of the table in the transaction sees every posted row');
    assert.ok(seen.length - 1 <= 11, `${expected.length} rows of 300 INSERTs went in ${seen.length - 1} statements`);
    assert.deepEqual(await rowsOf('t'), expected.sort((x, y) => x[0] - y[0]));
  });

  test('deletes and updates keep their place among the posted inserts', async () => {
    await db.execute('DELETE FROM t');
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(tx);
      deferred.post(insertRows('t', '(?, ?)', [[], []]), [1, 'a', 2, 'b']);
      deferred.post('DELETE FROM t WHERE a = ?', [1]);
      deferred.post(insertRows('t', '(?, ?)', [[]]), [1, 'c']);
      deferred.post("UPDATE t SET b = 'b2' WHERE a = ?", [2]);
      deferred.post(insertRows('t', '(?, ?)', [[]]), [3, 'd']);
      await deferred.flush();
    });
    assert.deepEqual(await rowsOf('t'), [
      [1, 'c'],
      [2, 'b2'],
      [3, 'd'],
    ]);
  });

  test('tuples with function calls and quoted text merge too', async () => {
    const seen: string[] = [];
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(counting(tx, seen));
      const tuple = "(?, strip(to_tsvector('simple', ?)))";
      for (let k = 0; k < 40; k++) deferred.post(insertRows('f', tuple, [[]]), [k, `word${k} it's`]);
      await deferred.flush();
    });
    assert.ok(seen.length <= 2, `40 INSERTs went in ${seen.length} statements`);
    const found = await db.query<{ k: number }>("SELECT k FROM f WHERE w @@ to_tsquery('simple', 'word7:*') ORDER BY k");
    assert.deepEqual(
      found.map((r) => r.k),
      [7],
    );
  });

  test('a read of another table leaves the posted writes waiting', async () => {
    const seen: string[] = [];
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(counting(tx, seen));
      deferred.post(insertRows('t', '(?, ?)', [[]]), [50, 'x']);
      await deferred.query('SELECT a FROM u');
      assert.deepEqual(seen, ['SELECT a FROM u']);
      await deferred.query('SELECT a FROM t');
      assert.equal(seen.length, 3, 'a read of t sends the insert first');
    });
  });

  /** Posts a row, a savepoint, a row, `inside` (may fail the transaction), a rollback to the savepoint, a row. */
  async function rehearsed(inside: (deferred: DeferredWrites) => Promise<void>): Promise<[number, string][]> {
    await db.execute('DELETE FROM t');
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(tx);
      deferred.post(insertRows('t', '(?, ?)', [[]]), [1, 'before']);
      await deferred.execute('SAVEPOINT rehearsal');
      deferred.post(insertRows('t', '(?, ?)', [[]]), [2, 'rehearsed']);
      await inside(deferred);
      await deferred.execute('ROLLBACK TO SAVEPOINT rehearsal');
      await deferred.execute('RELEASE SAVEPOINT rehearsal');
      deferred.post(insertRows('t', '(?, ?)', [[]]), [3, 'after']);
      await deferred.flush();
    });
    return rowsOf('t');
  }
  const beforeAndAfter: [number, string][] = [
    [1, 'before'],
    [3, 'after'],
  ];

  test('a savepoint rolled back undoes the posted writes made after it, and only those', async () => {
    assert.deepEqual(await rehearsed(async () => {}), beforeAndAfter);
  });

  test('a rollback to a savepoint after an error recovers the transaction: what waits is dropped, not sent into the aborted transaction', async () => {
    const failing = async (deferred: DeferredWrites) => void (await assert.rejects(deferred.query('SELECT 1 / 0 AS never'), /division by zero/));
    assert.deepEqual(await rehearsed(failing), beforeAndAfter);
  });

  test('a write naming its table with the schema is sent before a read naming it without', async () => {
    await db.execute('DELETE FROM t');
    const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s'))[0].s;
    let seen = -1;
    await db.transaction(async (tx) => {
      const deferred = new DeferredWrites(tx);
      deferred.post(`INSERT INTO ${schema}.t (a, b) VALUES (?, ?)`, [7, 'qualified']);
      seen = Number((await deferred.query<{ n: number }>('SELECT count(*)::int AS n FROM t'))[0].n);
      await deferred.flush();
    });
    assert.equal(seen, 1);
  });

  test('a posted write that fails fails the transaction, and none of its writes is kept', async () => {
    await db.execute('DELETE FROM t');
    await assert.rejects(
      db.transaction(async (tx) => {
        tx.post!(insertRows('t', '(?, ?)', [[]]), [1, 'kept?']);
        tx.post!(insertRows('t', '(?, ?)', [[]]), [2, null]);
      }),
      /null value|not-null|violates/i,
    );
    assert.deepEqual(await rowsOf('t'), []);
  });

  test('a posted write told it may lose a race fails with LOST_RACE when it changes no row', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        tx.post!("UPDATE t SET b = 'y' WHERE a = ?", [999], 'row 999 was taken');
      }),
      (error: { code?: string; message?: string }) => error.code === LOST_RACE && error.message === 'row 999 was taken',
    );
  });
});

describe('deferred writes in the store (PostgreSQL)', () => {
  test(
    'a deadlock inside a rehearsal (tentatively) while index rows wait is retried, not hidden by the rollback',
    { skip: !testPostgresUrl() && 'a deadlock needs two connections; PGlite has one (runs with KILN_TEST_POSTGRES_URL, as in CI)' },
    async () => {
      const { store, cleanup } = await openTestPostgres();
      try {
        const lastUpdated = new Date().toISOString();
        let attempts = 0;
        let bHeld!: () => void;
        const bIsHeld = new Promise<void>((resolve) => (bHeld = resolve));
        // T2 holds lock B; T1 holds A and, inside a rehearsal with a Patient's index rows waiting,
        // asks for B; 200 ms later T2 asks for A. T1, the first to wait, is the one PostgreSQL
        // ends with a deadlock (40P01) after deadlock_timeout, and the store runs it again.
        const t2 = store.transaction(async (tx) => {
          await tx.lock('deferred-test-B');
          bHeld();
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx.lock('deferred-test-A');
          return 'done';
        });
        const t1 = store.transaction(async (tx) => {
          attempts++;
          await tx.lock('deferred-test-A');
          await tx.tentatively(async () => {
            const resource = { resourceType: 'Patient', id: `p${attempts}`, name: [{ family: 'Smith' }], meta: { versionId: '1', lastUpdated } };
            await tx.writeVersion('default', { resourceType: 'Patient', id: resource.id, versionId: '1', lastUpdated, deleted: false, method: 'POST', json: JSON.stringify(resource), resource: resource as never });
            await bIsHeld;
            await tx.lock('deferred-test-B');
          });
          return 'done';
        });
        const [first, second] = await Promise.allSettled([t1, t2]);
        const reason = (r: PromiseSettledResult<string>) => (r.status === 'rejected' ? `${r.reason?.code} ${r.reason?.message}` : '');
        assert.equal(second.status, 'fulfilled', `the other transaction: ${reason(second)}`);
        assert.equal(first.status, 'fulfilled', `the rehearsing transaction: ${reason(first)}`);
        assert.equal(attempts, 2, 'the rehearsing transaction lost the deadlock and was run again');
      } finally {
        await cleanup();
      }
    },
  );
});
