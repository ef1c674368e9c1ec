/**
 * Search index rebuilds on one PostgreSQL database shared by several stores (as by several server
 * processes): when they all start with new search parameters at once, one rebuilds and the others
 * wait for it and find the index current. Needs a real server (KILN_TEST_POSTGRES_URL, else the local one).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resource } from '../../src/fhir/types.js';
import { searchParameterSet } from '../../src/search/parameter-set.js';
import { parseSearch } from '../../src/search/parse.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { EYE, eyeColour } from '../support/eye-colour.js';
import { dropSchema, requireServerUrl, uniqueSchemaName } from '../support/postgres.js';

const parameters = searchParameterSet([eyeColour]);

let url: string;
const schema = uniqueSchemaName();
const stores: SqlStore[] = [];

before(async () => {
  url = await requireServerUrl();
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  if (url) await dropSchema(url, schema);
});

async function open(): Promise<SqlStore> {
  const store = await openPostgresStore(url, { poolSize: 3, statementTimeoutMs: 30_000 }, { schema });
  stores.push(store);
  return store;
}

function patient(id: string, colour: string): Resource {
  return { resourceType: 'Patient', id, extension: [{ url: EYE, valueString: colour }] };
}

async function write(store: SqlStore, resources: Resource[], versionId = '1'): Promise<void> {
  await store.transaction(async (tx) => {
    for (const resource of resources) {
      const stamped = { ...resource, meta: { versionId } };
      await tx.writeVersion('', { resourceType: 'Patient', id: resource.id!, versionId, lastUpdated: new Date().toISOString(), deleted: false, method: 'PUT', json: JSON.stringify(stamped), resource: stamped });
    }
  });
}

async function eyeMatches(store: SqlStore, colour: string): Promise<string[]> {
  const search = parseSearch([['eye-colour', colour]], 'Patient', { registry: parameters.registry, strict: true });
  const page = await store.search('', { search, count: 1000, total: 'none' });
  return page.matches.map((m) => m.id).sort();
}

test('several stores starting at once with new parameters: one rebuilds, the others wait and find it done', async () => {
  const writer = await open();
  const ids = Array.from({ length: 240 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  await write(writer, ids.map((id, i) => patient(id, i % 3 === 0 ? 'blue' : 'brown')));

  const starting = await Promise.all([open(), open(), open(), open()]);
  const results = await Promise.all(starting.map((store) => store.useSearchParameters(parameters, { batchSize: 25 })));
  const rebuilt = results.filter((r) => r !== undefined);
  assert.equal(rebuilt.length, 1, 'exactly one store rebuilt the index');
  assert.equal(rebuilt[0]!.resources, 240);
  assert.equal(rebuilt[0]!.changed, 240);
  for (const store of starting) assert.equal((await eyeMatches(store, 'blue')).length, 80);
});

test('a store starting while another rebuilds waits for it, then finds the index current', async () => {
  const changed = searchParameterSet([
    { ...eyeColour, expression: `${eyeColour.expression} | Patient.id` },
  ]);
  const [rebuilder, other] = stores.slice(1, 3);
  // Both find the index stale and race for the lock: whichever wins rebuilds, the other waits.
  const results = await Promise.all([rebuilder.useSearchParameters(changed, { batchSize: 10 }), other.useSearchParameters(changed, { batchSize: 10 })]);
  assert.deepEqual(results.map((r) => r?.changed).sort(), [240, undefined], 'one rebuilt; nothing was left to rebuild for the other once it had the lock');
  await write(other, [patient('p001', 'green'), patient('p239', 'green')], '2');
  const search = parseSearch([['eye-colour', 'green']], 'Patient', { registry: changed.registry, strict: true });
  assert.deepEqual((await rebuilder.search('', { search, count: 10, total: 'none' })).matches.map((m) => m.id).sort(), ['p001', 'p239']);
  const byId = parseSearch([['eye-colour', 'p12']], 'Patient', { registry: changed.registry, strict: true });
  assert.equal((await rebuilder.search('', { search: byId, count: 100, total: 'accurate' })).total, 10, 'p120…p129 by their id');
});
