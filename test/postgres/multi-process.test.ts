/**
 * Two Kiln server processes on one PostgreSQL database behave as one server: conflicting
 * updates and transactions raced through both lose nothing, never reuse a version number, and
 * If-Match lets exactly one of several competing writers win.
 * Needs a real server (KILN_TEST_POSTGRES_URL, else the local one); both processes start on an
 * empty schema at the same moment, so they also race the migrations.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { FHIR_JSON, get, http, put, type HttpResult, type Json } from '../http/helpers.js';
import { dropSchema, requireServerUrl, uniqueSchemaName } from '../support/postgres.js';
import { freePort, spawnKiln, waitForHttp, type KilnProcess } from '../support/process.js';

let url: string;
const schema = uniqueSchemaName();
const processes: KilnProcess[] = [];
let bases: [string, string];

/** The i-th request goes to process i % 2. */
const via = (i: number) => bases[i % 2];

before(async () => {
  url = await requireServerUrl();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const database = new URL(url);
  database.searchParams.set('options', `-c search_path=${schema}`);
  const ports = [await freePort(), await freePort()];
  for (const port of ports) {
    processes.push(spawnKiln(['serve', '--port', String(port), '--database', database.toString(), '--db-pool-size', '8'], { KILN_LOG_LEVEL: 'warn' }));
  }
  bases = [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`];
  try {
    await Promise.all(bases.map((base) => waitForHttp(`${base}/metadata`, 30_000)));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${processes.map((p) => p.output()).join('\n')}`);
  }
});

after(async () => {
  for (const p of processes) p.child.kill('SIGTERM');
  const codes = await Promise.all(processes.map((p) => p.exited));
  if (url) await dropSchema(url, schema);
  assert.deepEqual(codes, [0, 0], processes.map((p) => p.output()).join('\n'));
});

const patient = (id: string, marker: string, extra: Json = {}) => ({ resourceType: 'Patient', id, active: true, name: [{ family: marker }], ...extra });

const versionOf = (result: HttpResult): string => {
  assert.ok(result.body?.meta?.versionId, `a version in ${result.status} ${result.text}`);
  return result.body.meta.versionId;
};

/** Every version in the resource's history, checked for duplicates, read through `base`. */
async function historyVersions(base: string, path: string): Promise<{ versionId: string; marker?: string }[]> {
  const result = await get(base, `${path}/_history?_count=1000`);
  assert.equal(result.status, 200, result.text);
  const entries: Json[] = result.body.entry ?? [];
  assert.equal(result.body.total, entries.length);
  const versions = entries.map((e) => ({ versionId: e.resource?.meta?.versionId ?? /_history\/(\d+)/.exec(e.fullUrl ?? e.request?.url ?? '')?.[1], marker: e.resource?.name?.[0]?.family }));
  assert.equal(new Set(versions.map((v) => v.versionId)).size, versions.length, `no version number used twice: ${versions.map((v) => v.versionId).join(',')}`);
  return versions;
}

const consecutive = (n: number) => Array.from({ length: n }, (_, i) => String(n - i));

describe('two Kiln processes on one PostgreSQL database', () => {
  test('a write through one process is read through the other', async () => {
    const id = `mp-${randomUUID()}`;
    const created = await put(bases[0], `Patient/${id}`, patient(id, 'first'));
    assert.equal(created.status, 201, created.text);
    const read = await get(bases[1], `Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.text, created.text, 'the same stored bytes');
  });

  test('of competing If-Match updates through both processes exactly one wins', async () => {
    const id = `mp-${randomUUID()}`;
    assert.equal((await put(bases[0], `Patient/${id}`, patient(id, 'original'))).status, 201);
    const racers = 24;
    const results = await Promise.all(Array.from({ length: racers }, (_, i) => put(via(i), `Patient/${id}`, patient(id, `racer-${i}`), { 'if-match': 'W/"1"' })));
    const statuses = results.map((r) => r.status);
    const winners = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
    assert.equal(winners.length, 1, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 412).length, racers - 1, `statuses: ${statuses.join(',')}`);
    for (const base of bases) {
      const current = await get(base, `Patient/${id}`);
      assert.equal(current.body.meta.versionId, '2');
      assert.equal(current.body.name[0].family, `racer-${winners[0]}`);
    }
    assert.deepEqual(
      (await historyVersions(bases[1], `Patient/${id}`)).map((v) => v.versionId),
      consecutive(2),
    );
  });

  test('concurrent unconditional updates through both processes all succeed, with consecutive versions', async () => {
    const id = `mp-${randomUUID()}`;
    assert.equal((await put(bases[1], `Patient/${id}`, patient(id, 'original'))).status, 201);
    const writers = 30;
    const results = await Promise.all(Array.from({ length: writers }, (_, i) => put(via(i), `Patient/${id}`, patient(id, `writer-${i}`))));
    assert.deepEqual(
      results.map((r) => r.status),
      new Array(writers).fill(200),
      results.map((r) => r.text).join('\n'),
    );
    const acknowledged = results.map(versionOf);
    assert.deepEqual(
      [...acknowledged].sort((a, b) => Number(b) - Number(a)),
      consecutive(writers + 1).slice(0, writers),
    );
    // Every acknowledged write is readable, through the other process, as written.
    await Promise.all(
      results.map(async (r, i) => {
        const read = await get(via(i + 1), `Patient/${id}/_history/${acknowledged[i]}`);
        assert.equal(read.status, 200);
        assert.equal(read.body.name[0].family, `writer-${i}`);
      }),
    );
    const history = await historyVersions(bases[0], `Patient/${id}`);
    assert.deepEqual(
      history.map((v) => v.versionId),
      consecutive(writers + 1),
    );
  });

  test('concurrent creations of one new id through both processes: one 201, then updates', async () => {
    const id = `mp-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => put(via(i), `Patient/${id}`, patient(id, `creator-${i}`))));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 200).length, 11, statuses.join(','));
    assert.deepEqual(results.map(versionOf).sort((a, b) => Number(b) - Number(a)), consecutive(12));
  });

  describe('transactions', () => {
    const transaction = (entries: Json[]) => ({ resourceType: 'Bundle', type: 'transaction', entry: entries });
    const putEntry = (id: string, marker: string, ifMatch?: string) => ({
      resource: patient(id, marker),
      request: { method: 'PUT', url: `Patient/${id}`, ...(ifMatch ? { ifMatch } : {}) },
    });
    const postEntry = (marker: string) => ({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: { resourceType: 'Observation', status: 'final', code: { text: marker } },
      request: { method: 'POST', url: 'Observation' },
    });
    const post = (base: string, body: unknown) => http(base, 'POST', '', { body, headers: { 'content-type': FHIR_JSON } });

    test('raced through both processes over the same resources, each commits whole and in one order', async () => {
      const [x, y] = [`mp-${randomUUID()}`, `mp-${randomUUID()}`];
      assert.equal((await post(bases[0], transaction([putEntry(x, 'seed'), putEntry(y, 'seed')]))).status, 200);
      const runs = 16;
      const results = await Promise.all(Array.from({ length: runs }, (_, i) => post(via(i), transaction([putEntry(x, `run-${i}`), putEntry(y, `run-${i}`), postEntry(`run-${i}`)]))));
      assert.deepEqual(
        results.map((r) => r.status),
        new Array(runs).fill(200),
        results.map((r) => r.text).join('\n'),
      );
      // Atomic and isolated: the run that wrote version v of x also wrote version v of y.
      const [hx, hy] = await Promise.all([historyVersions(bases[1], `Patient/${x}`), historyVersions(bases[0], `Patient/${y}`)]);
      assert.deepEqual(
        hx.map((v) => v.versionId),
        consecutive(runs + 1),
      );
      assert.deepEqual(
        hx.map((v) => v.marker),
        hy.map((v) => v.marker),
      );
      assert.equal(new Set(hx.map((v) => v.marker)).size, runs + 1);
      // Each run's acknowledged entries are readable through the other process.
      await Promise.all(
        results.map(async (r, i) => {
          for (const { resource } of r.body.entry as Json[]) {
            const path = `${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
            const read = await get(via(i + 1), path);
            assert.equal(read.status, 200, `${path}: ${read.text}`);
            assert.equal(read.text, JSON.stringify(resource), path);
          }
        }),
      );
    });

    test('two transactions locking the same resources in opposite orders both commit', async () => {
      const [x, y] = [`mp-${randomUUID()}`, `mp-${randomUUID()}`];
      assert.equal((await post(bases[0], transaction([putEntry(x, 'seed'), putEntry(y, 'seed')]))).status, 200);
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all([
          post(bases[0], transaction([putEntry(x, `forward-${round}`), putEntry(y, `forward-${round}`)])),
          post(bases[1], transaction([putEntry(y, `backward-${round}`), putEntry(x, `backward-${round}`)])),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          [200, 200],
          results.map((r) => r.text).join('\n'),
        );
      }
      const [hx, hy] = await Promise.all([historyVersions(bases[0], `Patient/${x}`), historyVersions(bases[1], `Patient/${y}`)]);
      assert.deepEqual(
        hx.map((v) => v.versionId),
        consecutive(7),
      );
      assert.deepEqual(
        hx.map((v) => v.marker),
        hy.map((v) => v.marker),
      );
    });

    test('a transaction that fails on one entry leaves nothing behind, as seen from either process', async () => {
      const [x, y] = [`mp-${randomUUID()}`, `mp-${randomUUID()}`];
      assert.equal((await post(bases[0], transaction([putEntry(x, 'seed'), putEntry(y, 'seed')]))).status, 200);
      const failed = await post(bases[1], transaction([putEntry(x, 'doomed'), postEntry('doomed'), putEntry(y, 'doomed', 'W/"7"')]));
      assert.equal(failed.status, 412, failed.text);
      for (const base of bases) {
        for (const id of [x, y]) {
          const current = await get(base, `Patient/${id}`);
          assert.equal(current.body.meta.versionId, '1');
          assert.equal(current.body.name[0].family, 'seed');
        }
      }
    });

    test('competing If-Match transactions through both processes: exactly one wins', async () => {
      const [x, y] = [`mp-${randomUUID()}`, `mp-${randomUUID()}`];
      assert.equal((await post(bases[0], transaction([putEntry(x, 'seed'), putEntry(y, 'seed')]))).status, 200);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(via(i), transaction([putEntry(x, `run-${i}`, 'W/"1"'), putEntry(y, `run-${i}`, 'W/"1"')]))));
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 412).length, 9, statuses.join(','));
      const winner = statuses.indexOf(200);
      for (const id of [x, y]) {
        const current = await get(bases[1], `Patient/${id}`);
        assert.equal(current.body.meta.versionId, '2');
        assert.equal(current.body.name[0].family, `run-${winner}`);
      }
    });
  });

  test('afterwards, the whole server history has no version twice', async () => {
    const result = await get(bases[0], '_history?_count=1000');
    assert.equal(result.status, 200);
    const keys = (result.body.entry as Json[]).map((e) => e.fullUrl ?? e.request.url);
    const versions = (result.body.entry as Json[]).map((e) => `${e.resource?.resourceType}/${e.resource?.id}/${e.resource?.meta?.versionId}`);
    assert.equal(new Set(versions).size, versions.length, 'each (type, id, version) once');
    assert.equal(keys.length, result.body.total);
  });
});
