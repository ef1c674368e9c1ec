/**
 * SMART scopes over HTTP: patient/, user/ and system/ contexts, v1 and v2 permissions, v2 search
 * restrictions on single-resource reads, and the ways a token might reach past its scopes —
 * another patient's resources by id, version, history, writes, and Bundle entries. A resource
 * outside the caller's reach answers exactly like one that does not exist.
 * Tokens are signed with the test provider's key, so they are as real as the provider's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer } from '../support/server.js';
import { assertStatus, call, observation } from './support/client.js';
import { type TestIdp } from './support/idp.js';
import { useProviderAndKiln } from './support/fixture.js';
import { entryStatus } from '../http/helpers.js';

let idp: TestIdp;
let kiln: TestServer;
let base: string;
const tokens: Record<string, string> = {};

useProviderAndKiln(async (started) => {
  ({ idp, kiln, base } = started);
  tokens.system = await idp.clientCredentialsToken('system/*.*');
  tokens.paula = await idp.sign({ sub: 'paula', patient: 'pat-a', scope: 'patient/Observation.cruds patient/Patient.rs' });
  tokens.paulaLab = await idp.sign({ sub: 'paula', patient: 'pat-a', scope: 'patient/Observation.rs?category=laboratory' });
  tokens.paulaV1 = await idp.sign({ sub: 'paula', patient: 'pat-a', scope: 'launch/patient openid patient/*.read' });
  tokens.rita = await idp.sign({ sub: 'rita', fhirUser: 'RelatedPerson/rita', scope: 'user/Observation.rs' });
  tokens.alice = await idp.sign({ sub: 'alice', fhirUser: 'Practitioner/alice', scope: 'user/Observation.rs' });
  const put = async (resource: { resourceType: string; id: string }) =>
    assertStatus(await call(base, 'PUT', `${resource.resourceType}/${resource.id}`, { token: tokens.system }, resource), 201, `seed ${resource.id}`);
  await put({ resourceType: 'Patient', id: 'pat-a' });
  await put({ resourceType: 'Patient', id: 'pat-b' });
  await put({ ...observation('pat-a', 'laboratory'), id: 'lab-a' });
  await put({ ...observation('pat-a', 'vital-signs'), id: 'vital-a' });
  await put({ ...observation('pat-b', 'laboratory'), id: 'lab-b' });
  await put({ ...observation('pat-b', 'laboratory', { performer: [{ reference: 'RelatedPerson/rita' }] }), id: 'rita-b' });
});

const subjectOf = async (id: string) => (await call(base, 'GET', `Observation/${id}`, { token: tokens.system })).body.subject.reference;

describe('patient/ scopes reach the launch patient’s compartment only', () => {
  test('read: own 200; another patient’s 404, indistinguishable from a resource that never existed', async () => {
    assertStatus(await call(base, 'GET', 'Observation/lab-a', { token: tokens.paula }), 200, 'own');
    const other = await call(base, 'GET', 'Observation/lab-b', { token: tokens.paula });
    const never = await call(base, 'GET', 'Observation/no-such', { token: tokens.paula });
    assertStatus(other, 404, 'other');
    assert.equal(other.text.replace('lab-b', 'X'), never.text.replace('no-such', 'X'));
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: tokens.paula }), 200, 'own Patient');
    assertStatus(await call(base, 'GET', 'Patient/pat-b', { token: tokens.paula }), 404, 'other Patient');
  });

  test('vread and instance history of another patient’s resource: 404', async () => {
    assertStatus(await call(base, 'GET', 'Observation/lab-b/_history/1', { token: tokens.paula }), 404, 'vread');
    assertStatus(await call(base, 'GET', 'Observation/lab-b/_history', { token: tokens.paula }), 404, 'history');
    assertStatus(await call(base, 'GET', 'Observation/lab-a/_history/1', { token: tokens.paula }), 200, 'own vread');
  });

  test('a deleted resource of another patient is 404, not 410', async () => {
    await call(base, 'PUT', 'Observation/gone-b', { token: tokens.system }, { ...observation('pat-b', 'laboratory'), id: 'gone-b' });
    await call(base, 'PUT', 'Observation/gone-a', { token: tokens.system }, { ...observation('pat-a', 'laboratory'), id: 'gone-a' });
    await call(base, 'DELETE', 'Observation/gone-b', { token: tokens.system });
    await call(base, 'DELETE', 'Observation/gone-a', { token: tokens.system });
    assertStatus(await call(base, 'GET', 'Observation/gone-b', { token: tokens.paula }), 404, 'other, deleted');
    assertStatus(await call(base, 'GET', 'Observation/gone-a', { token: tokens.paula }), 410, 'own, deleted');
  });

  test('history filters out versions that were outside reach, and drops total', async () => {
    await call(base, 'PUT', 'Observation/moved', { token: tokens.system }, { ...observation('pat-b', 'laboratory'), id: 'moved' });
    await call(base, 'PUT', 'Observation/moved', { token: tokens.system }, { ...observation('pat-a', 'laboratory'), id: 'moved' });
    const full = assertStatus(await call(base, 'GET', 'Observation/moved/_history', { token: tokens.system }), 200, 'system');
    assert.equal(full.total, 2);
    const own = assertStatus(await call(base, 'GET', 'Observation/moved/_history', { token: tokens.paula }), 200, 'patient');
    assert.deepEqual(own.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId), ['2']);
    assert.equal(own.total, undefined, 'total would count the hidden version');
    assertStatus(await call(base, 'GET', 'Observation/moved/_history/1', { token: tokens.paula }), 404, 'vread of the hidden version');
  });

  test('system history needs a * scope', async () => {
    assertStatus(await call(base, 'GET', '_history', { token: tokens.paula }), 403, 'system history with Observation and Patient scopes');
    assertStatus(await call(base, 'GET', '_history', { token: tokens.paulaV1 }), 200, 'patient/*.read');
  });

  test('search is confined to the launch patient’s compartment: matches, totals and includes', async () => {
    const subjects = (bundle: { entry?: { resource: { subject?: { reference: string } }; search: { mode: string } }[] }) =>
      (bundle.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.subject?.reference);
    const all = await call(base, 'GET', 'Observation?_count=100&_total=accurate', { token: tokens.paula });
    assertStatus(all, 200, 'search');
    assert.ok(subjects(all.body).length >= 2, 'own observations found');
    assert.deepEqual(new Set(subjects(all.body)), new Set(['Patient/pat-a']), 'only the launch patient');
    assert.equal(all.body.total, subjects(all.body).length, 'total counts only what the caller may see');
    const others = await call(base, 'GET', 'Observation?subject=Patient/pat-b&_total=accurate', { token: tokens.paula });
    assertStatus(others, 200, 'search for another patient');
    assert.equal(others.body.total, 0);
    assert.equal(others.body.entry, undefined);
    const patients = await call(base, 'GET', 'Patient', { token: tokens.paula });
    assert.deepEqual(patients.body.entry.map((e: { resource: { id: string } }) => e.resource.id), ['pat-a']);
    const included = await call(base, 'GET', 'Observation?_include=Observation:subject', { token: tokens.paula });
    const includedIds = included.body.entry.filter((e: { search: { mode: string } }) => e.search.mode === 'include').map((e: { resource: { id: string } }) => e.resource.id);
    assert.deepEqual(includedIds, ['pat-a']);
    assertStatus(await call(base, 'GET', 'Patient/pat-a/Observation', { token: tokens.paula }), 200, 'own compartment');
    const other = await call(base, 'GET', 'Patient/pat-b/Observation', { token: tokens.paula });
    const unknown = await call(base, 'GET', 'Patient/nobody/Observation', { token: tokens.paula });
    assertStatus(other, 404, 'another patient’s compartment');
    assert.equal(other.text.replace('pat-b', 'X'), unknown.text.replace('nobody', 'X'), 'answered as for a patient that does not exist');
  });

  test('writes: only within the compartment, and never moving a resource out of it', async () => {
    assertStatus(await call(base, 'PUT', 'Observation/lab-b', { token: tokens.paula }, { ...observation('pat-a', 'laboratory'), id: 'lab-b' }), 404, 'overwrite other');
    assert.equal(await subjectOf('lab-b'), 'Patient/pat-b');
    assertStatus(await call(base, 'PUT', 'Observation/lab-a', { token: tokens.paula }, { ...observation('pat-b', 'laboratory'), id: 'lab-a' }), 403, 'move own away');
    assert.equal(await subjectOf('lab-a'), 'Patient/pat-a');
    assertStatus(await call(base, 'POST', 'Observation', { token: tokens.paula }, observation('pat-b', 'laboratory')), 403, 'create for other');
    assertStatus(await call(base, 'POST', 'Observation', { token: tokens.paula }, observation('pat-a', 'laboratory')), 201, 'create for self');
    assertStatus(await call(base, 'DELETE', 'Observation/lab-b', { token: tokens.paula }), 404, 'delete other');
    assertStatus(await call(base, 'GET', 'Observation/lab-b', { token: tokens.system }), 200, 'still there');
    const patch = (id: string, reference: string) =>
      call(base, 'PATCH', `Observation/${id}`, { token: tokens.paula, headers: { 'content-type': 'application/json-patch+json' } }, [{ op: 'replace', path: '/subject/reference', value: reference }]);
    assertStatus(await patch('lab-b', 'Patient/pat-a'), 404, 'patch other');
    assertStatus(await patch('lab-a', 'Patient/pat-b'), 403, 'patch own away');
    assert.equal(await subjectOf('lab-a'), 'Patient/pat-a');
  });

  test('v1 patient/*.read: reads in the compartment, no writes', async () => {
    assertStatus(await call(base, 'GET', 'Observation/vital-a', { token: tokens.paulaV1 }), 200, 'read');
    assertStatus(await call(base, 'GET', 'Patient/pat-b', { token: tokens.paulaV1 }), 404, 'other patient');
    assertStatus(await call(base, 'POST', 'Observation', { token: tokens.paulaV1 }, observation('pat-a', 'laboratory')), 403, 'write');
  });

  test('v2 search-restricted scope patient/Observation.rs?category=laboratory applies to reads', async () => {
    assertStatus(await call(base, 'GET', 'Observation/lab-a', { token: tokens.paulaLab }), 200, 'laboratory');
    assertStatus(await call(base, 'GET', 'Observation/vital-a', { token: tokens.paulaLab }), 404, 'vital-signs');
    assertStatus(await call(base, 'GET', 'Observation/lab-b', { token: tokens.paulaLab }), 404, 'other patient');
    assertStatus(await call(base, 'POST', 'Observation', { token: tokens.paulaLab }, observation('pat-a', 'laboratory')), 403, 'no c');
  });

  test('v2 search-restricted scope: a search returns only what the scope’s criteria match', async () => {
    const res = await call(base, 'GET', 'Observation?_count=100', { token: tokens.paulaLab });
    assertStatus(res, 200, 'search');
    const ids = res.body.entry.map((e: { resource: { id: string } }) => e.resource.id);
    assert.ok(ids.includes('lab-a'));
    assert.ok(!ids.includes('vital-a'), 'vital-signs are outside the scope');
    assert.ok(!ids.includes('lab-b'), 'another patient');
  });
});

describe('user/ and system/ scopes', () => {
  test('user/ scopes reach resources that refer to the fhirUser', async () => {
    assertStatus(await call(base, 'GET', 'Observation/rita-b', { token: tokens.rita }), 200, 'performer is rita');
    assertStatus(await call(base, 'GET', 'Observation/lab-b', { token: tokens.rita }), 404, 'unrelated');
  });

  test('a Practitioner fhirUser (an admin type by default) reaches every resource its scopes name', async () => {
    assertStatus(await call(base, 'GET', 'Observation/lab-b', { token: tokens.alice }), 200, 'any Observation');
    assertStatus(await call(base, 'GET', 'Patient/pat-b', { token: tokens.alice }), 403, 'no Patient scope');
  });

  test('system/ scopes name types and permissions', async () => {
    const token = await idp.clientCredentialsToken('system/Patient.read');
    assertStatus(await call(base, 'GET', 'Patient/pat-b', { token }), 200, 'read');
    assertStatus(await call(base, 'PUT', 'Patient/pat-b', { token }, { resourceType: 'Patient', id: 'pat-b' }), 403, 'update');
    assertStatus(await call(base, 'GET', 'Observation/lab-b', { token }), 403, 'other type');
  });
});

describe('no escalation through Bundles: every entry is checked as its own request', () => {
  test('batch: entries outside reach fail alone, with the same statuses as direct requests', async () => {
    const res = await call(base, 'POST', '', { token: tokens.paula }, {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Observation/lab-b' } },
        { request: { method: 'PUT', url: 'Observation/lab-b' }, resource: { ...observation('pat-a', 'laboratory'), id: 'lab-b' } },
        { request: { method: 'POST', url: 'Observation' }, resource: observation('pat-b', 'laboratory') },
        { request: { method: 'DELETE', url: 'Observation/lab-b' } },
        { request: { method: 'GET', url: 'Patient/pat-b' } },
        { request: { method: 'GET', url: 'Observation/lab-a' } },
      ],
    });
    const bundle = assertStatus(res, 200, 'batch');
    assert.deepEqual(bundle.entry.map(entryStatus), [404, 404, 403, 404, 404, 200]);
    assert.equal(await subjectOf('lab-b'), 'Patient/pat-b');
  });

  test('transaction: one entry outside reach fails the whole transaction and nothing is written', async () => {
    const before = (await call(base, 'GET', 'Observation/_history?_count=1', { token: tokens.system })).body.total;
    const attempt = async (entries: unknown[], status: number, context: string) =>
      assertStatus(await call(base, 'POST', '', { token: tokens.paula }, { resourceType: 'Bundle', type: 'transaction', entry: entries }), status, context);
    const own = { fullUrl: 'urn:uuid:6d7a3c9e-0000-4000-8000-000000000001', request: { method: 'POST', url: 'Observation' }, resource: observation('pat-a', 'laboratory') };
    await attempt([own, { request: { method: 'PUT', url: 'Observation/lab-b' }, resource: { ...observation('pat-a', 'laboratory'), id: 'lab-b' } }], 404, 'overwrite');
    await attempt([own, { request: { method: 'POST', url: 'Observation' }, resource: observation('pat-b', 'laboratory') }], 403, 'create for other');
    await attempt([own, { request: { method: 'GET', url: 'Observation/lab-b' } }], 404, 'read other');
    const after = (await call(base, 'GET', 'Observation/_history?_count=1', { token: tokens.system })).body.total;
    assert.equal(after, before, 'no version was written');
    assertStatus(await call(base, 'POST', '', { token: tokens.paula }, { resourceType: 'Bundle', type: 'transaction', entry: [own] }), 200, 'own only');
  });

  test('a Bundle without any clinical scope is refused as a whole', async () => {
    const token = await idp.sign({ scope: 'openid' });
    assertStatus(await call(base, 'POST', '', { token }, { resourceType: 'Bundle', type: 'batch', entry: [] }), 403, 'no scopes');
  });
});
