/**
 * Search by SMART callers limited to some resources of a type, over HTTP with tokens from the
 * test OpenID provider: user/ scopes of a non-admin fhirUser, several alternative reaches
 * (two v2 restrictions, patient/ and user/ together), chains and _has through other types,
 * _include/_revinclude, compartment search and $everything. Every assertion is on exact result
 * sets and totals, and a read never disagrees with a search about the same resource.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { http, type Json } from '../http/helpers.js';
import { assertStatus, call, observation } from './support/client.js';
import { useProviderAndKiln } from './support/fixture.js';

let base: string;
const tokens: Record<string, string> = {};

/** Observations by id: which patient they are about, and what else they say. */
const OBSERVATIONS: Record<string, Record<string, unknown>> = {
  'lab-a': observation('pat-a', 'laboratory'),
  'vital-a': observation('pat-a', 'vital-signs'),
  'exam-a': observation('pat-a', 'exam'),
  // About pat-a, performed by pat-b: in both compartments.
  'perf-a': observation('pat-a', 'laboratory', { performer: [{ reference: 'Patient/pat-b' }] }),
  'lab-b': observation('pat-b', 'laboratory'),
  'vital-b': observation('pat-b', 'vital-signs'),
  'rita-b': observation('pat-b', 'laboratory', { performer: [{ reference: 'RelatedPerson/rita' }] }),
  // Refers to rita only where no search parameter looks: not "referring to the user".
  'rita-ext': observation('pat-b', 'laboratory', { extension: [{ url: 'urn:kiln:test', valueReference: { reference: 'RelatedPerson/rita' } }] }),
  'rosa-b': observation('pat-b', 'vital-signs', { performer: [{ reference: 'RelatedPerson/rosa' }] }),
  // About pat-b, with pat-a only as its focus (not a Patient compartment parameter).
  'focus-b': observation('pat-b', 'laboratory', { focus: [{ reference: 'Patient/pat-a' }] }),
};
const ALL_OBSERVATIONS = Object.keys(OBSERVATIONS);

useProviderAndKiln(async (started) => {
  ({ base } = started);
  const { idp } = started;
  const login = async (account: string, scope: string) => (await idp.authorizationCodeTokens(account, scope)).accessToken;
  tokens.system = await idp.clientCredentialsToken('system/*.*');
  tokens.rita = await login('rita', 'user/Observation.rs');
  tokens.ritaAll = await login('rita', 'user/*.rs');
  tokens.paula = await login('paula', 'patient/Observation.rs patient/Patient.rs');
  tokens.paulaAll = await login('paula', 'patient/*.rs');
  tokens.paulaObservations = await login('paula', 'patient/Observation.rs');
  tokens.paulaTwo = await login('paula', 'patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs patient/Patient.rs');
  tokens.paulaMixed = await login('paula', 'patient/Observation.rs patient/Patient.rs system/Encounter.rs');
  tokens.rosa = await login('rosa', 'patient/Observation.rs user/Observation.rs patient/Patient.rs');
  const put = async (resource: Record<string, unknown>) =>
    assertStatus(await call(base, 'PUT', `${resource.resourceType}/${resource.id}`, { token: tokens.system }, resource), 201, `seed ${resource.id}`);
  await put({ resourceType: 'Patient', id: 'pat-a', name: [{ family: 'Smith' }], identifier: [{ system: 'urn:mrn', value: 'A' }] });
  await put({ resourceType: 'Patient', id: 'pat-b', name: [{ family: 'Jones' }], identifier: [{ system: 'urn:mrn', value: 'B' }] });
  await put({ resourceType: 'RelatedPerson', id: 'rita', patient: { reference: 'Patient/pat-b' } });
  await put({ resourceType: 'RelatedPerson', id: 'rosa', patient: { reference: 'Patient/pat-a' } });
  await put({ resourceType: 'Encounter', id: 'enc-a', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/pat-a' } });
  await put({ resourceType: 'Encounter', id: 'enc-b', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/pat-b' } });
  for (const [id, resource] of Object.entries(OBSERVATIONS)) await put({ ...resource, id });
});

type Entry = { resource: { resourceType: string; id: string }; search?: { mode: string } };

const get = (path: string, token: string) => call(base, 'GET', path, { token });

/** `Type/id` of the entries in `mode`, sorted. */
function found(bundle: Json, mode = 'match'): string[] {
  return ((bundle.entry ?? []) as Entry[]).filter((e) => e.search?.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

const obs = (...ids: string[]) => ids.map((id) => `Observation/${id}`).sort();

/** Follows `next` links from `path` and returns every page. */
async function pages(path: string, token: string): Promise<Json[]> {
  const all: Json[] = [];
  let url: string | undefined = path;
  while (url !== undefined && all.length < 20) {
    const page = assertStatus(await get(url, token), 200, url);
    all.push(page);
    url = page.link.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  return all;
}

/** The search's matches and total, asserted equal to `expected`; reads agree for every Observation. */
async function expectSearch(path: string, token: string, expected: string[], context: string): Promise<void> {
  const bundle = assertStatus(await get(`${path}${path.includes('?') ? '&' : '?'}_total=accurate&_count=100`, token), 200, context);
  assert.deepEqual(found(bundle), expected, `${context}: matches`);
  assert.equal(bundle.total, expected.length, `${context}: total`);
}

/** A read agrees with a search over every seeded Observation: 200 exactly for those the search finds. */
async function expectReadsAgree(token: string, searched: string[], context: string): Promise<void> {
  for (const id of ALL_OBSERVATIONS) {
    const res = await get(`Observation/${id}`, token);
    assert.equal(res.status, searched.includes(`Observation/${id}`) ? 200 : 404, `${context}: read of ${id}`);
  }
}

describe('user/ scopes of a non-admin fhirUser: resources that refer to the user, or are the user', () => {
  test('type search, POST _search and _summary=count find exactly what reads allow', async () => {
    await expectSearch('Observation', tokens.rita, obs('rita-b'), 'GET Observation');
    await expectSearch('Observation?subject=Patient/pat-b', tokens.rita, obs('rita-b'), 'another patient’s, among them');
    await expectSearch('Observation?category=vital-signs', tokens.rita, [], 'criteria outside reach');
    await expectReadsAgree(tokens.rita, obs('rita-b'), 'rita');
    const posted = await http(base, 'POST', 'Observation/_search', {
      rawBody: 'category=laboratory&_total=accurate',
      headers: { authorization: `Bearer ${tokens.rita}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.deepEqual(found(assertStatus(posted, 200, 'POST _search')), obs('rita-b'));
    assert.equal(posted.body.total, 1);
    const count = assertStatus(await get('Observation?_summary=count', tokens.rita), 200, '_summary=count');
    assert.equal(count.total, 1);
    assert.equal(count.entry, undefined);
  });

  test('system search with _type covers the user’s own resource; types without a scope are out', async () => {
    await expectSearch('?_type=Observation,RelatedPerson', tokens.ritaAll, [...obs('rita-b'), 'RelatedPerson/rita'], 'user/*.rs');
    await expectSearch('?_type=Patient,Encounter', tokens.ritaAll, [], 'nothing there refers to rita');
    const posted = await http(base, 'POST', '_search', {
      rawBody: '_type=Observation,Patient&_total=accurate',
      headers: { authorization: `Bearer ${tokens.ritaAll}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.deepEqual(found(assertStatus(posted, 200, 'POST /_search')), obs('rita-b'));
    assert.equal(posted.body.total, 1);
    assertStatus(await get('?_type=Observation', tokens.rita), 403, 'system search needs a * scope');
  });

  test('compartment search: only the compartments of resources the user may read', async () => {
    await expectSearch('RelatedPerson/rita/Observation', tokens.ritaAll, obs('rita-b'), 'own compartment');
    await expectSearch('RelatedPerson/rita/*', tokens.ritaAll, obs('rita-b'), 'own compartment, every type');
    const other = await get('Patient/pat-b/Observation', tokens.ritaAll);
    const unknown = await get('Patient/nobody/Observation', tokens.ritaAll);
    assertStatus(other, 404, 'pat-b does not refer to rita');
    assert.equal(other.text.replace('pat-b', 'X'), unknown.text.replace('nobody', 'X'), 'as if it did not exist');
    assertStatus(await get('RelatedPerson/rita/Observation', tokens.rita), 403, 'no permission to read RelatedPerson');
  });
});

describe('several alternative reaches: the search runs with an OR of them', () => {
  test('two v2 restrictions on one type: laboratory or vital-signs of the launch patient', async () => {
    const expected = obs('lab-a', 'perf-a', 'vital-a');
    await expectSearch('Observation', tokens.paulaTwo, expected, 'both categories');
    await expectSearch('Observation?category=exam', tokens.paulaTwo, [], 'a third category');
    await expectSearch('Observation?category=vital-signs', tokens.paulaTwo, obs('vital-a'), 'one of them');
    await expectReadsAgree(tokens.paulaTwo, expected, 'paulaTwo');
  });

  test('paging through an OR: every match once, and the same total on every page', async () => {
    const all = await pages('Observation?_count=1&_total=accurate', tokens.paulaTwo);
    assert.equal(all.length, 3);
    for (const page of all) assert.equal(page.total, 3);
    assert.deepEqual(all.flatMap((page) => found(page)).sort(), obs('lab-a', 'perf-a', 'vital-a'));
  });

  test('patient/ and user/ scopes together: the launch patient’s compartment or what refers to the user', async () => {
    const expected = obs('exam-a', 'lab-a', 'perf-a', 'rosa-b', 'vital-a');
    await expectSearch('Observation', tokens.rosa, expected, 'rosa');
    await expectSearch('Observation?subject=Patient/pat-b', tokens.rosa, obs('rosa-b'), 'pat-b’s, among them');
    await expectReadsAgree(tokens.rosa, expected, 'rosa');
    await expectSearch('Patient', tokens.rosa, ['Patient/pat-a'], 'Patient: the launch patient');
  });
});

describe('chains and _has only look at what the caller may search of the types they pass through', () => {
  test('a chain through Patient sees the launch patient only', async () => {
    await expectSearch('Observation?performer:Patient.name=jones', tokens.system, obs('perf-a'), 'system');
    await expectSearch('Observation?performer:Patient.name=jones', tokens.paula, [], 'pat-b’s name stays unknown');
    await expectSearch('Observation?subject:Patient.name=smith', tokens.paula, obs('exam-a', 'lab-a', 'perf-a', 'vital-a'), 'own name');
    await expectSearch('Observation?subject:Patient.identifier=urn:mrn|B', tokens.paula, [], 'another patient’s identifier');
  });

  test('a chain for user/ scopes: only Patients that refer to the user', async () => {
    await expectSearch('Observation?subject:Patient.name=jones', tokens.system, obs('focus-b', 'lab-b', 'rita-b', 'rita-ext', 'rosa-b', 'vital-b'), 'system');
    await expectSearch('Observation?subject:Patient.name=jones', tokens.ritaAll, [], 'pat-b does not refer to rita');
    assertStatus(await get('Observation?subject:Patient.name=jones', tokens.rita), 403, 'no Patient scope');
  });

  test('_has only counts the sources within reach', async () => {
    await expectSearch('Patient?_has:Observation:focus:category=laboratory', tokens.system, ['Patient/pat-a'], 'system');
    await expectSearch('Patient?_has:Observation:focus:category=laboratory', tokens.paula, [], 'the focusing Observation is pat-b’s');
    await expectSearch('Patient?_has:Observation:subject:category=exam', tokens.paula, ['Patient/pat-a'], 'own Observations count');
  });

  test('no permission to search a type a chain passes through: 403', async () => {
    assertStatus(await get('Observation?subject:Patient.name=smith', tokens.paulaObservations), 403, 'chain');
    assertStatus(await get('Patient?_has:Encounter:subject:status=finished', tokens.paula), 403, '_has');
  });
});

describe('_include and _revinclude: only resources the caller may read, each judged by its own type’s reach', () => {
  test('included resources outside reach are dropped, total counts matches only', async () => {
    const res = assertStatus(await get('Observation?_id=perf-a&_include=Observation:performer&_include=Observation:subject', tokens.paula), 200, 'include');
    assert.deepEqual(found(res), obs('perf-a'));
    assert.deepEqual(found(res, 'include'), ['Patient/pat-a'], 'pat-b (the performer) is outside reach');
    assert.equal(res.total, 1);
    const system = assertStatus(await get('Observation?_id=perf-a&_include=Observation:performer&_include=Observation:subject', tokens.system), 200, 'system');
    assert.deepEqual(found(system, 'include'), ['Patient/pat-a', 'Patient/pat-b']);
  });

  test('revinclude of resources outside reach, and of types without a read scope', async () => {
    const res = assertStatus(await get('Patient?_revinclude=Observation:focus', tokens.paula), 200, 'revinclude');
    assert.deepEqual(found(res), ['Patient/pat-a']);
    assert.deepEqual(found(res, 'include'), [], 'focus-b is pat-b’s');
    const rita = assertStatus(await get('Observation?_include=Observation:subject', tokens.rita), 200, 'no Patient scope');
    assert.deepEqual(found(rita, 'include'), []);
    const ritaAll = assertStatus(await get('Observation?_include=Observation:subject&_include=Observation:performer', tokens.ritaAll), 200, 'user/*.rs');
    assert.deepEqual(found(ritaAll, 'include'), ['RelatedPerson/rita'], 'pat-b does not refer to rita');
  });
});

describe('$everything within reach', () => {
  const everythingOf = async (path: string, token: string) => {
    const all = await pages(`${path}?_count=3`, token);
    return all.flatMap((page) => found(page)).sort();
  };
  const patA = ['Encounter/enc-a', ...obs('exam-a', 'lab-a', 'perf-a', 'vital-a'), 'Patient/pat-a', 'RelatedPerson/rosa'].sort();

  test('Patient/{id}/$everything: the compartment, limited per type, paged', async () => {
    assert.deepEqual(await everythingOf('Patient/pat-a/$everything', tokens.system), [...patA].sort(), 'system');
    assert.deepEqual(await everythingOf('Patient/pat-a/$everything', tokens.paulaAll), patA, 'patient/*.rs: all of it');
    assert.deepEqual(await everythingOf('Patient/pat-a/$everything', tokens.paula), ['Patient/pat-a', ...obs('exam-a', 'lab-a', 'perf-a', 'vital-a')].sort(), 'only the types with scopes');
    assert.deepEqual(await everythingOf('Patient/pat-a/$everything', tokens.paulaTwo), ['Patient/pat-a', ...obs('lab-a', 'perf-a', 'vital-a')].sort(), 'the categories of the scopes');
    const total = assertStatus(await get('Patient/pat-a/$everything?_count=2', tokens.paulaAll), 200, 'total');
    assert.equal(total.total, patA.length, 'total counts what the caller may see');
  });

  test('another patient: 404 as for none; no read permission on Patient: 403', async () => {
    const other = await get('Patient/pat-b/$everything', tokens.paulaAll);
    const unknown = await get('Patient/nobody/$everything', tokens.paulaAll);
    assertStatus(other, 404, 'another patient');
    assert.equal(other.text.replace('pat-b', 'X'), unknown.text.replace('nobody', 'X'));
    assertStatus(await get('Patient/pat-b/$everything', tokens.ritaAll), 404, 'pat-b does not refer to rita');
    assertStatus(await get('Patient/pat-a/$everything', tokens.paulaObservations), 403, 'no Patient scope');
  });

  test('Patient/$everything: every patient’s compartment, limited the same way', async () => {
    assert.deepEqual(await everythingOf('Patient/$everything', tokens.paulaAll), patA);
    assert.deepEqual(await everythingOf('Patient/$everything', tokens.ritaAll), ['RelatedPerson/rita', ...obs('rita-b')].sort());
  });

  test('a type without limits beside limited ones: all of it that is in the compartment', async () => {
    const own = ['Patient/pat-a', ...obs('exam-a', 'lab-a', 'perf-a', 'vital-a')];
    assert.deepEqual(await everythingOf('Patient/pat-a/$everything', tokens.paulaMixed), [...own, 'Encounter/enc-a'].sort());
    assert.deepEqual(await everythingOf('Patient/$everything', tokens.paulaMixed), [...own, 'Encounter/enc-a', 'Encounter/enc-b'].sort());
  });
});
