/**
 * batch and transaction (POST [base]), black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#transaction (#brules, #trules, #transaction-response,
 * #other-bundles) and https://hl7.org/fhir/R4/bundle.html#bundle-unique.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  absoluteLocation,
  assertFhirJsonContentType,
  assertOperationOutcome,
  create,
  entryStatus,
  get,
  newId,
  patient,
  post,
  unique,
  update,
  weakEtag,
  type HttpResult,
  type Json,
} from './helpers.js';

const MAX_BATCH = 5;
const MAX_TRANSACTION = 5;

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer({ limits: { maxBatchEntries: MAX_BATCH, maxTransactionEntries: MAX_TRANSACTION } });
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

type Entry = Json;
const bundle = (type: string, entry: Entry[]) => ({ resourceType: 'Bundle', type, entry });
const postEntry = (resource: Json, fullUrl = `urn:uuid:${randomUUID()}`): Entry => ({
  fullUrl,
  resource,
  request: { method: 'POST', url: resource.resourceType },
});
const putEntry = (resource: Json, extra: Json = {}): Entry => ({
  fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
  resource,
  request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ...extra },
});
const getEntry = (url: string): Entry => ({ request: { method: 'GET', url } });
const deleteEntry = (url: string): Entry => ({ request: { method: 'DELETE', url } });

async function submit(body: Json): Promise<HttpResult> {
  return post(base, '', body);
}

function assertResponseBundle(res: HttpResult, type: 'batch-response' | 'transaction-response', count: number): Json[] {
  assert.equal(res.status, 200, res.text.slice(0, 1000));
  assertFhirJsonContentType(res);
  assert.equal(res.body.resourceType, 'Bundle');
  assert.equal(res.body.type, type);
  const list = res.body.entry ?? [];
  // "contains one entry for each entry in the request, in the same order"
  assert.equal(list.length, count, `expected ${count} response entries, got ${JSON.stringify(list)}`);
  // "Each entry element SHALL contain a response element"
  for (const entry of list) assert.ok(entry.response, `entry without response: ${JSON.stringify(entry)}`);
  // bundle.html invariants: bdl-1 total only in a searchset or history; bdl-3 entry.request only in
  // batch, transaction or history; bdl-2 entry.search only in a searchset.
  assert.equal(res.body.total, undefined, 'Bundle.total is only for search and history (bdl-1)');
  for (const entry of list) {
    assert.equal(entry.request, undefined, `a response entry has no request (bdl-3): ${JSON.stringify(entry)}`);
    assert.equal(entry.search, undefined, 'entry.search only in a searchset (bdl-2)');
  }
  return list;
}

/** "Patient/123" or "[base]/Patient/123" — both are correct references to the assigned id. */
function assertReferenceTo(reference: string | undefined, type: string, id: string) {
  assert.ok(
    reference === `${type}/${id}` || reference === `${base}/${type}/${id}`,
    `expected a reference to ${type}/${id}, got ${reference}`,
  );
}

function idFromLocation(location: string | undefined, type: string): string {
  const absolute = absoluteLocation(base, location ?? null);
  const match = new RegExp(`/${type}/([A-Za-z0-9\\-.]{1,64})/_history/([A-Za-z0-9\\-.]+)$`).exec(absolute);
  assert.ok(match, `location ${location} is not [base]/${type}/[id]/_history/[vid]`);
  return match[1];
}

describe('transaction', () => {
  test('creates, updates and reports each outcome with status, location and etag', async () => {
    const existing = await create(base, patient());
    const newPatient = patient(unique('tx'));
    const clientId = newId();
    const res = await submit(
      bundle('transaction', [
        postEntry(newPatient),
        putEntry({ ...existing, active: true }),
        putEntry({ ...patient(), id: clientId }),
      ]),
    );
    const [created, updated, upserted] = assertResponseBundle(res, 'transaction-response', 3);

    assert.equal(entryStatus(created), 201);
    const newId1 = idFromLocation(created.response.location, 'Patient');
    assert.equal(created.response.etag, weakEtag(1));
    assert.ok(created.response.lastModified, 'response.lastModified');

    assert.equal(entryStatus(updated), 200);
    assert.equal(updated.response.etag, weakEtag(2));
    assert.ok(updated.response.lastModified, 'response.lastModified');

    assert.equal(entryStatus(upserted), 201);
    assert.equal(idFromLocation(upserted.response.location, 'Patient'), clientId);

    const read = await get(base, `Patient/${newId1}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.name[0].family, newPatient.name[0].family);
    assert.equal((await get(base, `Patient/${existing.id}`)).body.meta.versionId, '2');
    assert.equal((await get(base, `Patient/${clientId}`)).status, 200);
  });

  test('a POST entry gets a server-assigned id: resource.id and fullUrl are ignored', async () => {
    // http.html#trules: "When processing a "POST" (create), the full URL is treated as the id of the
    // resource on the source, and is ignored; the server generates an id for the resource."
    const clientId = newId();
    const res = await submit(bundle('transaction', [postEntry({ ...patient(), id: clientId }, `${base}/Patient/${clientId}`)]));
    const [created] = assertResponseBundle(res, 'transaction-response', 1);
    assert.equal(entryStatus(created), 201);
    const assigned = idFromLocation(created.response.location, 'Patient');
    assert.notEqual(assigned, clientId);
    assertOperationOutcome(await get(base, `Patient/${clientId}`), 404);
    assert.equal((await get(base, `Patient/${assigned}`)).status, 200);
  });

  test('urn:uuid references are rewritten to the assigned ids, also nested and in extensions', async () => {
    // http.html#trules: "When the server assigns a new id to any resource in the bundle which has a
    // POST method ..., it SHALL also update any references to that resource in the same bundle".
    const patientUrn = `urn:uuid:${randomUUID()}`;
    const encounterUrn = `urn:uuid:${randomUUID()}`;
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: unique('obs') },
      subject: { reference: patientUrn },
      encounter: { reference: encounterUrn },
      performer: [{ reference: patientUrn, display: 'self' }],
      extension: [{ url: 'http://example.org/fhir/StructureDefinition/related', valueReference: { reference: patientUrn } }],
      component: [
        {
          code: { text: 'nested' },
          extension: [{ url: 'http://example.org/fhir/StructureDefinition/nested', valueReference: { reference: encounterUrn } }],
          valueString: 'x',
        },
      ],
    };
    const encounter = { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: patientUrn } };
    // Deliberately list the referring resources before the referenced one.
    const res = await submit(
      bundle('transaction', [postEntry(observation), postEntry(encounter, encounterUrn), postEntry(patient(), patientUrn)]),
    );
    const [obsEntry, encEntry, patEntry] = assertResponseBundle(res, 'transaction-response', 3);
    const obsId = idFromLocation(obsEntry.response.location, 'Observation');
    const encId = idFromLocation(encEntry.response.location, 'Encounter');
    const patId = idFromLocation(patEntry.response.location, 'Patient');

    const storedObs = (await get(base, `Observation/${obsId}`)).body;
    assertReferenceTo(storedObs.subject.reference, 'Patient', patId);
    assertReferenceTo(storedObs.encounter.reference, 'Encounter', encId);
    assertReferenceTo(storedObs.performer[0].reference, 'Patient', patId);
    assert.equal(storedObs.performer[0].display, 'self', 'other elements are untouched');
    assertReferenceTo(storedObs.extension[0].valueReference.reference, 'Patient', patId);
    assertReferenceTo(storedObs.component[0].extension[0].valueReference.reference, 'Encounter', encId);
    const storedEnc = (await get(base, `Encounter/${encId}`)).body;
    assertReferenceTo(storedEnc.subject.reference, 'Patient', patId);
    assert.ok(!JSON.stringify(storedObs).includes('urn:uuid:'), 'no urn:uuid left in the stored Observation');
  });

  test('urn:uuid values in uri-typed elements are rewritten too', async () => {
    // "Servers SHALL replace all matching links in the bundle, whether they are found in the resource
    // ids, resource references, elements of type uri, url, oid, uuid, ..."
    const patientUrn = `urn:uuid:${randomUUID()}`;
    const basic = {
      resourceType: 'Basic',
      code: { text: unique('basic') },
      extension: [{ url: 'http://example.org/fhir/StructureDefinition/link', valueUri: patientUrn }],
    };
    const res = await submit(bundle('transaction', [postEntry(basic), postEntry(patient(), patientUrn)]));
    const [basicEntry, patEntry] = assertResponseBundle(res, 'transaction-response', 2);
    const basicId = idFromLocation(basicEntry.response.location, 'Basic');
    const patId = idFromLocation(patEntry.response.location, 'Patient');
    const stored = (await get(base, `Basic/${basicId}`)).body;
    assertReferenceTo(stored.extension[0].valueUri, 'Patient', patId);
  });

  test('a PUT may reference a resource POSTed in the same transaction', async () => {
    const patientUrn = `urn:uuid:${randomUUID()}`;
    const obsId = newId();
    const res = await submit(
      bundle('transaction', [
        putEntry({ resourceType: 'Observation', id: obsId, status: 'final', code: { text: 'x' }, subject: { reference: patientUrn } }),
        postEntry(patient(), patientUrn),
      ]),
    );
    const [, patEntry] = assertResponseBundle(res, 'transaction-response', 2);
    const patId = idFromLocation(patEntry.response.location, 'Patient');
    assertReferenceTo((await get(base, `Observation/${obsId}`)).body.subject.reference, 'Patient', patId);
  });

  test('is all or nothing: one invalid entry fails the whole transaction and nothing is stored', async () => {
    // "servers SHALL either accept all actions and return a 200 OK, along with a response bundle, or
    // reject all resources and return an HTTP 400 or 500 type response" and "For a failed transaction,
    // the server returns a single OperationOutcome instead of a Bundle."
    const existing = await create(base, patient());
    const goodId = newId();
    const badId = newId();
    const postedUrn = `urn:uuid:${randomUUID()}`;
    const res = await submit(
      bundle('transaction', [
        putEntry({ ...patient(), id: goodId }),
        putEntry({ ...existing, active: true }),
        deleteEntry(`Patient/${existing.id}-other`),
        postEntry(patient(), postedUrn),
        putEntry({ ...patient(), id: badId, birthDate: 123 }),
      ]),
    );
    assertOperationOutcome(res, [400, 404, 409, 412, 422]);
    assertOperationOutcome(await get(base, `Patient/${goodId}`), 404);
    assertOperationOutcome(await get(base, `Patient/${badId}`), 404);
    const read = await get(base, `Patient/${existing.id}`);
    assert.equal(read.body.meta.versionId, '1', 'the update in the failed transaction was rolled back');
    assert.equal(read.body.active, undefined);
  });

  test('a failed If-Match precondition in one entry fails the whole transaction', async () => {
    const existing = await create(base, patient());
    const v2 = await update(base, { ...existing, active: true });
    const newcomer = newId();
    const res = await submit(
      bundle('transaction', [putEntry({ ...patient(), id: newcomer }), putEntry({ ...v2, active: false }, { ifMatch: weakEtag(1) })]),
    );
    assertOperationOutcome(res, [409, 412]);
    assertOperationOutcome(await get(base, `Patient/${newcomer}`), 404);
    assert.equal((await get(base, `Patient/${existing.id}`)).body.meta.versionId, '2');
  });

  test('a DELETE of an existing resource is rolled back when the transaction fails', async () => {
    const victim = await create(base, patient());
    const res = await submit(
      bundle('transaction', [deleteEntry(`Patient/${victim.id}`), putEntry({ ...patient(), id: newId(), birthDate: 123 })]),
    );
    assertOperationOutcome(res, [400, 422]);
    assert.equal((await get(base, `Patient/${victim.id}`)).status, 200);
  });

  test('each entry follows the single-interaction rules: a PUT whose body id differs from its URL fails the transaction', async () => {
    // "The resources in the bundle are each processed separately as if they were an individual
    // interaction"; http.html#update: an id that "disagrees with the id in the URL" is a 400.
    const urlId = newId();
    const bodyId = newId();
    const other = newId();
    const res = await submit(
      bundle('transaction', [
        putEntry({ ...patient(), id: other }),
        { fullUrl: `${base}/Patient/${urlId}`, resource: { ...patient(), id: bodyId }, request: { method: 'PUT', url: `Patient/${urlId}` } },
      ]),
    );
    assertOperationOutcome(res, 400);
    for (const id of [urlId, bodyId, other]) assertOperationOutcome(await get(base, `Patient/${id}`), 404);
  });

  test('Prefer: return=minimal leaves resources out of the response entries, return=representation puts them in', async () => {
    // http.html#transaction-response: "In addition, a resource may be included in the entry, as
    // specified by the Prefer header." (http.html#prefer: "Servers SHOULD honor this header.")
    const minimal = await post(base, '', bundle('transaction', [postEntry(patient())]), { prefer: 'return=minimal' });
    const [lean] = assertResponseBundle(minimal, 'transaction-response', 1);
    assert.equal(entryStatus(lean), 201);
    assert.equal(lean.resource, undefined);
    assert.ok(lean.response.location);

    const family = unique('repr');
    const full = await post(base, '', bundle('transaction', [postEntry(patient(family))]), { prefer: 'return=representation' });
    const [rich] = assertResponseBundle(full, 'transaction-response', 1);
    assert.equal(rich.resource?.resourceType, 'Patient');
    assert.equal(rich.resource.name[0].family, family);
    assert.equal(rich.resource.meta.versionId, '1');
  });

  test('two entries for the same resource identity fail the transaction', async () => {
    // "If any resource identities ... overlap in steps 1-3, then the transaction SHALL fail."
    // "A resource can only appear in a transaction once (by identity)."
    const id = newId();
    const res = await submit(bundle('transaction', [putEntry({ ...patient(), id }), putEntry({ ...patient(), id, active: true })]));
    assertOperationOutcome(res, [400, 409, 422]);
    assertOperationOutcome(await get(base, `Patient/${id}`), 404);

    // A DELETE (step 1) and a PUT (step 3) of the same resource overlap too.
    const existing = await create(base, patient());
    const overlap = await submit(bundle('transaction', [deleteEntry(`Patient/${existing.id}`), putEntry({ ...existing, active: true })]));
    assertOperationOutcome(overlap, [400, 409, 422]);
    const read = await get(base, `Patient/${existing.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.meta.versionId, '1');
  });

  test('GET entries are processed after PUT: a GET sees the update made in the same transaction', async () => {
    // http.html#trules processing order: 1. DELETE 2. POST 3. PUT or PATCH 4. GET or HEAD.
    const existing = await create(base, patient());
    const family = unique('seen');
    const fresh = newId();
    const res = await submit(
      bundle('transaction', [
        getEntry(`Patient/${existing.id}`),
        getEntry(`Patient/${fresh}`),
        putEntry({ ...existing, name: [{ family }] }),
        putEntry({ ...patient(), id: fresh }),
      ]),
    );
    const [readExisting, readFresh, put1, put2] = assertResponseBundle(res, 'transaction-response', 4);
    assert.equal(entryStatus(readExisting), 200);
    assert.equal(readExisting.resource?.meta?.versionId, '2', 'the GET ran after the PUT');
    assert.equal(readExisting.resource?.name?.[0]?.family, family);
    assert.equal(entryStatus(readFresh), 200);
    assert.equal(readFresh.resource?.id, fresh, 'the GET ran after the PUT that created the resource');
    assert.equal(entryStatus(put1), 200);
    assert.equal(entryStatus(put2), 201);
  });

  test('the response Bundle satisfies bdl-7 when a GET and a PUT touch the same resource', async () => {
    // bundle.html bdl-7: "FullUrl must be unique in a bundle, or else entries with the same fullUrl
    // must have different meta.versionId (except in history bundles)" — expression
    // (type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()
    const existing = await create(base, patient());
    const res = await submit(bundle('transaction', [getEntry(`Patient/${existing.id}`), putEntry({ ...existing, active: true })]));
    const list = assertResponseBundle(res, 'transaction-response', 2);
    const keys = list.filter((entry: Json) => entry.fullUrl).map((entry: Json) => `${entry.fullUrl}|${entry.resource?.meta?.versionId ?? ''}`);
    assert.equal(new Set(keys).size, keys.length, `fullUrl + versionId must be unique (bdl-7): ${keys.join(', ')}`);
  });

  test('DELETE entries are processed before POST entries', async () => {
    const victim = await create(base, patient());
    const res = await submit(bundle('transaction', [postEntry(patient()), deleteEntry(`Patient/${victim.id}`)]));
    const [posted, deleted] = assertResponseBundle(res, 'transaction-response', 2);
    assert.equal(entryStatus(posted), 201);
    assert.ok([200, 202, 204].includes(entryStatus(deleted)));
    const newPatientId = idFromLocation(posted.response.location, 'Patient');
    assertOperationOutcome(await get(base, `Patient/${victim.id}`), 410);
    // The system history lists newest first: the POST (processed second) before the DELETE.
    const history = await get(base, `_history?_since=${encodeURIComponent(victim.meta.lastUpdated)}`);
    assert.equal(history.status, 200);
    const order = (history.body.entry ?? [])
      .map((entry: Json) => (entry.request?.method === 'DELETE' ? `DELETE ${entry.request.url}` : `${entry.request?.method} Patient/${entry.resource?.id}`))
      .filter((key: string) => key === `DELETE Patient/${victim.id}` || key === `POST Patient/${newPatientId}`);
    assert.deepEqual(order, [`POST Patient/${newPatientId}`, `DELETE Patient/${victim.id}`]);
  });

  test('an empty transaction is not an error', async () => {
    // "It is not an error if the submitted bundle has no resources in it."
    assertResponseBundle(await submit({ resourceType: 'Bundle', type: 'transaction' }), 'transaction-response', 0);
  });

  test('an entry without request is rejected', async () => {
    // "Each entry SHALL carry request details"
    const id = newId();
    const res = await submit(bundle('transaction', [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: { ...patient(), id } }]));
    assertOperationOutcome(res, 400);
  });
});

describe('batch', () => {
  test('entries succeed or fail one by one, in request order', async () => {
    const existing = await create(base, patient());
    const putId = newId();
    const missing = newId();
    const family = unique('batch');
    const res = await submit(
      bundle('batch', [
        postEntry(patient(family)),
        postEntry({ ...patient(), birthDate: 123 }),
        putEntry({ ...patient(), id: putId }),
        getEntry(`Patient/${existing.id}`),
        getEntry(`Patient/${missing}`),
      ]),
    );
    // "When processing the batch, the HTTP response code is 200 Ok if the batch was processed
    // correctly, regardless of the success of the operations within the Batch."
    const [created, invalid, upserted, found, notFound] = assertResponseBundle(res, 'batch-response', 5);

    assert.equal(entryStatus(created), 201);
    const createdId = idFromLocation(created.response.location, 'Patient');
    assert.equal(created.response.etag, weakEtag(1));
    assert.equal((await get(base, `Patient/${createdId}`)).body.name[0].family, family);

    const invalidStatus = entryStatus(invalid);
    assert.ok([400, 422].includes(invalidStatus), `invalid entry status ${invalidStatus}`);
    assert.equal(invalid.response.outcome?.resourceType, 'OperationOutcome', 'a failed entry carries response.outcome');
    assert.ok(invalid.response.outcome.issue?.length >= 1);

    assert.equal(entryStatus(upserted), 201);
    assert.equal(idFromLocation(upserted.response.location, 'Patient'), putId);
    assert.equal((await get(base, `Patient/${putId}`)).status, 200);

    assert.equal(entryStatus(found), 200);
    assert.equal(found.resource?.id, existing.id);
    assert.equal(found.response.etag, weakEtag(1));

    assert.equal(entryStatus(notFound), 404);
    assert.equal(notFound.response.outcome?.resourceType, 'OperationOutcome');
  });

  test('GET entries: read, vread and history', async () => {
    const existing = await create(base, patient());
    await update(base, { ...existing, active: true });
    const res = await submit(
      bundle('batch', [getEntry(`Patient/${existing.id}`), getEntry(`Patient/${existing.id}/_history/1`), getEntry(`Patient/${existing.id}/_history`)]),
    );
    const [read, vread, history] = assertResponseBundle(res, 'batch-response', 3);
    assert.equal(entryStatus(read), 200);
    assert.equal(read.resource.meta.versionId, '2');
    assert.equal(entryStatus(vread), 200);
    assert.equal(vread.resource.meta.versionId, '1');
    assert.equal(entryStatus(history), 200);
    assert.equal(history.resource.resourceType, 'Bundle');
    assert.equal(history.resource.type, 'history');
    assert.equal(history.resource.entry.length, 2);
  });

  test('update, delete and unknown types in a batch', async () => {
    const toUpdate = await create(base, patient());
    const toDelete = await create(base, patient());
    const res = await submit(
      bundle('batch', [putEntry({ ...toUpdate, active: true }), deleteEntry(`Patient/${toDelete.id}`), getEntry('NotAType/1')]),
    );
    const [updated, deleted, unknown] = assertResponseBundle(res, 'batch-response', 3);
    assert.equal(entryStatus(updated), 200);
    assert.equal(updated.response.etag, weakEtag(2));
    assert.ok([200, 202, 204].includes(entryStatus(deleted)));
    assert.equal(entryStatus(unknown), 404);
    assert.equal(unknown.response.outcome?.resourceType, 'OperationOutcome');
    assertOperationOutcome(await get(base, `Patient/${toDelete.id}`), 410);
  });

  test('a failed If-Match in one entry does not affect the others', async () => {
    const a = await create(base, patient());
    const b = await create(base, patient());
    const res = await submit(
      bundle('batch', [putEntry({ ...a, active: true }, { ifMatch: weakEtag(7) }), putEntry({ ...b, active: true }, { ifMatch: weakEtag(1) })]),
    );
    const [stale, fine] = assertResponseBundle(res, 'batch-response', 2);
    assert.equal(entryStatus(stale), 412);
    assert.equal(stale.response.outcome?.resourceType, 'OperationOutcome');
    assert.equal(entryStatus(fine), 200);
    assert.equal((await get(base, `Patient/${a.id}`)).body.meta.versionId, '1');
    assert.equal((await get(base, `Patient/${b.id}`)).body.meta.versionId, '2');
  });
});

describe('limits and bundle types', () => {
  test(`a batch over ${MAX_BATCH} entries is 413 and nothing is processed`, async () => {
    const ids = Array.from({ length: MAX_BATCH + 1 }, () => newId());
    const res = await submit(bundle('batch', ids.map((id) => putEntry({ ...patient(), id }))));
    assertOperationOutcome(res, 413);
    for (const id of ids) assertOperationOutcome(await get(base, `Patient/${id}`), 404);
  });

  test(`a transaction over ${MAX_TRANSACTION} entries is 413 and nothing is processed`, async () => {
    const ids = Array.from({ length: MAX_TRANSACTION + 1 }, () => newId());
    const res = await submit(bundle('transaction', ids.map((id) => putEntry({ ...patient(), id }))));
    assertOperationOutcome(res, 413);
    for (const id of ids) assertOperationOutcome(await get(base, `Patient/${id}`), 404);
  });

  test('bundles at the limit are accepted', async () => {
    const batchIds = Array.from({ length: MAX_BATCH }, () => newId());
    assertResponseBundle(await submit(bundle('batch', batchIds.map((id) => putEntry({ ...patient(), id })))), 'batch-response', MAX_BATCH);
    const txIds = Array.from({ length: MAX_TRANSACTION }, () => newId());
    assertResponseBundle(
      await submit(bundle('transaction', txIds.map((id) => putEntry({ ...patient(), id })))),
      'transaction-response',
      MAX_TRANSACTION,
    );
  });

  test('a Bundle of another type posted to the base is 400', async () => {
    // http.html#other-bundles: "A server may choose to accept bundle types other than batch or
    // transaction"; Kiln does not accept collection or document bundles.
    const id = newId();
    const collection = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: `${base}/Patient/${id}`, resource: { ...patient(), id } }] };
    assertOperationOutcome(await submit(collection), 400);
    assertOperationOutcome(await get(base, `Patient/${id}`), 404);
    assertOperationOutcome(await submit({ resourceType: 'Bundle', type: 'searchset' }), 400);
  });

  test('a resource other than a Bundle posted to the base is 400', async () => {
    assertOperationOutcome(await submit(patient()), 400);
  });
});
