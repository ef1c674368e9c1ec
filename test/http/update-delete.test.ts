/**
 * update, delete, version-aware updates and the Prefer header, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#update, #upsert, #delete, #concurrency, #prefer
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useTestServer } from '../support/server.js';
import {
  absoluteLocation,
  assertFhirJsonContentType,
  assertLastModifiedMatches,
  assertOperationOutcome,
  create,
  del,
  entryStatus,
  etagVersion,
  get,
  newId,
  patient,
  post,
  put,
  remove,
  unique,
  update,
  weakEtag,
  type Json,
} from './helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

/** Every success status http.html#delete allows: "200 OK if the response contains a payload, or
 * a 204 No Content with no response payload, or a 202 Accepted if the server wishes to be
 * non-commital about the outcome of the delete". */
const DELETE_OK = [200, 202, 204];

async function instanceHistory(type: string, id: string): Promise<Json> {
  const res = await get(base, `${type}/${id}/_history`);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

describe('update: PUT [base]/[type]/[id]', () => {
  test('updating an existing resource is 200 with a new version, ETag and Last-Modified', async () => {
    const created = await create(base, patient());
    const newFamily = unique('updated');
    const res = await put(base, `Patient/${created.id}`, { ...created, name: [{ family: newFamily }] }, { prefer: 'return=representation' });
    // "the server SHALL return either a 200 OK HTTP status code if the resource was updated ... with a
    // Last-Modified header, and an ETag header which contains the new versionId of the resource."
    assert.equal(res.status, 200, res.text);
    assertFhirJsonContentType(res);
    assert.equal(res.headers.get('etag'), weakEtag(2));
    assert.equal(res.body.id, created.id);
    assert.equal(res.body.meta.versionId, '2');
    assert.ok(Date.parse(res.body.meta.lastUpdated) >= Date.parse(created.meta.lastUpdated));
    assertLastModifiedMatches(res, res.body.meta.lastUpdated);
    assert.equal(res.body.name[0].family, newFamily);

    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.meta.versionId, '2');
    assert.equal(read.body.name[0].family, newFamily);
    assert.equal(read.headers.get('etag'), weakEtag(2));
  });

  test('each update increments the version', async () => {
    const created = await create(base, patient());
    let current = created;
    for (const expected of ['2', '3', '4']) {
      current = await update(base, { ...current, active: expected !== '3' });
      assert.equal(current.meta.versionId, expected);
    }
  });

  test('client-supplied meta.versionId and meta.lastUpdated are ignored', async () => {
    // "If the request body includes a meta, the server SHALL ignore the provided versionId and lastUpdated values."
    const created = await create(base, patient());
    const res = await put(
      base,
      `Patient/${created.id}`,
      { ...created, meta: { versionId: '77', lastUpdated: '2001-01-01T00:00:00Z' } },
      { prefer: 'return=representation' },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.meta.versionId, '2');
    assert.notEqual(res.body.meta.lastUpdated, '2001-01-01T00:00:00Z');
    assert.equal(res.headers.get('etag'), weakEtag(2));
  });

  test('PUT to a new id creates the resource: 201 with Location (update as create)', async () => {
    // http.html#upsert: servers MAY allow client-defined ids; Kiln does. "201 Created status code if
    // the resource was created ... If the resource was created ... the server SHOULD return a Location header".
    const id = newId();
    const res = await put(base, `Patient/${id}`, { ...patient(), id }, { prefer: 'return=representation' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assert.equal(res.body.id, id);
    assert.equal(res.body.meta.versionId, '1');
    assertLastModifiedMatches(res, res.body.meta.lastUpdated);
    assert.equal(absoluteLocation(base, res.headers.get('location')), `${base}/Patient/${id}/_history/1`);

    const read = await get(base, `Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.id, id);
  });

  test('a body id different from the URL id is 400 and changes nothing', async () => {
    // "If no id element is provided, or the id disagrees with the id in the URL, the server SHALL
    // respond with an HTTP 400 error code, and SHOULD provide an OperationOutcome identifying the issue."
    const created = await create(base, patient());
    const otherId = newId();
    assertOperationOutcome(await put(base, `Patient/${created.id}`, { ...created, id: otherId }), 400);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '1');
    assertOperationOutcome(await get(base, `Patient/${otherId}`), 404);
  });

  test('a body without an id is 400', async () => {
    const created = await create(base, patient());
    const { id: _ignored, ...withoutId } = created;
    assertOperationOutcome(await put(base, `Patient/${created.id}`, withoutId), 400);
    // Also for an id that does not exist yet (no accidental update-as-create).
    const fresh = newId();
    assertOperationOutcome(await put(base, `Patient/${fresh}`, patient()), 400);
    assertOperationOutcome(await get(base, `Patient/${fresh}`), 404);
  });

  test('PUT to an unknown type is 404, to a malformed id 400', async () => {
    // "404 Not Found - resource type not supported, or not a FHIR end-point"
    assertOperationOutcome(await put(base, 'NotAType/x1', { resourceType: 'NotAType', id: 'x1' }), 404);
    // id type: [A-Za-z0-9\-\.]{1,64}; the body id cannot equal a malformed URL id either.
    assertOperationOutcome(await put(base, 'Patient/bad$id', { ...patient(), id: 'bad$id' }), 400);
  });

  test('an invalid resource is rejected with 400 and nothing changes', async () => {
    const created = await create(base, patient());
    assertOperationOutcome(await put(base, `Patient/${created.id}`, { ...created, birthDate: 123 }), [400, 422]);
    assert.equal((await get(base, `Patient/${created.id}`)).body.meta.versionId, '1');
  });
});

describe('update: the search index follows the new version', () => {
  const matches = async (query: string) => ((await get(base, query)).body.entry ?? []).map((e: Json) => e.resource.id);

  test('what changed is re-indexed, what did not stays searchable, what was removed stops matching', async () => {
    const tag = unique('reindex-on-update');
    const family = `Upd${tag.replace(/[^A-Za-z0-9]/g, '')}`;
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    const first = await create(base, { resourceType: 'Patient', meta, name: [{ family }], birthDate: '1970-01-01', telecom: [{ system: 'phone', value: '555-0100' }] });
    const q = `_tag=${tag}`;
    assert.deepEqual(await matches(`Patient?${q}&phone=555-0100`), [first.id]);

    // Only the phone changes: token rows are replaced, string and date rows are kept as they were.
    await update(base, { ...first, telecom: [{ system: 'phone', value: '555-0199' }] });
    assert.deepEqual(await matches(`Patient?${q}&phone=555-0100`), []);
    assert.deepEqual(await matches(`Patient?${q}&phone=555-0199`), [first.id]);
    assert.deepEqual(await matches(`Patient?${q}&family=${family}`), [first.id]);
    assert.deepEqual(await matches(`Patient?${q}&birthdate=1970-01-01`), [first.id]);

    // The name and birth date go: their rows go with them; an unchanged update changes no match.
    const second = { ...first, telecom: [{ system: 'phone', value: '555-0199' }], name: undefined, birthDate: undefined };
    await update(base, second);
    await update(base, second);
    assert.deepEqual(await matches(`Patient?${q}&family=${family}`), []);
    assert.deepEqual(await matches(`Patient?${q}&birthdate=1970-01-01`), []);
    assert.deepEqual(await matches(`Patient?${q}&family:missing=true`), [first.id]);
    assert.deepEqual(await matches(`Patient?${q}&phone=555-0199`), [first.id]);
  });
});

describe('version-aware update and delete: If-Match (http.html#concurrency)', () => {
  test('If-Match with a stale version is 412 and the resource is unchanged', async () => {
    // "If the version id given in the If-Match header does not match, the server returns a
    // 412 Precondition Failed status code instead of updating the resource."
    const created = await create(base, patient());
    const v2 = await update(base, { ...created, active: true });
    assert.equal(v2.meta.versionId, '2');
    assertOperationOutcome(await put(base, `Patient/${created.id}`, { ...v2, active: false }, { 'if-match': weakEtag(1) }), 412);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '2');
    assert.equal(read.body.active, true);
  });

  test('If-Match with the current version succeeds', async () => {
    const created = await create(base, patient());
    const res = await put(base, `Patient/${created.id}`, { ...created, active: false }, { 'if-match': weakEtag(1), prefer: 'return=representation' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('etag'), weakEtag(2));
    assert.equal(res.body.meta.versionId, '2');
    assert.equal(res.body.active, false);
  });

  test('DELETE with a stale If-Match is 412 and the resource survives', async () => {
    const created = await create(base, patient());
    await update(base, { ...created, active: true });
    assertOperationOutcome(await del(base, `Patient/${created.id}`, { 'if-match': weakEtag(1) }), 412);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.meta.versionId, '2');
  });

  test('DELETE with the current If-Match succeeds', async () => {
    const created = await create(base, patient());
    const res = await del(base, `Patient/${created.id}`, { 'if-match': weakEtag(1) });
    assert.ok(DELETE_OK.includes(res.status), `got ${res.status} ${res.text}`);
    assertOperationOutcome(await get(base, `Patient/${created.id}`), 410);
  });
});

describe('concurrent writers (http.html#concurrency)', () => {
  test('concurrent updates with the same If-Match: exactly one wins, the others get 412 (or 409)', async () => {
    // "If the version id given in the If-Match header does not match, the server returns a 412
    // Precondition Failed"; "a 409 Conflict can be returned when the server detects the update cannot
    // be done (e.g. due to server side pessimistic locking)". Lost updates must not happen.
    const created = await create(base, patient());
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        put(base, `Patient/${created.id}`, { ...created, name: [{ family: `writer-${i}` }] }, { 'if-match': weakEtag(1) }),
      ),
    );
    const statuses = attempts.map((res) => res.status);
    assert.equal(statuses.filter((status) => status === 200).length, 1, `exactly one winner: ${statuses.join(', ')}`);
    for (const res of attempts) if (res.status !== 200) assertOperationOutcome(res, [409, 412]);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '2');
  });

  test('concurrent updates without If-Match each get their own version', async () => {
    // Version ids are "unique within the address space of all versions of the same resource".
    const created = await create(base, patient());
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        put(base, `Patient/${created.id}`, { ...created, name: [{ family: `writer-${i}` }] }, { prefer: 'return=representation' }),
      ),
    );
    const ok = attempts.filter((res) => res.status === 200);
    for (const res of attempts) if (res.status !== 200) assertOperationOutcome(res, 409);
    const versions = ok.map((res) => res.body.meta.versionId);
    assert.equal(new Set(versions).size, versions.length, `duplicate versions: ${versions.join(', ')}`);
    const history = await instanceHistory('Patient', created.id);
    assert.equal(history.entry.length, 1 + ok.length, 'every successful update is one history entry');
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, String(1 + ok.length));
  });

  test('concurrent PUTs to the same new id: exactly one creates (201)', async () => {
    const id = newId();
    const attempts = await Promise.all(Array.from({ length: 5 }, () => put(base, `Patient/${id}`, { ...patient(), id })));
    const statuses = attempts.map((res) => res.status);
    assert.equal(statuses.filter((status) => status === 201).length, 1, `exactly one 201: ${statuses.join(', ')}`);
    assert.ok(statuses.every((status) => [200, 201, 409].includes(status)), statuses.join(', '));
    const history = await instanceHistory('Patient', id);
    assert.equal(history.entry.filter((entry: Json) => entry.resource?.meta?.versionId === '1').length, 1, 'one version 1');
  });
});

describe('delete: DELETE [base]/[type]/[id]', () => {
  test('delete succeeds and a subsequent read is 410 Gone', async () => {
    const created = await create(base, patient());
    const res = await del(base, `Patient/${created.id}`);
    assert.ok(DELETE_OK.includes(res.status), `got ${res.status} ${res.text}`);
    // "200 OK if the response contains a payload, or a 204 No Content with no response payload"
    if (res.status === 204) assert.equal(res.text, '');
    if (res.status === 200 && res.text.length > 0) assert.ok(res.body?.resourceType, 'a 200 payload is a FHIR resource');
    // "A delete interaction means that subsequent non-version specific reads of a resource return a 410 HTTP status code"
    assertOperationOutcome(await get(base, `Patient/${created.id}`), 410);
  });

  test('the version history survives a delete: old versions readable, the delete recorded', async () => {
    // "For servers that maintain a version history, the delete interaction does not remove a
    // resource's version history. ... deleting a resource is the equivalent of creating a special
    // kind of history entry that has no content and is marked as deleted."
    const created = await create(base, patient());
    await remove(base, 'Patient', created.id);

    const v1 = await get(base, `Patient/${created.id}/_history/1`);
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.body.meta.versionId, '1');

    const history = await instanceHistory('Patient', created.id);
    assert.equal(history.type, 'history');
    assert.equal(history.entry.length, 2, JSON.stringify(history.entry));
    const [newest, oldest] = history.entry;
    assert.equal(newest.request?.method, 'DELETE');
    assert.equal(newest.resource, undefined, 'a delete entry has no resource');
    assert.equal(oldest.resource?.meta?.versionId, '1');
  });

  test('vread of the version that records the deletion is 410', async () => {
    // http.html#vread: "If the version referred to is actually one where the resource was deleted,
    // the server should return a 410 status code."
    const created = await create(base, patient());
    await remove(base, 'Patient', created.id);
    const history = await instanceHistory('Patient', created.id);
    const deleteEntry = history.entry.find((entry: Json) => entry.request?.method === 'DELETE');
    assert.ok(deleteEntry, 'history should contain the delete');
    const deletedVersion = etagVersion(deleteEntry.response?.etag) ?? '2';
    assertOperationOutcome(await get(base, `Patient/${created.id}/_history/${deletedVersion}`), 410);
  });

  test('deleting a resource that never existed is a success (200, 202 or 204)', async () => {
    // "Upon successful deletion, or if the resource does not exist at all, the server should return
    // either a 200 OK ..., or a 204 No Content ..., or a 202 Accepted"
    const res = await del(base, `Patient/${newId()}`);
    assert.ok(DELETE_OK.includes(res.status), `got ${res.status} ${res.text}`);
  });

  test('deleting an already deleted resource has no effect', async () => {
    // "Performing this interaction on a resource that is already deleted has no effect, and the server
    // should return either a 200 OK if the response contains a payload, or a 204 No Content"
    const created = await create(base, patient());
    await remove(base, 'Patient', created.id);
    const before = await instanceHistory('Patient', created.id);
    const again = await del(base, `Patient/${created.id}`);
    assert.ok([200, 204].includes(again.status), `got ${again.status} ${again.text}`);
    const afterwards = await instanceHistory('Patient', created.id);
    assert.equal(afterwards.entry.length, before.entry.length, 'a second delete must not add a version');
    assertOperationOutcome(await get(base, `Patient/${created.id}`), 410);
  });

  test('a PUT after delete brings the resource back to life: 201 and a new version', async () => {
    // http.html#update: "201 Created status code if the resource was created (or brought back to
    // life/re-created)"; http.html#delete: deleted resources "may be brought back to life by a
    // subsequent update interaction using an HTTP PUT".
    const created = await create(base, patient());
    await remove(base, 'Patient', created.id);
    const family = unique('revived');
    const res = await put(base, `Patient/${created.id}`, { ...patient(family), id: created.id }, { prefer: 'return=representation' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.id, created.id);
    // versions 1 (create) and 2 (delete) exist; the revival is a newer version
    assert.equal(res.body.meta.versionId, '3');
    assert.equal(res.headers.get('etag'), weakEtag(3));

    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.name[0].family, family);
    const history = await instanceHistory('Patient', created.id);
    assert.deepEqual(
      history.entry.map((entry: Json) => entry.request?.method),
      ['PUT', 'DELETE', 'POST'],
    );
  });

  test('deleting an unknown resource type is 404', async () => {
    assertOperationOutcome(await del(base, 'NotAType/1'), 404);
  });
});

describe('Prefer: return= (http.html#prefer)', () => {
  // "Servers SHOULD honor this header." Kiln does, on create and update.
  test('return=minimal on create: 201, headers, no body', async () => {
    const res = await post(base, 'Patient', patient(), { prefer: 'return=minimal' });
    assert.equal(res.status, 201, res.text);
    // "The first of these asks to return no body."
    assert.equal(res.text, '');
    assert.ok(res.headers.get('location'));
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assert.ok(res.headers.get('last-modified'));
  });

  test('return=minimal on update: 200, ETag, no body', async () => {
    const created = await create(base, patient());
    const res = await put(base, `Patient/${created.id}`, { ...created, active: true }, { prefer: 'return=minimal' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('etag'), weakEtag(2));
  });

  test('return=OperationOutcome on create and update returns an OperationOutcome', async () => {
    // "The third asks the server to return an OperationOutcome resource containing hints and warnings
    // about the operation rather than the full resource."
    const created = await post(base, 'Patient', patient(), { prefer: 'return=OperationOutcome' });
    assert.equal(created.status, 201, created.text);
    assertFhirJsonContentType(created);
    assert.equal(created.body?.resourceType, 'OperationOutcome');
    assert.ok(created.body.issue?.length >= 1, 'OperationOutcome.issue is 1..*');
    assert.ok(!created.body.issue.some((issue: Json) => issue.severity === 'error' || issue.severity === 'fatal'), 'a success outcome carries no errors');
    const location = absoluteLocation(base, created.headers.get('location'));
    const id = /\/Patient\/([^/]+)\/_history\/1$/.exec(location)?.[1];
    assert.ok(id, `unexpected Location ${location}`);

    const updated = await put(base, `Patient/${id}`, { ...patient(), id }, { prefer: 'return=OperationOutcome' });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body?.resourceType, 'OperationOutcome');
    assert.equal(updated.headers.get('etag'), weakEtag(2));
  });

  test('return=representation returns the full resource', async () => {
    const family = unique('repr');
    const res = await post(base, 'Patient', patient(family), { prefer: 'return=representation' });
    assert.equal(res.status, 201);
    assert.equal(res.body.resourceType, 'Patient');
    assert.equal(res.body.name[0].family, family);
    const updated = await put(base, `Patient/${res.body.id}`, { ...res.body, active: true }, { prefer: 'return=representation' });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.resourceType, 'Patient');
    assert.equal(updated.body.active, true);
    assert.equal(updated.body.meta.versionId, '2');
  });

  test('failures still return an OperationOutcome whatever the Prefer header says', async () => {
    // "Note that this setting only applies to successful interactions. In case of failure, servers
    // SHOULD always return a body that contains an OperationOutcome resource."
    const created = await create(base, patient());
    assertOperationOutcome(await put(base, `Patient/${created.id}`, { ...created, id: newId() }, { prefer: 'return=minimal' }), 400);
  });
});

describe('history entries written by update and delete', () => {
  test('instance history lists create, update and delete newest first', async () => {
    const created = await create(base, patient());
    await update(base, { ...created, active: true });
    await remove(base, 'Patient', created.id);
    const history = await instanceHistory('Patient', created.id);
    assert.deepEqual(
      history.entry.map((entry: Json) => entry.request?.method),
      ['DELETE', 'PUT', 'POST'],
    );
    for (const entry of history.entry) entryStatus(entry);
  });
});
