/**
 * SMART v2 scope criteria on a custom SearchParameter (config `search.parameters`), over HTTP with
 * tokens from the test OpenID provider: `Patient.rs?eye-colour=blue` is parsed and applied with
 * the server's parameter set, so it both allows (blue-eyed patients) and restricts (the others),
 * and reads, searches, chains, _has, _include and writes all agree on which Patients it reaches.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from '../http/helpers.js';
import { EYE, eyeColour } from '../support/eye-colour.js';
import { assertStatus, call, observation } from './support/client.js';
import { useProviderAndKiln } from './support/fixture.js';

let base: string;
const tokens: Record<string, string> = {};

const patient = (id: string, eyes?: string) => ({
  resourceType: 'Patient',
  id,
  name: [{ family: `Family-${id}` }],
  ...(eyes ? { extension: [{ url: EYE, valueString: eyes }] } : {}),
});

/** pat-a is paula's launch patient (test/auth/support/idp.ts). */
const PATIENTS = [patient('pat-a', 'Blue'), patient('pat-b', 'brown'), patient('pat-c', 'blue-grey'), patient('pat-d')];
const BLUE = ['Patient/pat-a', 'Patient/pat-c'];

useProviderAndKiln(
  async (started) => {
    ({ base } = started);
    const { idp } = started;
    tokens.system = await idp.clientCredentialsToken('system/*.*');
    tokens.blue = await idp.clientCredentialsToken('system/Patient.rs?eye-colour=blue');
    tokens.blueWithObservations = await idp.clientCredentialsToken('system/Patient.rs?eye-colour=blue system/Observation.cruds');
    tokens.blueWriter = await idp.clientCredentialsToken('system/Patient.cruds?eye-colour=blue');
    tokens.paulaBlue = (await idp.authorizationCodeTokens('paula', 'patient/Patient.rs?eye-colour=blue')).accessToken;
    tokens.paulaBrown = (await idp.authorizationCodeTokens('paula', 'patient/Patient.rs?eye-colour=brown')).accessToken;
    for (const resource of PATIENTS) assertStatus(await call(base, 'PUT', `Patient/${resource.id}`, { token: tokens.system }, resource), 201, `seed ${resource.id}`);
    for (const id of ['a', 'b', 'c', 'd']) {
      const resource = { ...observation(`pat-${id}`, 'laboratory'), id: `obs-${id}` };
      assertStatus(await call(base, 'PUT', `Observation/${resource.id}`, { token: tokens.system }, resource), 201, `seed obs-${id}`);
    }
  },
  () => ({}),
  { search: { parameters: [eyeColour] } },
);

type Entry = { resource: { resourceType: string; id: string }; search?: { mode: string } };

const get = (path: string, token: string) => call(base, 'GET', path, { token });

function found(bundle: Json, mode = 'match'): string[] {
  return ((bundle.entry ?? []) as Entry[]).filter((e) => e.search?.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

async function expectSearch(path: string, token: string, expected: string[], context: string): Promise<Json> {
  const bundle = assertStatus(await get(`${path}${path.includes('?') ? '&' : '?'}_total=accurate&_count=100`, token), 200, context);
  assert.deepEqual(found(bundle), [...expected].sort(), `${context}: matches`);
  assert.equal(bundle.total, expected.length, `${context}: total`);
  return bundle;
}

/** Reads of every seeded Patient: 200 exactly for `reachable`, 404 (as for an unknown id) otherwise. */
async function expectReads(token: string, reachable: string[], context: string): Promise<void> {
  for (const { id } of PATIENTS) {
    const res = await get(`Patient/${id}`, token);
    assert.equal(res.status, reachable.includes(`Patient/${id}`) ? 200 : 404, `${context}: read of ${id}`);
  }
}

describe('a v2 scope restricted by a custom search parameter', () => {
  test('system/Patient.rs?eye-colour=blue: blue-eyed patients, and only they, in reads and searches', async () => {
    await expectSearch('Patient', tokens.blue, BLUE, 'GET Patient');
    await expectSearch('Patient?eye-colour=blue-grey', tokens.blue, ['Patient/pat-c'], 'a narrower search');
    await expectSearch('Patient?eye-colour=brown', tokens.blue, [], 'criteria outside reach');
    await expectSearch('Patient?_id=pat-a,pat-b,pat-d', tokens.blue, ['Patient/pat-a'], 'ids outside reach');
    await expectReads(tokens.blue, BLUE, 'system blue');
    const count = assertStatus(await get('Patient?_summary=count', tokens.blue), 200, '_summary=count');
    assert.equal(count.total, 2);
    const unknown = await get('Patient/nobody', tokens.blue);
    const hidden = await get('Patient/pat-b', tokens.blue);
    assert.equal(hidden.text.replace('pat-b', 'X'), unknown.text.replace('nobody', 'X'), 'outside reach reads as unknown');
  });

  test('patient/Patient.rs?eye-colour=…: the launch patient only when the criterion holds for it', async () => {
    await expectSearch('Patient', tokens.paulaBlue, ['Patient/pat-a'], 'blue, pat-a is blue');
    await expectReads(tokens.paulaBlue, ['Patient/pat-a'], 'paula blue');
    await expectSearch('Patient', tokens.paulaBrown, [], 'brown, pat-a is not');
    await expectReads(tokens.paulaBrown, [], 'paula brown');
  });

  test('chains, _has and _include into Patient see only the blue-eyed patients', async () => {
    const token = tokens.blueWithObservations;
    await expectSearch('Observation?subject:Patient._id=pat-a,pat-b,pat-c,pat-d', token, ['Observation/obs-a', 'Observation/obs-c'], 'chain');
    await expectSearch('Observation?subject:Patient.eye-colour=b', token, ['Observation/obs-a', 'Observation/obs-c'], 'chain on the custom parameter');
    await expectSearch('Patient?_has:Observation:subject:category=laboratory', token, BLUE, '_has');
    const included = await expectSearch('Observation?_include=Observation:subject', token, ['Observation/obs-a', 'Observation/obs-b', 'Observation/obs-c', 'Observation/obs-d'], '_include');
    assert.deepEqual(found(included, 'include'), BLUE, 'included Patients');
  });

  test('system/Patient.cruds?eye-colour=blue: writes must keep the patient within the criterion', async () => {
    const token = tokens.blueWriter;
    assertStatus(await call(base, 'POST', 'Patient', { token }, patient('ignored', 'blue')), 201, 'create blue');
    assertStatus(await call(base, 'POST', 'Patient', { token }, patient('ignored', 'green')), 403, 'create green');
    assertStatus(await call(base, 'PUT', 'Patient/new-blue', { token }, patient('new-blue', 'blue')), 201, 'create blue by PUT');
    assertStatus(await call(base, 'PUT', 'Patient/new-blue', { token }, patient('new-blue', 'brown')), 403, 'update out of reach');
    assertStatus(await call(base, 'PUT', 'Patient/pat-b', { token }, patient('pat-b', 'blue')), 404, 'update a brown-eyed patient');
    assertStatus(await call(base, 'DELETE', 'Patient/pat-d', { token }), 404, 'delete a patient without eye colour');
    assertStatus(await call(base, 'DELETE', 'Patient/new-blue', { token }), 200, 'delete a blue-eyed patient');
  });
});
