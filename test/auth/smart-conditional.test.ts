/**
 * Conditional create, update, patch and delete and conditional references by SMART callers
 * limited to some resources, over HTTP with tokens from the test OpenID provider: the criteria
 * are searched within what the caller may see, so a match outside reach behaves as no match,
 * and the write itself is then checked as any write (outside reach: 403).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryStatus } from '../http/helpers.js';
import { assertStatus, call, observation } from './support/client.js';
import { useProviderAndKiln } from './support/fixture.js';

let base: string;
const tokens: Record<string, string> = {};
const identified = (patient: string, value: string, extra: Record<string, unknown> = {}) =>
  observation(patient, 'laboratory', { identifier: [{ system: 'urn:obs', value }], ...extra });

useProviderAndKiln(async (started) => {
  ({ base } = started);
  const { idp } = started;
  const login = async (account: string, scope: string) => (await idp.authorizationCodeTokens(account, scope)).accessToken;
  tokens.system = await idp.clientCredentialsToken('system/*.*');
  tokens.paula = await login('paula', 'patient/Observation.cruds patient/Patient.rs');
  tokens.rita = await login('rita', 'user/Observation.cruds');
  const put = async (resource: Record<string, unknown>) =>
    assertStatus(await call(base, 'PUT', `${resource.resourceType}/${resource.id}`, { token: tokens.system }, resource), 201, `seed ${resource.id}`);
  await put({ resourceType: 'Patient', id: 'pat-a', identifier: [{ system: 'urn:mrn', value: 'A' }] });
  await put({ resourceType: 'Patient', id: 'pat-b', identifier: [{ system: 'urn:mrn', value: 'B' }] });
  for (const id of ['a-create', 'a-update', 'a-patch', 'a-delete']) await put({ ...identified('pat-a', id), id });
  for (const id of ['b-create', 'b-update', 'b-patch', 'b-delete', 'b-chain']) await put({ ...identified('pat-b', id), id });
  await put({ ...identified('pat-b', 'rita-b', { performer: [{ reference: 'RelatedPerson/rita' }] }), id: 'rita-b' });
});

const versionOf = async (id: string) => (await call(base, 'GET', `Observation/${id}`, { token: tokens.system })).body.meta.versionId;
const jsonPatch = (token: string) => ({ token, headers: { 'content-type': 'application/json-patch+json' } });
const setStatus = [{ op: 'replace', path: '/status', value: 'amended' }];

describe('conditional operations of a patient-limited caller', () => {
  test('If-None-Exist: an own match is returned; another patient’s is no match, so a create', async () => {
    const own = await call(base, 'POST', 'Observation', { token: tokens.paula, headers: { 'if-none-exist': 'identifier=urn:obs|a-create' } }, identified('pat-a', 'x'));
    assert.equal(assertStatus(own, 200, 'own match').id, 'a-create');
    const other = await call(base, 'POST', 'Observation', { token: tokens.paula, headers: { 'if-none-exist': 'identifier=urn:obs|b-create' } }, identified('pat-a', 'made-1'));
    const created = assertStatus(other, 201, 'no match within reach');
    assert.notEqual(created.id, 'b-create');
    assert.equal(created.subject.reference, 'Patient/pat-a');
    const outside = await call(base, 'POST', 'Observation', { token: tokens.paula, headers: { 'if-none-exist': 'identifier=urn:obs|b-create' } }, identified('pat-b', 'x'));
    assertStatus(outside, 403, 'the create itself is outside reach');
  });

  test('conditional update: an own match is updated; another patient’s is no match; its id is a 404, not a 409', async () => {
    assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|a-update', { token: tokens.paula }, identified('pat-a', 'a-update')), 200, 'own');
    assert.equal(await versionOf('a-update'), '2');
    const created = assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|b-update', { token: tokens.paula }, identified('pat-a', 'made-2')), 201, 'other: a create');
    assert.notEqual(created.id, 'b-update');
    assert.equal(await versionOf('b-update'), '1', 'never touched');
    const byId = await call(base, 'PUT', 'Observation?identifier=urn:obs|nothing', { token: tokens.paula }, { ...identified('pat-a', 'nothing'), id: 'b-update' });
    const fresh = await call(base, 'PUT', 'Observation?identifier=urn:obs|nothing', { token: tokens.paula }, { ...identified('pat-a', 'nothing'), id: 'never-seen' });
    assertStatus(byId, 404, 'an id outside reach in the body');
    assertStatus(fresh, 201, 'a fresh id in the body');
    assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|b-update', { token: tokens.paula }, identified('pat-b', 'b-update')), 403, 'a create outside reach');
  });

  test('conditional patch and delete: another patient’s match is no match', async () => {
    assertStatus(await call(base, 'PATCH', 'Observation?identifier=urn:obs|b-patch', jsonPatch(tokens.paula), setStatus), 404, 'patch other');
    assert.equal(await versionOf('b-patch'), '1');
    assertStatus(await call(base, 'PATCH', 'Observation?identifier=urn:obs|a-patch', jsonPatch(tokens.paula), setStatus), 200, 'patch own');
    assert.equal(await versionOf('a-patch'), '2');
    assertStatus(await call(base, 'DELETE', 'Observation?identifier=urn:obs|b-delete', { token: tokens.paula }), 200, 'delete other: nothing to delete');
    assertStatus(await call(base, 'GET', 'Observation/b-delete', { token: tokens.system }), 200, 'still there');
    assertStatus(await call(base, 'DELETE', 'Observation?identifier=urn:obs|a-delete', { token: tokens.paula }), 200, 'delete own');
    assertStatus(await call(base, 'GET', 'Observation/a-delete', { token: tokens.system }), 410, 'deleted');
  });

  test('criteria with a chain look only at Patients within reach', async () => {
    assertStatus(await call(base, 'DELETE', 'Observation?identifier=urn:obs|b-chain&subject:Patient.identifier=urn:mrn|B', { token: tokens.paula }), 200, 'nothing to delete');
    assertStatus(await call(base, 'GET', 'Observation/b-chain', { token: tokens.system }), 200, 'still there');
  });

  test('conditional references in a Bundle resolve within reach only', async () => {
    const referring = (mrn: string) => ({
      request: { method: 'POST', url: 'Observation' },
      resource: observation('pat-a', 'laboratory', { performer: [{ reference: `Patient?identifier=urn:mrn|${mrn}` }] }),
    });
    const batch = await call(base, 'POST', '', { token: tokens.paula }, { resourceType: 'Bundle', type: 'batch', entry: [referring('B'), referring('A')] });
    const entries = assertStatus(batch, 200, 'batch').entry;
    assert.deepEqual(entries.map(entryStatus), [412, 201], 'pat-b is no match; pat-a is');
    assert.doesNotMatch(JSON.stringify(entries[0]), /pat-b/);
    assert.equal(entries[1].resource.performer[0].reference, 'Patient/pat-a');
    const transaction = await call(base, 'POST', '', { token: tokens.paula }, { resourceType: 'Bundle', type: 'transaction', entry: [referring('B')] });
    assertStatus(transaction, 412, 'transaction');
    assert.doesNotMatch(transaction.text, /pat-b/);
  });

  test('in a transaction: ifNoneExist and conditional update URLs search within reach', async () => {
    const res = await call(base, 'POST', '', { token: tokens.paula }, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn:obs|b-delete' }, resource: identified('pat-a', 'tx-1') },
        { request: { method: 'PUT', url: 'Observation?identifier=urn:obs|b-chain' }, resource: identified('pat-a', 'tx-2') },
        { request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn:obs|a-create' }, resource: identified('pat-a', 'tx-3') },
      ],
    });
    const bundle = assertStatus(res, 200, 'transaction');
    assert.deepEqual(bundle.entry.map(entryStatus), [201, 201, 200]);
    assert.doesNotMatch(res.text, /b-delete|b-chain/);
    assert.equal(await versionOf('b-chain'), '1');
  });
});

describe('conditional operations of a user-limited caller', () => {
  test('criteria match only what refers to the user; writes must keep referring to it', async () => {
    const performer = { performer: [{ reference: 'RelatedPerson/rita' }] };
    assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|rita-b', { token: tokens.rita }, identified('pat-b', 'rita-b', performer)), 200, 'own match');
    assert.equal(await versionOf('rita-b'), '2');
    const created = assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|b-patch', { token: tokens.rita }, identified('pat-b', 'made-3', performer)), 201, 'no match within reach');
    assert.notEqual(created.id, 'b-patch');
    assertStatus(await call(base, 'PUT', 'Observation?identifier=urn:obs|nothing-here', { token: tokens.rita }, identified('pat-b', 'x')), 403, 'a create not referring to rita');
  });
});
