/**
 * create, read, vread and conditional read, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#create, #read, #vread, #cread, #head, #versioning
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useTestServer } from '../support/server.js';
import {
  INSTANT,
  absoluteLocation,
  assertFhirJsonContentType,
  assertLastModifiedMatches,
  assertOperationOutcome,
  create,
  get,
  http,
  patient,
  post,
  sleep,
  unique,
  update,
  weakEtag,
} from './helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

describe('create: POST [base]/[type]', () => {
  test('returns 201 with Location [base]/[type]/[id]/_history/[vid], ETag, Last-Modified and the stored resource', async () => {
    const family = unique('create');
    // Prefer: return=representation so that a body is required (http.html#prefer); without it the
    // server may choose whether to return one.
    const res = await post(base, 'Patient', patient(family), { prefer: 'return=representation' });
    assert.equal(res.status, 201, res.text);
    assertFhirJsonContentType(res);

    const body = res.body;
    assert.equal(body.resourceType, 'Patient');
    // "The server SHALL populate the id, meta.versionId and meta.lastUpdated with the new correct values."
    assert.equal(typeof body.id, 'string');
    assert.match(body.id, /^[A-Za-z0-9\-.]{1,64}$/, 'server-assigned id must be a valid FHIR id');
    assert.equal(body.meta?.versionId, '1');
    assert.match(body.meta?.lastUpdated ?? '', INSTANT);
    // "A server SHOULD otherwise accept the resource as submitted"
    assert.equal(body.name?.[0]?.family, family);

    // "SHALL also return a Location header which contains the new Logical Id and Version Id of the
    // created resource version: Location: [base]/[type]/[id]/_history/[vid]". The Location MAY be
    // relative, so it is resolved against the base before comparing.
    assert.equal(absoluteLocation(base, res.headers.get('location')), `${base}/Patient/${body.id}/_history/1`);
    // "Servers SHOULD return an ETag header with the versionId ... and a Last-Modified header."
    // ETags are weak: W/"[versionId]" (http.html#versioning).
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assertLastModifiedMatches(res, body.meta.lastUpdated);
  });

  test('without a Prefer header a returned body, if any, is the resource (not an OperationOutcome)', async () => {
    // http.html#prefer: "In the absence of the header, servers may choose whether to return the full
    // resource or not (but not the OperationOutcome; that should only be returned if explicitly requested)."
    const res = await post(base, 'Patient', patient());
    assert.equal(res.status, 201, res.text);
    assert.ok(res.headers.get('location'));
    if (res.text.length > 0) {
      assert.equal(res.body?.resourceType, 'Patient');
    }
  });

  test('ignores a client-supplied id: the server assigns its own', async () => {
    // "If an id is provided, the server SHALL ignore it."
    const clientId = `client-${Date.now()}`;
    const res = await post(base, 'Patient', { ...patient(), id: clientId }, { prefer: 'return=representation' });
    assert.equal(res.status, 201, res.text);
    assert.notEqual(res.body.id, clientId);
    assert.equal(absoluteLocation(base, res.headers.get('location')), `${base}/Patient/${res.body.id}/_history/1`);
    // Nothing was stored under the client's id.
    assertOperationOutcome(await get(base, `Patient/${clientId}`), 404);
    // And the resource is readable under the server's id.
    const read = await get(base, `Patient/${res.body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.id, res.body.id);
  });

  test('ignores client-supplied meta.versionId and meta.lastUpdated', async () => {
    // "If the request body includes a meta, the server SHALL ignore the existing versionId and lastUpdated values."
    const res = await post(
      base,
      'Patient',
      { ...patient(), meta: { versionId: '42', lastUpdated: '2001-01-01T00:00:00Z' } },
      { prefer: 'return=representation' },
    );
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.meta.versionId, '1');
    assert.notEqual(res.body.meta.lastUpdated, '2001-01-01T00:00:00Z');
    assert.ok(Date.parse(res.body.meta.lastUpdated) > Date.parse('2020-01-01T00:00:00Z'));
    assert.equal(res.headers.get('etag'), weakEtag(1));
  });

  test('two creates get two different ids', async () => {
    const a = await create(base, patient());
    const b = await create(base, patient());
    assert.notEqual(a.id, b.id);
  });

  test('an unknown resource type is 404', async () => {
    // "404 Not Found - resource type not supported, or not a FHIR end-point"
    const res = await post(base, 'NotAType', { resourceType: 'NotAType' });
    assertOperationOutcome(res, 404);
  });
});

describe('read: GET [base]/[type]/[id]', () => {
  test('returns 200 with the resource, ETag and Last-Modified', async () => {
    const family = unique('read');
    const created = await create(base, patient(family));
    const res = await get(base, `Patient/${created.id}`);
    assert.equal(res.status, 200, res.text);
    assertFhirJsonContentType(res);
    // "The returned resource SHALL have an id element with a value that is the [id]."
    assert.equal(res.body.resourceType, 'Patient');
    assert.equal(res.body.id, created.id);
    assert.equal(res.body.meta.versionId, '1');
    assert.equal(res.body.meta.lastUpdated, created.meta.lastUpdated);
    assert.equal(res.body.name[0].family, family);
    assert.deepEqual(res.body.name, created.name);
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assertLastModifiedMatches(res, created.meta.lastUpdated);
  });

  test('the content type is application/fhir+json; charset=utf-8', async () => {
    const created = await create(base, patient());
    const res = await get(base, `Patient/${created.id}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json;\s*charset=utf-8$/i);
  });

  test('non-ASCII text round-trips as UTF-8', async () => {
    // http.html: "FHIR uses UTF-8 for all request and response bodies."
    const family = `Müller-Łódź-${unique('ü')}-漢字`;
    const created = await create(base, patient(family));
    const res = await get(base, `Patient/${created.id}`);
    assert.equal(res.body.name[0].family, family);
  });

  test('an unknown id is 404 with an OperationOutcome', async () => {
    // "a GET for an unknown resource returns 404"
    assertOperationOutcome(await get(base, `Patient/${unique('missing')}`), 404);
  });

  test('an unknown resource type is 404', async () => {
    assertOperationOutcome(await get(base, 'NotAType/1'), 404);
  });

  test('a syntactically invalid id is 400', async () => {
    // The id type is [A-Za-z0-9\-\.]{1,64} (datatypes.html#id; "The possible values for the Logical
    // Id itself are described in the id type"). Kiln answers a malformed id with 400 Bad Request
    // rather than looking it up (the spec does not name a status for this case; 400 is Kiln's choice).
    assertOperationOutcome(await get(base, 'Patient/bad$id'), 400, 'id with $');
    assertOperationOutcome(await get(base, `Patient/${'a'.repeat(65)}`), 400, '65-character id');
    assertOperationOutcome(await get(base, 'Patient/bad_id'), 400, 'id with underscore');
  });

  test('URLs are case sensitive: type and id', async () => {
    // http.html#root: "All URLs (and ids that form part of the URL) defined by this specification are case sensitive."
    const created = await create(base, patient());
    assertOperationOutcome(await get(base, `patient/${created.id}`), 404, 'lower-case type');
    const mixed = `Case-${Date.now()}-AbC`;
    const put = await http(base, 'PUT', `Patient/${mixed}`, { body: { ...patient(), id: mixed } });
    assert.equal(put.status, 201, put.text);
    assert.equal((await get(base, `Patient/${mixed}`)).status, 200);
    assertOperationOutcome(await get(base, `Patient/${mixed.toLowerCase()}`), 404, 'id in another case');
  });

  test('a 64-character id is valid syntax (404 when unknown, not 400)', async () => {
    assertOperationOutcome(await get(base, `Patient/${'a'.repeat(64)}`), 404);
  });
});

describe('conditional read (http.html#cread)', () => {
  // The spec lets servers either answer 304 or the full content; Kiln implements conditional read,
  // so these tests require the 304.
  test('If-None-Match with the current ETag is 304 Not Modified with no body', async () => {
    const created = await create(base, patient());
    const res = await get(base, `Patient/${created.id}`, { 'if-none-match': weakEtag(1) });
    assert.equal(res.status, 304, res.text);
    assert.equal(res.text, '');
  });

  test('If-None-Match with a stale ETag returns the full resource', async () => {
    const created = await create(base, patient());
    await update(base, { ...created, active: true });
    const res = await get(base, `Patient/${created.id}`, { 'if-none-match': weakEtag(1) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.meta.versionId, '2');
    assert.equal(res.headers.get('etag'), weakEtag(2));
  });

  test('If-Modified-Since equal to Last-Modified is 304', async () => {
    const created = await create(base, patient());
    const first = await get(base, `Patient/${created.id}`);
    const lastModified = first.headers.get('last-modified');
    assert.ok(lastModified);
    const res = await get(base, `Patient/${created.id}`, { 'if-modified-since': lastModified });
    assert.equal(res.status, 304, res.text);
    assert.equal(res.text, '');
  });

  test('If-Modified-Since later than lastUpdated is 304', async () => {
    const created = await create(base, patient());
    await sleep(1100);
    const later = new Date().toUTCString();
    assert.ok(Date.parse(later) > Date.parse(created.meta.lastUpdated));
    const res = await get(base, `Patient/${created.id}`, { 'if-modified-since': later });
    assert.equal(res.status, 304, res.text);
    assert.equal(res.text, '');
  });

  test('If-Modified-Since before lastUpdated returns the full resource', async () => {
    const created = await create(base, patient());
    const earlier = new Date(Date.parse(created.meta.lastUpdated) - 3600_000).toUTCString();
    const res = await get(base, `Patient/${created.id}`, { 'if-modified-since': earlier });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, created.id);
  });
});

describe('HEAD (http.html#head)', () => {
  // "Anywhere that a GET request can be used, a HEAD request is also allowed. HEAD requests are
  // treated as specified in HTTP: same response as a GET, but with no body. Servers that do not
  // support HEAD MUST respond in accordance with the HTTP specification, for example using a 405
  // ("method not allowed") or a 501 ("not implemented")." — so HEAD support itself is optional.
  test('HEAD on read is either the GET response without a body, or 405/501', async () => {
    const created = await create(base, patient());
    const res = await http(base, 'HEAD', `Patient/${created.id}`);
    assert.equal(res.text, '', 'a HEAD response never has a body');
    if (res.status === 405 || res.status === 501) return;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assertFhirJsonContentType(res);
    assertLastModifiedMatches(res, created.meta.lastUpdated);
  });

  test('HEAD on an unknown resource is not 200', async () => {
    const res = await http(base, 'HEAD', `Patient/${unique('missing')}`);
    assert.ok([404, 405, 501].includes(res.status), `got ${res.status}`);
    assert.equal(res.text, '');
  });
});

describe('vread: GET [base]/[type]/[id]/_history/[vid]', () => {
  test('returns the requested version with ETag and Last-Modified', async () => {
    const created = await create(base, patient());
    const res = await get(base, `Patient/${created.id}/_history/1`);
    assert.equal(res.status, 200, res.text);
    assertFhirJsonContentType(res);
    // "The returned resource SHALL have an id element with a value that is the [id], and a
    // meta.versionId element with a value of [vid]."
    assert.equal(res.body.id, created.id);
    assert.equal(res.body.meta.versionId, '1');
    assert.equal(res.headers.get('etag'), weakEtag(1));
    assertLastModifiedMatches(res, created.meta.lastUpdated);
  });

  test('older versions stay readable after an update', async () => {
    const familyV1 = unique('v1');
    const familyV2 = unique('v2');
    const created = await create(base, patient(familyV1));
    const updated = await update(base, { ...created, name: [{ family: familyV2 }] });
    assert.equal(updated.meta.versionId, '2');

    const v1 = await get(base, `Patient/${created.id}/_history/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body.name[0].family, familyV1);
    assert.equal(v1.body.meta.versionId, '1');
    assert.equal(v1.headers.get('etag'), weakEtag(1));

    const v2 = await get(base, `Patient/${created.id}/_history/2`);
    assert.equal(v2.status, 200);
    assert.equal(v2.body.name[0].family, familyV2);
    assert.equal(v2.body.meta.versionId, '2');
    assert.equal(v2.headers.get('etag'), weakEtag(2));
    assertLastModifiedMatches(v2, updated.meta.lastUpdated);
  });

  test('an unknown version of a known resource is 404', async () => {
    const created = await create(base, patient());
    assertOperationOutcome(await get(base, `Patient/${created.id}/_history/99`), 404);
  });

  test('a version of an unknown resource is 404', async () => {
    assertOperationOutcome(await get(base, `Patient/${unique('missing')}/_history/1`), 404);
  });
});
