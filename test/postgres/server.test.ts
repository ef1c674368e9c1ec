// PostgreSQL-only behaviour that needs a real server: start-up errors, concurrent migrations,
// timeouts, schemas. KILN_TEST_POSTGRES_URL, else the local server; fails if neither answers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { migrateCommand } from '../../src/cli/migrate.js';
import { defaultConfig, mergeConfig } from '../../src/config/load.js';
import { connectPostgres, migratePostgres, openPostgresStore } from '../../src/store/postgres/index.js';
import { migrations } from '../../src/store/sql/schema.js';
import { dropSchema, requireServerUrl, settings, uniqueSchemaName, withClient } from '../support/postgres.js';
import { spawnKiln } from '../support/process.js';

let url: string;
const schemas: string[] = [];

before(async () => {
  url = await requireServerUrl();
});

after(async () => {
  for (const schema of schemas) await dropSchema(url, schema);
});

function newSchema(): string {
  const schema = uniqueSchemaName();
  schemas.push(schema);
  return schema;
}

/** The server URL with a search_path, as an operator would write it in KILN_DATABASE_URL. */
function urlWithSearchPath(schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}


describe('start-up errors', () => {
  test('an unreachable server', async () => {
    await assert.rejects(openPostgresStore('postgres://postgres:s3cret@127.0.0.1:1/test', settings), (error: Error) => {
      assert.match(error.message, /^Cannot connect to PostgreSQL at 127\.0\.0\.1:1: connection refused/);
      assert.equal(error.message.includes('s3cret'), false);
      return true;
    });
  });

  test('a database that does not exist', async () => {
    const u = new URL(url);
    u.pathname = '/kiln_no_such_database';
    await assert.rejects(openPostgresStore(u.toString(), settings), /database 'kiln_no_such_database'.*database does not exist/);
  });

  test('a role that does not exist', async () => {
    const u = new URL(url);
    u.username = 'kiln_no_such_role';
    await assert.rejects(openPostgresStore(u.toString(), settings), /user 'kiln_no_such_role'\): authentication failed/);
  });

  test('a search_path naming a schema that does not exist', async () => {
    await assert.rejects(openPostgresStore(urlWithSearchPath('kiln_no_such_schema'), settings), /^Error: Cannot migrate the PostgreSQL schema: .*\(does the schema named in search_path exist\?\)$/);
  });

  test('kiln serve says why in one line and exits 1', async () => {
    const kiln = spawnKiln(['serve', '--port', '0', '--database', 'postgres://postgres:s3cret@127.0.0.1:1/test']);
    assert.equal(await kiln.exited, 1);
    assert.equal(kiln.output(), 'kiln: cannot start: Cannot connect to PostgreSQL at 127.0.0.1:1: connection refused (is PostgreSQL running and listening there?)\n');
  });
});

describe('migrations', () => {
  test('several processes starting at once migrate once: the advisory lock serialises them', async () => {
    const schema = newSchema();
    await withClient(url, (c) => c.query(`CREATE SCHEMA ${schema}`));
    const target = urlWithSearchPath(schema);
    const dbs = await Promise.all(Array.from({ length: 6 }, () => connectPostgres(target, { poolSize: 2, statementTimeoutMs: 0 })));
    try {
      const applied = await Promise.all(dbs.map((db) => migratePostgres(db)));
      assert.equal(
        applied.reduce((a, b) => a + b, 0),
        migrations.length,
      );
      const rows = await dbs[0].query<{ version: number }>('SELECT version FROM kiln_migration ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  test('the schema option creates the schema and keeps the tables in it', async () => {
    const schema = newSchema();
    const store = await openPostgresStore(url, settings, { schema });
    await store.close();
    const tables = await withClient(url, async (c) => (await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema])).rows.map((r) => r.table_name));
    assert.ok(tables.includes('resource_version') && tables.includes('resource') && tables.includes('kiln_migration'), tables.join(', '));
  });

  test('kiln migrate applies pending migrations, then finds nothing to do', async () => {
    const schema = newSchema();
    await withClient(url, (c) => c.query(`CREATE SCHEMA ${schema}`));
    const config = mergeConfig(defaultConfig(), { databaseUrl: urlWithSearchPath(schema) });
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      out.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    try {
      assert.equal(await migrateCommand(config), 0);
      assert.equal(await migrateCommand(config), 0);
    } finally {
      process.stdout.write = write;
    }
    const latest = migrations[migrations.length - 1].version;
    assert.match(out[0], new RegExp(`applied ${migrations.length} migrations?, schema version is now ${latest}`));
    assert.match(out[1], new RegExp(`schema version ${latest} is up to date`));
  });
});

describe('connections', () => {
  test('the statement timeout cancels slow statements', async () => {
    const db = await connectPostgres(url, { poolSize: 1, statementTimeoutMs: 200 });
    try {
      await assert.rejects(db.query('SELECT pg_sleep(2)'), (error: { code?: string }) => error.code === '57014');
      assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }], 'the connection is usable afterwards');
    } finally {
      await db.close();
    }
  });

  test('BIGINT values come back as numbers', async () => {
    const db = await connectPostgres(url, { poolSize: 1, statementTimeoutMs: 0 });
    try {
      assert.deepEqual(await db.query('SELECT CAST(? AS BIGINT) AS n, CAST(? AS BIGINT) AS big', [42, '9007199254740993']), [{ n: 42, big: 9007199254740993n }]);
    } finally {
      await db.close();
    }
  });

  test('stores in different schemas do not see each other', async () => {
    const [a, b] = await Promise.all([openPostgresStore(url, settings, { schema: newSchema() }), openPostgresStore(url, settings, { schema: newSchema() })]);
    try {
      await a.transaction((tx) => tx.writeVersion('', { resourceType: 'Patient', id: 'p', versionId: '1', lastUpdated: new Date().toISOString(), deleted: false, method: 'PUT', json: '{}' }));
      assert.equal((await a.readCurrent('', 'Patient', 'p'))?.versionId, '1');
      assert.equal(await b.readCurrent('', 'Patient', 'p'), undefined);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
