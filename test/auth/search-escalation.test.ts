/**
 * Scope escalation through search and conditional operations: _include and _revinclude results of
 * types the token has no scope for (the seed's CVE-2022-39230), chained and _has criteria that look
 * into such types, and conditional create/update/delete and conditional references, whose matches
 * would reveal resources the caller may not see (test/auth/smart-*.test.ts go further for
 * callers limited to some resources of a type).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryStatus } from '../http/helpers.js';
import { type TestServer } from '../support/server.js';
import { assertStatus, call, observation } from './support/client.js';
import { type TestIdp } from './support/idp.js';
import { useProviderAndKiln } from './support/fixture.js';

let idp: TestIdp;
let kiln: TestServer;
let base: string;
const tokens: Record<string, string> = {};

useProviderAndKiln(async (started) => {
  ({ idp, kiln, base } = started);
  tokens.system = await idp.sign({ scope: 'system/*.*' });
  tokens.patientsOnly = await idp.sign({ scope: 'system/Patient.rs' });
  tokens.observationsOnly = await idp.sign({ scope: 'system/Observation.cruds' });
  tokens.paula = await idp.sign({ patient: 'pat-a', scope: 'patient/Observation.cruds patient/Patient.rs' });
  const put = async (resource: { resourceType: string; id: string }) =>
    assertStatus(await call(base, 'PUT', `${resource.resourceType}/${resource.id}`, { token: tokens.system }, resource), 201, `seed ${resource.id}`);
  await put({ resourceType: 'Patient', id: 'pat-a', identifier: [{ system: 'urn:mrn', value: 'A' }] } as never);
  await put({ resourceType: 'Patient', id: 'pat-b', identifier: [{ system: 'urn:mrn', value: 'B' }] } as never);
  await put({ ...observation('pat-a', 'laboratory', { identifier: [{ system: 'urn:obs', value: 'lab-a' }] }), id: 'lab-a' });
  await put({ ...observation('pat-b', 'laboratory', { identifier: [{ system: 'urn:obs', value: 'lab-b' }] }), id: 'lab-b' });
});

const types = (bundle: { entry?: { resource: { resourceType: string } }[] }) => (bundle.entry ?? []).map((e) => e.resource.resourceType).sort();

describe('_include and _revinclude never return types outside the scopes (CVE-2022-39230)', () => {
  test('Patient?_revinclude=Observation:subject with only Patient scopes returns no Observation', async () => {
    const full = assertStatus(await call(base, 'GET', 'Patient?_id=pat-a&_revinclude=Observation:subject', { token: tokens.system }), 200, 'system/*.*');
    assert.deepEqual(types(full), ['Observation', 'Patient'], 'the include works for a caller who may see it');
    const limited = assertStatus(await call(base, 'GET', 'Patient?_id=pat-a&_revinclude=Observation:subject', { token: tokens.patientsOnly }), 200, 'system/Patient.rs');
    assert.deepEqual(types(limited), ['Patient']);
    assert.equal(limited.total, 1);
  });

  test('Observation?_include=Observation:subject with only Observation scopes returns no Patient', async () => {
    const limited = assertStatus(await call(base, 'GET', 'Observation?_id=lab-a&_include=Observation:subject', { token: tokens.observationsOnly }), 200, 'Observation only');
    assert.deepEqual(types(limited), ['Observation']);
  });
});

describe('criteria that look into other types need search rights on them', () => {
  test('_has:Observation with only Patient scopes: 403', async () => {
    assertStatus(await call(base, 'GET', 'Patient?_has:Observation:subject:category=laboratory', { token: tokens.patientsOnly }), 403, '_has');
    assertStatus(await call(base, 'GET', 'Patient?_has:Observation:subject:category=laboratory', { token: tokens.system }), 200, 'allowed with Observation scopes');
  });

  test('chained subject:Patient.identifier with only Observation scopes: 403', async () => {
    assertStatus(await call(base, 'GET', 'Observation?subject:Patient.identifier=urn:mrn|B', { token: tokens.observationsOnly }), 403, 'chain');
  });

  test('search by a patient-limited token stays in the compartment; another patient’s compartment is a 404', async () => {
    const own = await call(base, 'GET', 'Observation?category=laboratory', { token: tokens.paula });
    assertStatus(own, 200, 'type search');
    for (const entry of own.body.entry ?? []) assert.equal(entry.resource.subject.reference, 'Patient/pat-a');
    assertStatus(await call(base, 'GET', 'Patient/pat-b/Observation', { token: tokens.paula }), 404, 'compartment search');
  });
});

describe('conditional operations reveal matches only to callers who may search', () => {
  test('a conditional reference to a type without search rights: 403', async () => {
    const body = observation('pat-a', 'laboratory', { subject: { reference: 'Patient?identifier=urn:mrn|B' } });
    assertStatus(await call(base, 'POST', 'Observation', { token: tokens.observationsOnly }, body), 403, 'direct');
    const batch = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'POST', url: 'Observation' }, resource: body }] };
    assertStatus(await call(base, 'POST', '', { token: tokens.observationsOnly }, batch), 403, 'batch');
    assertStatus(await call(base, 'POST', '', { token: tokens.observationsOnly }, { ...batch, type: 'transaction' }), 403, 'transaction');
  });

  test("conditional create matching another patient's resource does not return it to a patient-limited token", async () => {
    const body = observation('pat-a', 'laboratory');
    const direct = await call(base, 'POST', 'Observation', { token: tokens.paula, headers: { 'if-none-exist': 'identifier=urn:obs|lab-b' } }, body);
    assert.equal(assertStatus(direct, 201, 'If-None-Exist: no match within reach, so a create').subject.reference, 'Patient/pat-a');
    assert.doesNotMatch(direct.text, /pat-b|lab-b/);
    const transaction = await call(base, 'POST', '', { token: tokens.paula }, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn:obs|lab-b' }, resource: body }],
    });
    assert.deepEqual(assertStatus(transaction, 200, 'ifNoneExist in a transaction').entry.map(entryStatus), [201]);
    assert.doesNotMatch(transaction.text, /pat-b|lab-b/);
  });

  test('conditional update and delete by a patient-limited token never touch another patient’s match', async () => {
    const criteria = 'Observation?identifier=urn:obs|lab-b';
    const updated = assertStatus(await call(base, 'PUT', criteria, { token: tokens.paula }, observation('pat-a', 'laboratory')), 201, 'conditional update: no match, a create');
    assert.notEqual(updated.id, 'lab-b');
    assertStatus(await call(base, 'DELETE', criteria, { token: tokens.paula }), 200, 'conditional delete: nothing to delete');
    const res = await call(base, 'POST', '', { token: tokens.paula }, { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'DELETE', url: criteria } }] });
    assert.deepEqual(assertStatus(res, 200, 'conditional delete in a batch').entry.map(entryStatus), [200]);
    const lab = assertStatus(await call(base, 'GET', 'Observation/lab-b', { token: tokens.system }), 200, 'still there');
    assert.equal(lab.meta.versionId, '1', 'never updated');
  });

  test('callers who may search use conditional operations as usual', async () => {
    const res = await call(base, 'POST', '', { token: tokens.system }, {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn:obs|lab-b' }, resource: observation('pat-b', 'laboratory') }],
    });
    assert.deepEqual(assertStatus(res, 200, 'batch').entry.map(entryStatus), [200]);
  });
});
