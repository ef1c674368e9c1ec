/**
 * Type and system history for SMART callers limited to some resources, over HTTP with tokens
 * from the test OpenID provider: only the versions instance history would show them (the
 * resource within reach by its current or last content, each version by its own content), in
 * the store's order, paged with exact `next` links, and never a `total` counting hidden versions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from '../http/helpers.js';
import { assertStatus, call, observation } from './support/client.js';
import { useProviderAndKiln } from './support/fixture.js';

let base: string;
const tokens: Record<string, string> = {};
const rita = { performer: [{ reference: 'RelatedPerson/rita' }] };

useProviderAndKiln(async (started) => {
  ({ base } = started);
  const { idp } = started;
  const login = async (account: string, scope: string) => (await idp.authorizationCodeTokens(account, scope)).accessToken;
  tokens.system = await idp.clientCredentialsToken('system/*.*');
  tokens.paula = await login('paula', 'patient/*.rs');
  tokens.paulaObservations = await login('paula', 'patient/Observation.rs');
  tokens.rita = await login('rita', 'user/Observation.rs');
  tokens.ritaAll = await login('rita', 'user/*.rs');
  const write = async (method: 'PUT' | 'DELETE', resource: Record<string, unknown> & { id: string }, type = 'Observation') => {
    const res = await call(base, method, `${type}/${resource.id}`, { token: tokens.system }, method === 'PUT' ? { resourceType: type, ...resource } : undefined);
    assert.ok(res.status < 300, `seed ${method} ${resource.id}: ${res.status} ${res.text.slice(0, 200)}`);
  };
  await write('PUT', { id: 'pat-a' }, 'Patient');
  await write('PUT', { id: 'pat-b' }, 'Patient');
  await write('PUT', { id: 'rita', patient: { reference: 'Patient/pat-b' } }, 'RelatedPerson');
  await write('PUT', { ...observation('pat-a', 'laboratory'), id: 'a1' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'b1' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'moved-in' });
  await write('PUT', { ...observation('pat-a', 'laboratory'), id: 'moved-in' });
  await write('PUT', { ...observation('pat-a', 'laboratory'), id: 'moved-out' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'moved-out' });
  await write('PUT', { ...observation('pat-a', 'laboratory'), id: 'gone-a' });
  await write('DELETE', { id: 'gone-a' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'gone-b' });
  await write('DELETE', { id: 'gone-b' });
  await write('PUT', { ...observation('pat-b', 'laboratory', rita), id: 'rita-b' });
  await write('PUT', { ...observation('pat-b', 'laboratory', rita), id: 'rita-was' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'rita-was' });
  await write('PUT', { ...observation('pat-b', 'laboratory'), id: 'rita-now' });
  await write('PUT', { ...observation('pat-b', 'laboratory', rita), id: 'rita-now' });
  for (let n = 1; n <= 5; n++) await write('PUT', { ...observation('pat-a', 'vital-signs'), id: `p${n}` });
});

/** `Type/id/version` of a history Bundle's entries, in order. */
function versions(bundle: Json): string[] {
  return (bundle.entry ?? []).map((entry: { fullUrl: string; response: { etag: string } }) => {
    const [type, id] = entry.fullUrl.slice(base.length + 1).split('/');
    return `${type}/${id}/${entry.response.etag.replace(/^W\/"|"$/g, '')}`;
  });
}

/** Every page from `path` on, following `next` links. */
async function pages(path: string, token: string): Promise<Json[]> {
  const all: Json[] = [];
  let url: string | undefined = path;
  while (url !== undefined && all.length < 50) {
    const page = assertStatus(await call(base, 'GET', url, { token }), 200, url);
    all.push(page);
    url = page.link.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return all;
}

/** The whole history as the system sees it, kept to `expected` (order included). */
async function systemHistoryOf(path: string, expected: string[]): Promise<string[]> {
  const all = await pages(`${path}?_count=1000`, tokens.system);
  return all.flatMap(versions).filter((version) => expected.includes(version));
}

const paulaObservationVersions = [
  'Observation/a1/1',
  'Observation/moved-in/2',
  'Observation/gone-a/1',
  'Observation/gone-a/2',
  ...[1, 2, 3, 4, 5].map((n) => `Observation/p${n}/1`),
];

describe('type and system history of a patient-limited caller', () => {
  test('type history: own versions only, each judged by its own content, in order, without total', async () => {
    const expected = await systemHistoryOf('Observation/_history', paulaObservationVersions);
    assert.equal(expected.length, paulaObservationVersions.length);
    const own = assertStatus(await call(base, 'GET', 'Observation/_history?_count=100', { token: tokens.paula }), 200, 'type history');
    assert.deepEqual(versions(own), expected);
    assert.equal(own.total, undefined, 'a total would count hidden versions');
    const full = assertStatus(await call(base, 'GET', 'Observation/_history?_count=1', { token: tokens.system }), 200, 'system/*.*');
    assert.ok(full.total > paulaObservationVersions.length, 'the system scope sees every version, with total');
  });

  test('type history agrees with instance history, resource by resource', async () => {
    for (const id of ['a1', 'b1', 'moved-in', 'moved-out', 'gone-a', 'gone-b']) {
      const instance = await call(base, 'GET', `Observation/${id}/_history`, { token: tokens.paula });
      const listed = paulaObservationVersions.filter((version) => version.startsWith(`Observation/${id}/`));
      if (listed.length === 0) assertStatus(instance, 404, `instance history of ${id}`);
      else assert.deepEqual(versions(assertStatus(instance, 200, `instance history of ${id}`)).sort(), listed.sort(), id);
    }
  });

  test('paging: short pages allowed, every visible version exactly once, next links exact', async () => {
    const all = await pages('Observation/_history?_count=2', tokens.paula);
    for (const page of all) {
      assert.ok((page.entry ?? []).length <= 2, 'at most _count entries');
      assert.equal(page.total, undefined);
    }
    assert.deepEqual(all.flatMap(versions), await systemHistoryOf('Observation/_history', paulaObservationVersions));
  });

  test('system history: every type within reach (patient/*.rs), and 403 without a * scope', async () => {
    const expected = await systemHistoryOf('_history', [...paulaObservationVersions, 'Patient/pat-a/1']);
    const all = await pages('_history?_count=3', tokens.paula);
    assert.deepEqual(all.flatMap(versions), expected);
    assertStatus(await call(base, 'GET', '_history', { token: tokens.paulaObservations }), 403, 'patient/Observation.rs');
  });
});

describe('type and system history of a user-limited caller', () => {
  test('only versions that referred to the user, of resources that still do', async () => {
    const expected = await systemHistoryOf('Observation/_history', ['Observation/rita-b/1', 'Observation/rita-now/2']);
    assert.equal(expected.length, 2);
    const res = assertStatus(await call(base, 'GET', 'Observation/_history', { token: tokens.rita }), 200, 'type history');
    assert.deepEqual(versions(res), expected);
    const system = await pages('_history?_count=2', tokens.ritaAll);
    assert.deepEqual(system.flatMap(versions), await systemHistoryOf('_history', [...expected, 'RelatedPerson/rita/1']));
  });
});
