// Interactions called directly (no HTTP) on an in-memory SQLite store.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { defaultConfig } from '../../src/config/load.js';
import { FhirError } from '../../src/fhir/errors.js';
import { route } from '../../src/interactions/router.js';
import { defaultRegistry } from '../../src/search/parameters.js';
import type { FhirRequest, InteractionContext } from '../../src/interactions/types.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/types.js';

let store: Store;
let ctx: InteractionContext;

before(async () => {
  store = await openSqliteStore(':memory:');
  ctx = {
    store,
    validator: { validate: (resource) => (resource.invalid ? [{ severity: 'error', code: 'structure', diagnostics: 'invalid on purpose', expression: [`${resource.resourceType}.invalid`] }] : []) },
    config: defaultConfig(),
    resourceTypes: new Set(['Patient', 'Observation']),
    now: () => new Date(),
    searchParameters: defaultRegistry(),
  };
});
after(() => store.close());

function request(method: FhirRequest['method'], path: string, body?: unknown, headers: FhirRequest['headers'] = {}): FhirRequest {
  return { method, path, query: [], headers, body, tenant: '', baseUrl: 'http://kiln.test' };
}

test('a transaction rewrites urn:uuid references, including nested ones, to the assigned ids', async () => {
  const response = await route(ctx, request('POST', '', {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:obs', request: { method: 'POST', url: 'Observation' }, resource: { resourceType: 'Observation', subject: { reference: 'urn:uuid:pat' }, extension: [{ url: 'x', valueReference: { reference: 'urn:uuid:pat' } }] } },
      { fullUrl: 'urn:uuid:pat', request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } },
    ],
  }));
  const bundle = JSON.parse(response.json!);
  const observation = bundle.entry[0].resource;
  const patientId = bundle.entry[1].resource.id;
  assert.equal(observation.subject.reference, `Patient/${patientId}`);
  assert.equal(observation.extension[0].valueReference.reference, `Patient/${patientId}`);
  assert.equal(bundle.entry[1].fullUrl, `http://kiln.test/Patient/${patientId}`);
});

test('a failing transaction entry rolls back every write of the transaction', async () => {
  await assert.rejects(
    route(ctx, request('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'PUT', url: 'Patient/rollback-me' }, resource: { resourceType: 'Patient', id: 'rollback-me' } },
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', invalid: true } },
      ],
    })),
    (error: unknown) => error instanceof FhirError && error.status === 400 && /Bundle entry 1/.test(error.message),
  );
  assert.equal(await store.readCurrent('', 'Patient', 'rollback-me'), undefined);
});

test('versions count up through update, patch and delete, and continue after a re-create', async () => {
  await route(ctx, request('PUT', 'Patient/counter', { resourceType: 'Patient', id: 'counter' }));
  await route(ctx, request('PATCH', 'Patient/counter', [{ op: 'add', path: '/active', value: true }], { 'content-type': 'application/json-patch+json' }));
  await route(ctx, request('DELETE', 'Patient/counter'));
  const recreated = await route(ctx, request('PUT', 'Patient/counter', { resourceType: 'Patient', id: 'counter' }));
  assert.equal(recreated.status, 201);
  assert.equal(recreated.headers?.etag, 'W/"4"');
  const page = await store.history('', { resourceType: 'Patient', id: 'counter', count: 10 });
  assert.deepEqual(page.versions.map((v) => `${v.versionId}:${v.method}`), ['4:PUT', '3:DELETE', '2:PATCH', '1:PUT']);
});

test('If-Match on a resource that does not exist is a 412', async () => {
  await assert.rejects(route(ctx, request('PUT', 'Patient/nobody', { resourceType: 'Patient', id: 'nobody' }, { 'if-match': 'W/"1"' })), (error: unknown) => error instanceof FhirError && error.status === 412);
});

test('searches, history and $everything read one snapshot of the store; plain reads and transactions do not take one', async () => {
  const snapshots: string[] = [];
  // The real store, observed: every snapshot it opens is recorded with the request's path.
  let current = '';
  const observed: Store = Object.create(store, {
    snapshot: { value: <T>(work: Parameters<NonNullable<Store['snapshot']>>[0]) => (snapshots.push(current), store.snapshot!(work as never) as Promise<T>) },
  });
  const observedCtx: InteractionContext = { ...ctx, store: observed };
  const send = async (method: FhirRequest['method'], path: string, query: [string, string][] = [], body?: unknown) => {
    current = `${method} ${path}`;
    return route(observedCtx, { ...request(method, path, body), query });
  };
  const created = JSON.parse((await send('POST', 'Patient', [], { resourceType: 'Patient', name: [{ family: 'Snapshot' }] })).json!);
  await send('GET', `Patient/${created.id}`);
  await send('GET', `Patient/${created.id}/_history/1`);
  await send('GET', 'Patient', [['name', 'snapshot'], ['_total', 'accurate']]);
  await send('POST', 'Patient/_search', [], new URLSearchParams('name=snapshot'));
  await send('GET', `Patient/${created.id}/_history`);
  await send('GET', `Patient/${created.id}/$everything`);
  await send('POST', '', [], { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'Patient?name=snapshot' } }] });
  assert.deepEqual(snapshots, ['GET Patient', 'POST Patient/_search', `GET Patient/${created.id}/_history`, `GET Patient/${created.id}/$everything`]);
});
