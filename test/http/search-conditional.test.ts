/**
 * Conditional create, update, patch and delete, alone and in batch/transaction Bundles, and
 * conditional references in transactions — black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #patch, #cdelete, #trules.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertOperationOutcome, create, entryStatus, get, http, post, put, unique, type Json } from './helpers.js';
import { ids, sorted } from './search-helpers.js';

let server: TestServer;
let base: string;
const SYSTEM = 'http://kiln.test/mrn';

before(async () => {
  server = await startTestServer({ limits: { maxConditionalDeletes: 5 } });
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

const withMrn = (mrn: string, extra: Json = {}) => ({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: mrn }], ...extra });

describe('conditional create (If-None-Exist)', () => {
  test('no match creates (201), one match returns it (200) without writing, several are a 412', async () => {
    const mrn = unique('cc');
    const first = await post(base, 'Patient', withMrn(mrn), { 'if-none-exist': `identifier=${SYSTEM}|${mrn}`, prefer: 'return=representation' });
    assert.equal(first.status, 201);
    const again = await post(base, 'Patient', withMrn(mrn, { active: true }), { 'if-none-exist': `identifier=${SYSTEM}|${mrn}`, prefer: 'return=representation' });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.active, undefined, 'the existing resource is returned unchanged');
    await create(base, withMrn(mrn));
    assertOperationOutcome(await post(base, 'Patient', withMrn(mrn), { 'if-none-exist': `identifier=${SYSTEM}|${mrn}` }), 412);
  });

  test('concurrent conditional creates with the same criteria create one resource', async () => {
    const mrn = unique('race');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => post(base, 'Patient', withMrn(mrn), { 'if-none-exist': `identifier=${SYSTEM}|${mrn}` })),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal((await ids(base, `Patient?identifier=${SYSTEM}|${mrn}`)).length, 1);
  });

  test('criteria with unknown parameters are a 400, never ignored', async () => {
    const res = await post(base, 'Patient', withMrn(unique('cc')), { 'if-none-exist': 'nonsense=1' });
    assertOperationOutcome(res, 400);
  });
});

describe('conditional update, patch, delete', () => {
  test('PUT [type]?criteria: creates, then updates the one match, 412 on several', async () => {
    const mrn = unique('cu');
    const created = await put(base, `Patient?identifier=${SYSTEM}|${mrn}`, withMrn(mrn, { gender: 'male' }), { prefer: 'return=representation' });
    assert.equal(created.status, 201);
    const updated = await put(base, `Patient?identifier=${SYSTEM}|${mrn}`, withMrn(mrn, { gender: 'female' }), { prefer: 'return=representation' });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.id, created.body.id);
    assert.equal(updated.body.meta.versionId, '2');
    const wrongId = await put(base, `Patient?identifier=${SYSTEM}|${mrn}`, { ...withMrn(mrn), id: 'someone-else' });
    assertOperationOutcome(wrongId, 400);
    await create(base, withMrn(mrn));
    assertOperationOutcome(await put(base, `Patient?identifier=${SYSTEM}|${mrn}`, withMrn(mrn)), 412);
  });

  test('PATCH [type]?criteria patches the one match; none is a 404', async () => {
    const mrn = unique('cp');
    const p = await create(base, withMrn(mrn));
    const patch = (query: string) =>
      http(base, 'PATCH', `Patient?${query}`, { rawBody: JSON.stringify([{ op: 'add', path: '/active', value: true }]), headers: { 'content-type': 'application/json-patch+json', prefer: 'return=representation' } });
    const res = await patch(`identifier=${SYSTEM}|${mrn}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, p.id);
    assert.equal(res.body.active, true);
    assertOperationOutcome(await patch(`identifier=${SYSTEM}|${unique('none')}`), 404);
  });

  test('DELETE [type]?criteria deletes the matches up to the configured maximum; more is a 412', async () => {
    const mrn = unique('cd');
    await create(base, withMrn(mrn));
    await create(base, withMrn(mrn));
    const res = await http(base, 'DELETE', `Patient?identifier=${SYSTEM}|${mrn}`);
    assert.ok([200, 204].includes(res.status), res.text);
    assert.deepEqual(await ids(base, `Patient?identifier=${SYSTEM}|${mrn}`), []);
    const none = await http(base, 'DELETE', `Patient?identifier=${SYSTEM}|${mrn}`);
    assert.ok([200, 204].includes(none.status));
    const many = unique('cd');
    for (let i = 0; i < 6; i++) await create(base, withMrn(many));
    assertOperationOutcome(await http(base, 'DELETE', `Patient?identifier=${SYSTEM}|${many}`), 412);
    assert.equal((await ids(base, `Patient?identifier=${SYSTEM}|${many}`)).length, 6);
  });
});

describe('conditional operations in Bundles', () => {
  test('transaction: ifNoneExist, conditional update URL and conditional references resolve before the writes', async () => {
    const orgId = unique('org');
    const mrn = unique('tx');
    const existingOrg = await create(base, { resourceType: 'Organization', identifier: [{ system: SYSTEM, value: orgId }], name: 'Existing' });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b4a7f39-0d1c-4bd7-8a7e-6f0c3e1b2a01',
          resource: { resourceType: 'Organization', identifier: [{ system: SYSTEM, value: orgId }], name: 'Duplicate' },
          request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${SYSTEM}|${orgId}` },
        },
        {
          fullUrl: 'urn:uuid:0b4a7f39-0d1c-4bd7-8a7e-6f0c3e1b2a02',
          resource: withMrn(mrn, { managingOrganization: { reference: 'urn:uuid:0b4a7f39-0d1c-4bd7-8a7e-6f0c3e1b2a01' } }),
          request: { method: 'PUT', url: `Patient?identifier=${SYSTEM}|${mrn}` },
        },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:0b4a7f39-0d1c-4bd7-8a7e-6f0c3e1b2a02' }, performer: [{ reference: `Organization?identifier=${SYSTEM}|${orgId}` }] },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await post(base, '', bundle);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.entry.map(entryStatus), [200, 201, 201]);
    const patientId = res.body.entry[1].response.location.match(/(?:^|\/)[A-Z][A-Za-z]+\/([^/]+)\/_history/)[1];
    const patient = (await get(base, `Patient/${patientId}`)).body;
    assert.equal(patient.managingOrganization.reference, `Organization/${existingOrg.id}`);
    const observationId = res.body.entry[2].response.location.match(/(?:^|\/)[A-Z][A-Za-z]+\/([^/]+)\/_history/)[1];
    const observation = (await get(base, `Observation/${observationId}`)).body;
    assert.equal(observation.subject.reference, `Patient/${patientId}`);
    assert.equal(observation.performer[0].reference, `Organization/${existingOrg.id}`);
    // a second run matches everything that the first created
    const second = await post(base, '', bundle);
    assert.deepEqual(second.body.entry.map(entryStatus), [200, 200, 201]);
    assert.ok(second.body.entry[1].fullUrl.endsWith(`/Patient/${patientId}`));
  });

  test('transaction: conditional deletes on one type with different criteria', async () => {
    const [a, b] = [unique('del'), unique('del')];
    await create(base, withMrn(a));
    await create(base, withMrn(b));
    const res = await post(base, '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${a}` } }, { request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${b}` } }],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await ids(base, `Patient?identifier=${SYSTEM}|${a},${SYSTEM}|${b}`), []);
  });

  test('transaction: an unresolvable conditional reference fails the whole transaction with 412', async () => {
    const mrn = unique('none');
    const res = await post(base, '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: withMrn(unique('p')), request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient?identifier=${SYSTEM}|${mrn}` } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    assertOperationOutcome(res, 412);
  });

  test('batch: ifNoneExist and conditional references per entry', async () => {
    const mrn = unique('batch');
    const target = await create(base, withMrn(mrn));
    const res = await post(base, '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: withMrn(mrn), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYSTEM}|${mrn}` } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient?identifier=${SYSTEM}|${mrn}` } }, request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient?identifier=${SYSTEM}|${unique('no')}` } }, request: { method: 'POST', url: 'Observation' } },
        { request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${unique('no')}` } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.entry.map(entryStatus).slice(0, 3), [200, 201, 412]);
    assert.ok([200, 204].includes(entryStatus(res.body.entry[3])));
    const observationId = res.body.entry[1].response.location.match(/(?:^|\/)[A-Z][A-Za-z]+\/([^/]+)\/_history/)[1];
    assert.equal((await get(base, `Observation/${observationId}`)).body.subject.reference, `Patient/${target.id}`);
    assert.deepEqual(sorted(await ids(base, `Observation?subject=Patient/${target.id}`)), [observationId]);
  });
});
