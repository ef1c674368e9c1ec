/**
 * patch with JSON Patch, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#patch — "The body of a PATCH operation SHALL be ... a JSON
 * Patch document with a content type of application/json-patch+json ... When the operations have
 * all been processed, the server processes the resulting document as an Update operation; all the
 * version and error handling etc. apply as specified, as does the Prefer Header." Error statuses for
 * the patch document itself follow RFC 5789 §2.2 and RFC 6902.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useTestServer } from '../support/server.js';
import {
  assertFhirJsonContentType,
  assertLastModifiedMatches,
  assertOperationOutcome,
  create,
  get,
  http,
  newId,
  patient,
  remove,
  unique,
  update,
  weakEtag,
  type HttpResult,
} from './helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

const JSON_PATCH = 'application/json-patch+json';

function patch(path: string, operations: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(base, 'PATCH', path, {
    rawBody: typeof operations === 'string' ? operations : JSON.stringify(operations),
    headers: { 'content-type': JSON_PATCH, prefer: 'return=representation', ...headers },
  });
}

async function versionOf(type: string, id: string): Promise<string> {
  const res = await get(base, `${type}/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body.meta.versionId;
}

describe('PATCH [base]/[type]/[id] with application/json-patch+json', () => {
  test('applies the patch: 200, new version, ETag and Last-Modified', async () => {
    const created = await create(base, patient());
    const family = unique('patched');
    const res = await patch(`Patient/${created.id}`, [
      { op: 'replace', path: '/name/0/family', value: family },
      { op: 'add', path: '/gender', value: 'female' },
    ]);
    assert.equal(res.status, 200, res.text);
    assertFhirJsonContentType(res);
    assert.equal(res.headers.get('etag'), weakEtag(2));
    assert.equal(res.body.id, created.id);
    assert.equal(res.body.meta.versionId, '2');
    assert.equal(res.body.name[0].family, family);
    assert.deepEqual(res.body.name[0].given, created.name[0].given, 'untouched elements are kept');
    assert.equal(res.body.gender, 'female');
    assertLastModifiedMatches(res, res.body.meta.lastUpdated);

    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '2');
    assert.equal(read.body.name[0].family, family);
    assert.equal(read.body.gender, 'female');
  });

  test('a charset parameter on the JSON Patch content type is accepted', async () => {
    const created = await create(base, patient());
    const res = await patch(`Patient/${created.id}`, [{ op: 'add', path: '/active', value: true }], {
      'content-type': 'application/json-patch+json; charset=utf-8',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.active, true);
  });

  test('a successful JSON Patch test op lets the patch proceed', async () => {
    const created = await create(base, patient(undefined, { gender: 'male' }));
    const res = await patch(`Patient/${created.id}`, [
      { op: 'test', path: '/gender', value: 'male' },
      { op: 'replace', path: '/gender', value: 'other' },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.gender, 'other');
  });

  test('Prefer: return=minimal gives no body', async () => {
    const created = await create(base, patient());
    const res = await patch(`Patient/${created.id}`, [{ op: 'add', path: '/active', value: true }], { prefer: 'return=minimal' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('etag'), weakEtag(2));
  });

  test('the patched result is validated: a wrongly typed value is rejected and nothing changes', async () => {
    // The result is processed "as an Update operation; all the ... error handling etc. apply":
    // 400 (failed basic FHIR validation) or 422 (profiles / business rules).
    const created = await create(base, patient());
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'add', path: '/birthDate', value: 123 }]), [400, 422]);
    assert.equal(await versionOf('Patient', created.id), '1');
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.birthDate, undefined);
  });

  test('the patched result is validated: an unknown element is rejected and nothing changes', async () => {
    const created = await create(base, patient());
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'add', path: '/notAnElement', value: 'x' }]), [400, 422]);
    assert.equal(await versionOf('Patient', created.id), '1');
  });

  test('a patch that changes the id is rejected (the update rule: body id must equal URL id)', async () => {
    // http.html#update: "If ... the id disagrees with the id in the URL, the server SHALL respond with an HTTP 400"
    const created = await create(base, patient());
    const otherId = newId();
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'replace', path: '/id', value: otherId }]), [400, 422]);
    assert.equal(await versionOf('Patient', created.id), '1');
    assertOperationOutcome(await get(base, `Patient/${otherId}`), 404);
  });

  test('a patch that changes the resourceType is rejected', async () => {
    const created = await create(base, patient());
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'replace', path: '/resourceType', value: 'Practitioner' }]), [400, 422]);
    assert.equal(await versionOf('Patient', created.id), '1');
  });

  test('a failing JSON Patch test op rejects the whole patch and nothing changes', async () => {
    // RFC 6902 §5: if an operation is not successful, "application of the entire patch document SHALL
    // NOT be deemed successful". RFC 5789 §2.2 names 409 Conflict for a patch that "cannot be applied
    // given the state of the resource" and 422 for one the server cannot process; FHIR's patch status
    // codes are 200, 201, 400, 404, 405, 409, 412, 422. Kiln may answer 400, 409 or 422 here.
    const created = await create(base, patient(undefined, { gender: 'male' }));
    const res = await patch(`Patient/${created.id}`, [
      { op: 'test', path: '/gender', value: 'female' },
      { op: 'replace', path: '/gender', value: 'other' },
    ]);
    assertOperationOutcome(res, [400, 409, 422]);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '1');
    assert.equal(read.body.gender, 'male');
  });

  test('an operation on a path that does not exist fails and nothing changes', async () => {
    const created = await create(base, patient());
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'remove', path: '/telecom/5' }]), [400, 409, 422]);
    assert.equal(await versionOf('Patient', created.id), '1');
  });

  test('a malformed patch document is 400', async () => {
    // RFC 5789 §2.2: "Malformed patch document: ... 400 (Bad Request)".
    const created = await create(base, patient());
    assertOperationOutcome(await patch(`Patient/${created.id}`, { op: 'replace', path: '/active', value: true }), 400, 'not an array');
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'frobnicate', path: '/active', value: true }]), 400, 'unknown op');
    assertOperationOutcome(await patch(`Patient/${created.id}`, '[{"op": "replace",'), 400, 'invalid JSON');
    assert.equal(await versionOf('Patient', created.id), '1');
  });

  test('patching a missing resource is 404', async () => {
    assertOperationOutcome(await patch(`Patient/${newId()}`, [{ op: 'add', path: '/active', value: true }]), 404);
  });

  test('patching a deleted resource fails (404 or 410) and does not revive it', async () => {
    const created = await create(base, patient());
    await remove(base, 'Patient', created.id);
    assertOperationOutcome(await patch(`Patient/${created.id}`, [{ op: 'add', path: '/active', value: true }]), [404, 410]);
    assertOperationOutcome(await get(base, `Patient/${created.id}`), 410);
  });

  test('an unsupported patch content type is 415', async () => {
    // RFC 5789 §2.2: "Unsupported patch document: Can be returned with a 415 (Unsupported Media Type)
    // when the client sends a patch document format that the server does not support".
    const created = await create(base, patient());
    const ops = JSON.stringify([{ op: 'add', path: '/active', value: true }]);
    const plain = await http(base, 'PATCH', `Patient/${created.id}`, { rawBody: ops, headers: { 'content-type': 'text/plain' } });
    assertOperationOutcome(plain, 415, 'text/plain');
    const xmlPatch = await http(base, 'PATCH', `Patient/${created.id}`, {
      rawBody: '<diff><add sel="Patient"><active value="true"/></add></diff>',
      headers: { 'content-type': 'application/xml-patch+xml' },
    });
    assertOperationOutcome(xmlPatch, 415, 'application/xml-patch+xml');
    assert.equal(await versionOf('Patient', created.id), '1');
  });

  test('If-Match with a stale version is 412 and nothing changes', async () => {
    // "servers SHALL support conditional PATCH, which works exactly the same as specified for update
    // in Concurrency Management."
    const created = await create(base, patient());
    await update(base, { ...created, active: true });
    const res = await patch(`Patient/${created.id}`, [{ op: 'replace', path: '/active', value: false }], { 'if-match': weakEtag(1) });
    assertOperationOutcome(res, 412);
    const read = await get(base, `Patient/${created.id}`);
    assert.equal(read.body.meta.versionId, '2');
    assert.equal(read.body.active, true);
  });

  test('If-Match with the current version succeeds', async () => {
    const created = await create(base, patient());
    const res = await patch(`Patient/${created.id}`, [{ op: 'add', path: '/active', value: false }], { 'if-match': weakEtag(1) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.meta.versionId, '2');
    assert.equal(res.headers.get('etag'), weakEtag(2));
  });

  test('client meta.versionId written by the patch is ignored', async () => {
    const created = await create(base, patient());
    const res = await patch(`Patient/${created.id}`, [{ op: 'replace', path: '/meta/versionId', value: '99' }]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.meta.versionId, '2');
    assert.equal(await versionOf('Patient', created.id), '2');
  });

  test('a patch shows up in the instance history as a new version', async () => {
    const created = await create(base, patient());
    const res = await patch(`Patient/${created.id}`, [{ op: 'add', path: '/active', value: true }]);
    assert.equal(res.status, 200, res.text);
    const history = await get(base, `Patient/${created.id}/_history`);
    assert.equal(history.status, 200);
    assert.equal(history.body.entry.length, 2);
    assert.equal(history.body.entry[0].resource.meta.versionId, '2');
    assert.equal(history.body.entry[0].resource.active, true);
    assert.ok(['PATCH', 'PUT'].includes(history.body.entry[0].request.method), 'the patch is recorded as PATCH (or as the update it amounts to)');
  });
});
