/**
 * Error handling, content negotiation and general parameters, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#Status-Codes, #mime-type, #parameters (_format, _pretty),
 * #create ("When the resource syntax or data is incorrect or invalid ... 400 Bad Request"), and the
 * HTTP semantics FHIR relies on (RFC 7231: 405 with Allow, 406, 413, 415).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  assertFhirJsonContentType,
  assertOperationOutcome,
  create,
  get,
  http,
  newId,
  outcomeText,
  patient,
  post,
  put,
  unique,
  type Json,
} from './helpers.js';

const MAX_BODY = 4096;

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer({ limits: { maxBodyBytes: MAX_BODY } });
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

/** All issue.expression (and legacy issue.location) values of an OperationOutcome. */
const expressions = (outcome: Json): string[] => (outcome.issue ?? []).flatMap((issue: Json) => [...(issue.expression ?? []), ...(issue.location ?? [])]);

describe('invalid request bodies', () => {
  test('a body that is not JSON is 400 "Failed to parse request body as JSON resource"', async () => {
    const res = await http(base, 'POST', 'Patient', { rawBody: '{"resourceType": "Patient", "name": [' });
    const outcome = assertOperationOutcome(res, 400);
    assert.match(outcomeText(outcome), /Failed to parse request body as JSON resource/);
  });

  test('unparseable JSON is 400 on PUT too', async () => {
    const res = await http(base, 'PUT', `Patient/${newId()}`, { rawBody: 'not json at all' });
    const outcome = assertOperationOutcome(res, 400);
    assert.match(outcomeText(outcome), /Failed to parse request body as JSON resource/);
  });

  test('an empty body on create is 400', async () => {
    assertOperationOutcome(await http(base, 'POST', 'Patient', { rawBody: '' , headers: { 'content-type': 'application/fhir+json' } }), 400);
  });

  test('JSON that is not a resource (array, no resourceType) is 400', async () => {
    assertOperationOutcome(await post(base, 'Patient', [patient()]), 400, 'array');
    assertOperationOutcome(await post(base, 'Patient', { name: [{ family: 'x' }] }), 400, 'no resourceType');
    assertOperationOutcome(await post(base, 'Patient', 'Patient'), 400, 'string');
  });

  test('a wrongly typed element is 400 with the element path in issue.expression', async () => {
    const outcome = assertOperationOutcome(await post(base, 'Patient', patient(undefined, { birthDate: 123 })), 400);
    assert.ok(
      expressions(outcome).some((expression) => expression.includes('Patient.birthDate')),
      `expected an issue.expression naming Patient.birthDate, got ${JSON.stringify(outcome.issue)}`,
    );
  });

  test('an unknown element is 400 with the element path in issue.expression', async () => {
    const outcome = assertOperationOutcome(await post(base, 'Patient', patient(undefined, { notAnElement: true })), 400);
    assert.ok(
      expressions(outcome).some((expression) => expression.includes('notAnElement')),
      `expected an issue.expression naming Patient.notAnElement, got ${JSON.stringify(outcome.issue)}`,
    );
  });

  test('a nested error names the nested path', async () => {
    const outcome = assertOperationOutcome(await post(base, 'Patient', { resourceType: 'Patient', name: [{ family: 'x', given: 'not-an-array' }] }), 400);
    assert.ok(
      expressions(outcome).some((expression) => /Patient\.name(\[0\])?\.given/.test(expression)),
      `expected an issue.expression naming Patient.name[0].given, got ${JSON.stringify(outcome.issue)}`,
    );
  });

  test('an invalid primitive format is 400 (birthDate must be a FHIR date)', async () => {
    assertOperationOutcome(await post(base, 'Patient', patient(undefined, { birthDate: '12/31/1999' })), 400);
  });

  test('a resourceType different from the URL type is 400', async () => {
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assertOperationOutcome(await post(base, 'Patient', observation), 400, 'create');
    const id = newId();
    assertOperationOutcome(await put(base, `Patient/${id}`, { ...observation, id }), 400, 'update');
    assertOperationOutcome(await get(base, `Patient/${id}`), 404);
    assertOperationOutcome(await get(base, `Observation/${id}`), 404);
  });

  test(`a body just under the limit (${MAX_BODY} bytes) is accepted`, async () => {
    const base64Len = MAX_BODY - 400;
    const body = patient(unique('fits'), { photo: [{ contentType: 'image/png', data: 'A'.repeat(base64Len - (base64Len % 4)) }] });
    assert.ok(JSON.stringify(body).length < MAX_BODY);
    const res = await post(base, 'Patient', body);
    assert.equal(res.status, 201, res.text.slice(0, 300));
  });

  test(`a body larger than the limit (${MAX_BODY} bytes) is 413`, async () => {
    const big = patient(unique('big'), { text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(MAX_BODY * 3)}</div>` } });
    assertOperationOutcome(await post(base, 'Patient', big), 413);
  });
});

describe('unsupported methods and routes', () => {
  test('DELETE /metadata is 405 with an Allow header', async () => {
    // RFC 7231 §6.5.5: "The origin server MUST generate an Allow header field in a 405 response".
    const res = await http(base, 'DELETE', 'metadata');
    assertOperationOutcome(res, 405);
    const allow = res.headers.get('allow') ?? '';
    assert.match(allow, /\bGET\b/, `Allow should list GET, got "${allow}"`);
    assert.doesNotMatch(allow, /\bDELETE\b/);
  });

  test('PATCH on a type endpoint is 405', async () => {
    const res = await http(base, 'PATCH', 'Patient', {
      rawBody: JSON.stringify([{ op: 'add', path: '/active', value: true }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    assertOperationOutcome(res, 405);
    assert.ok(res.headers.get('allow'), 'a 405 carries Allow');
  });

  test('POST on an instance URL is 405 with an Allow header', async () => {
    // FHIR defines GET, PUT, PATCH and DELETE on [base]/[type]/[id], not POST.
    const created = await create(base, patient());
    const res = await post(base, `Patient/${created.id}`, patient());
    assertOperationOutcome(res, 405);
    const allow = res.headers.get('allow') ?? '';
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) assert.match(allow, new RegExp(`\\b${method}\\b`), `Allow: ${allow}`);
    assert.doesNotMatch(allow, /\bPOST\b/);
  });

  test('an unknown route is 404 (or 400) with an OperationOutcome', async () => {
    assertOperationOutcome(await get(base, 'Patient/1/foo/bar'), [400, 404]);
    assertOperationOutcome(await get(base, 'Patient/1/_history/1/extra'), [400, 404]);
  });
});

describe('content negotiation (http.html#mime-type)', () => {
  test('Accept: application/fhir+xml is 406 saying XML is not supported', async () => {
    // "406 Not Acceptable is the appropriate response when the Accept header requests a format that
    // the server does not support"
    const created = await create(base, patient());
    const res = await get(base, `Patient/${created.id}`, { accept: 'application/fhir+xml' });
    const outcome = assertOperationOutcome(res, 406);
    assert.match(outcomeText(outcome), /xml/i);
  });

  test('_format=xml is 406 as well', async () => {
    // "_format=xml ... SHALL be interpreted to mean the XML format" — which Kiln does not offer.
    const created = await create(base, patient());
    assertOperationOutcome(await get(base, `Patient/${created.id}?_format=xml`), 406);
  });

  test('posting XML is 415', async () => {
    // "... and 415 Unsupported Media Type when the client posts a format that is not supported"
    const res = await http(base, 'POST', 'Patient', {
      rawBody: '<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>',
      headers: { 'content-type': 'application/fhir+xml' },
    });
    assertOperationOutcome(res, 415);
  });

  test('putting XML is 415', async () => {
    const id = newId();
    const res = await http(base, 'PUT', `Patient/${id}`, {
      rawBody: `<Patient xmlns="http://hl7.org/fhir"><id value="${id}"/></Patient>`,
      headers: { 'content-type': 'application/fhir+xml' },
    });
    assertOperationOutcome(res, 415);
    assertOperationOutcome(await get(base, `Patient/${id}`), 404);
  });

  test('posting text/plain is 415', async () => {
    const res = await http(base, 'POST', 'Patient', { rawBody: JSON.stringify(patient()), headers: { 'content-type': 'text/plain' } });
    assertOperationOutcome(res, 415);
    const put415 = await http(base, 'PUT', `Patient/${newId()}`, { rawBody: JSON.stringify(patient()), headers: { 'content-type': 'text/plain' } });
    assertOperationOutcome(put415, 415);
  });

  test('a charset parameter on the request Content-Type is accepted', async () => {
    const res = await http(base, 'POST', 'Patient', {
      rawBody: JSON.stringify(patient()),
      headers: { 'content-type': 'application/fhir+json; charset=utf-8' },
    });
    assert.equal(res.status, 201, res.text);
  });

  test('_format=json and _format=application/fhir+json give JSON, even overriding Accept', async () => {
    // "the codes json, application/json and application/fhir+json SHALL be interpreted to mean the
    // JSON format"; _format lets "a client override the accept header value".
    const created = await create(base, patient());
    for (const format of ['json', 'application/fhir+json', 'application/json']) {
      const res = await get(base, `Patient/${created.id}?_format=${encodeURIComponent(format)}`, { accept: 'application/fhir+xml' });
      assert.equal(res.status, 200, `_format=${format}: ${res.status} ${res.text.slice(0, 300)}`);
      assertFhirJsonContentType(res, true);
      assert.equal(res.body.id, created.id);
    }
  });

  test('server-driven negotiation honours q-values and lists', async () => {
    // "Servers SHALL support server-driven content negotiation" (RFC 7231 §5.3.2 Accept).
    const created = await create(base, patient());
    for (const accept of [
      'application/fhir+xml;q=0.9, application/fhir+json',
      'application/fhir+xml, application/fhir+json;q=0.5',
      'text/html;q=0.8, application/fhir+json;q=0.9',
    ]) {
      const res = await get(base, `Patient/${created.id}`, { accept });
      assert.equal(res.status, 200, `Accept: ${accept} → ${res.status} ${res.text.slice(0, 200)}`);
      assertFhirJsonContentType(res);
    }
  });

  test('Accept: application/json is served as JSON with charset=utf-8', async () => {
    // "If a client provides a generic mime type in the Accept header (application/xml, text/json, or
    // application/json), the server SHOULD respond with the requested mime type, using the XML or
    // JSON formats described in this specification"
    const created = await create(base, patient());
    const res = await get(base, `Patient/${created.id}`, { accept: 'application/json' });
    assert.equal(res.status, 200, res.text);
    assertFhirJsonContentType(res, true);
    assert.equal(res.body.id, created.id);
  });

  test('Accept: */* and a fhirVersion parameter are served as FHIR JSON', async () => {
    const created = await create(base, patient());
    const any = await get(base, `Patient/${created.id}`, { accept: '*/*' });
    assert.equal(any.status, 200, any.text);
    assertFhirJsonContentType(any, true);
    const versioned = await get(base, `Patient/${created.id}`, { accept: 'application/fhir+json; fhirVersion=4.0' });
    assert.equal(versioned.status, 200, versioned.text);
    assertFhirJsonContentType(versioned);
  });

  test('every response declares charset=utf-8: success, 201, 404, bundle, metadata', async () => {
    const created = await post(base, 'Patient', patient(), { prefer: 'return=representation' });
    assertFhirJsonContentType(created);
    assertFhirJsonContentType(await get(base, `Patient/${created.body.id}`));
    assertFhirJsonContentType(await get(base, `Patient/${newId()}`));
    assertFhirJsonContentType(await get(base, `Patient/${created.body.id}/_history`));
    assertFhirJsonContentType(await get(base, 'metadata'));
  });
});

describe('_pretty (http.html#parameters)', () => {
  // "servers MAY choose to support this parameter" — Kiln does.
  test('_pretty=true indents the JSON', async () => {
    const created = await create(base, patient());
    const pretty = await get(base, `Patient/${created.id}?_pretty=true`);
    assert.equal(pretty.status, 200);
    assert.match(pretty.text, /^\{\n\s+"resourceType"/, `not pretty printed: ${pretty.text.slice(0, 80)}`);
    assert.deepEqual(pretty.body, (await get(base, `Patient/${created.id}`)).body, 'pretty printing does not change content');
  });

  test('_pretty=true also applies to bundles', async () => {
    const created = await create(base, patient());
    const history = await get(base, `Patient/${created.id}/_history?_pretty=true`);
    assert.equal(history.status, 200);
    assert.match(history.text, /^\{\n\s+"/);
  });

  test('_pretty=true also applies to OperationOutcome error responses', async () => {
    // _pretty is one of the "parameters defined for use with all of the interactions"; an
    // OperationOutcome is a resource like any other.
    const missing = await get(base, `Patient/${newId()}?_pretty=true`);
    assertOperationOutcome(missing, 404);
    assert.match(missing.text, /^\{\n\s+"/);
  });
});
