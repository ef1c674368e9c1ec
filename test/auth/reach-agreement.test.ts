/**
 * A read and a search never disagree about a resource: for many reaches (patient compartments,
 * "refers to the user", v2 criteria of every supported kind, unsupported criteria, several
 * alternatives), the single-resource check (src/auth/reach.ts) and the SQL limit
 * (src/auth/reach-search.ts → src/search/sql/access.ts) select exactly the same resources, on
 * every backend, for a search of each type and of all types, with exact totals and paging.
 * History under a limit lists the versions of exactly those resources, and of deleted ones.
 * The stores index with custom SearchParameters, and both checks apply criteria with that set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { searchLimit } from '../../src/auth/reach-search.js';
import { withinReach } from '../../src/auth/reach.js';
import type { Reach } from '../../src/auth/types.js';
import type { Resource } from '../../src/fhir/types.js';
import { searchParameterSet } from '../../src/search/parameter-set.js';
import { parseSearch } from '../../src/search/parse.js';
import type { Store } from '../../src/store/types.js';
import { EYE, eyeColour } from '../support/eye-colour.js';
import { type OpenedStore, storeBackends } from '../support/stores.js';

const BASE = 'http://kiln.test/fhir';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const category = (code: string) => [{ coding: [{ system: CATEGORY, code }] }];
const obs = (id: string, extra: Record<string, unknown>): Resource => ({ resourceType: 'Observation', id, status: 'final', code: { text: id }, ...extra });

/** Replaces R4's Patient `family`: only official names count. */
const officialFamily = { resourceType: 'SearchParameter', url: 'http://example.org/SearchParameter/official-family', code: 'family', base: ['Patient'], type: 'string', expression: "Patient.name.where(use='official').family" };
const PARAMETERS = searchParameterSet([eyeColour, officialFamily]);
const REGISTRY = PARAMETERS.registry;

const RESOURCES: Resource[] = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Johnson' }] },
  { resourceType: 'Patient', id: 'p2', name: [{ family: 'Jones' }], link: [{ other: { reference: 'Patient/p1' }, type: 'seealso' }] },
  { resourceType: 'Patient', id: 'p3', name: [{ family: 'Smith' }], extension: [{ url: EYE, valueString: 'brown' }] },
  { resourceType: 'Patient', id: 'p4', name: [{ use: 'official', family: 'Smithers' }], extension: [{ url: EYE, valueString: 'Blue' }] },
  { resourceType: 'RelatedPerson', id: 'r1', patient: { reference: 'Patient/p2' } },
  { resourceType: 'Practitioner', id: 'd1' },
  obs('o1', { subject: { reference: 'Patient/p1' }, category: category('laboratory') }),
  obs('o2', { subject: { reference: 'Patient/p2' }, category: category('vital-signs') }),
  obs('o3', { subject: { reference: 'Patient/p2' }, performer: [{ reference: 'RelatedPerson/r1' }], category: category('laboratory') }),
  obs('o4', { subject: { reference: `${BASE}/Patient/p1` }, category: category('vital-signs') }),
  obs('o5', { subject: { reference: 'Patient/p3' }, extension: [{ url: 'urn:x', valueReference: { reference: 'RelatedPerson/r1' } }] }),
  obs('o6', { subject: { reference: 'Patient/p3' }, focus: [{ reference: 'Patient/p1' }], status: 'amended' }),
  obs('o7', { subject: { reference: 'http://elsewhere.test/fhir/Patient/p1' }, performer: [{ reference: 'Practitioner/d1' }] }),
  obs('o8', { subject: { reference: 'Patient/p1' }, category: [{ coding: [{ code: 'laboratory' }] }] }),
  { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'laboratory' }] }] },
  { resourceType: 'Condition', id: 'c2', subject: { reference: 'Patient/p3' }, asserter: { reference: 'RelatedPerson/r1' } },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' }, participant: [{ individual: { reference: 'Practitioner/d1' } }] },
];
const TYPES = [...new Set(RESOURCES.map((r) => r.resourceType))];

const compartment = (id: string) => ({ kind: 'compartment' as const, compartment: 'Patient' as const, id });
const references = (reference: string) => ({ kind: 'references' as const, reference });
const matches = (query: string) => ({ kind: 'matches' as const, query: [...new URLSearchParams(query)] });

const REACHES: Record<string, Reach> = {
  'compartment p1': [[compartment('p1')]],
  'compartment p2': [[compartment('p2')]],
  'refers to RelatedPerson/r1': [[references('RelatedPerson/r1')]],
  'refers to Practitioner/d1': [[references('Practitioner/d1')]],
  'refers to Patient/p1': [[references('Patient/p1')]],
  'compartment p1, laboratory': [[compartment('p1'), matches('category=laboratory')]],
  'laboratory, any system': [[matches('category=laboratory')]],
  'laboratory, the category system': [[matches(`category=${CATEGORY}|laboratory`)]],
  'laboratory, no system': [[matches('category=|laboratory')]],
  'category system only': [[matches(`category=${CATEGORY}|`)]],
  'status with its code system': [[matches('status=http://hl7.org/fhir/observation-status|final')]],
  'laboratory or vital-signs': [[matches('category=laboratory,vital-signs')]],
  'subject Patient/p1': [[matches('subject=Patient/p1')]],
  'subject p1, bare id': [[matches('subject=p1')]],
  'name starts with jo': [[matches('name=jo')]],
  'two criteria ANDed': [[matches('category=laboratory&subject=Patient/p2')]],
  'custom parameter: eye-colour': [[matches('eye-colour=blue')]],
  'custom parameter replacing R4: official family': [[matches('family=smith')]],
  'custom parameter or compartment p1': [[matches('eye-colour=brown,blue')], [compartment('p1')]],
  'unsupported: a date': [[matches('date=ge2020')]],
  'unsupported: a modifier': [[matches('code:text=o1')]],
  'unsupported: an unknown parameter': [[matches('nonsense=1')]],
  'alternatives: compartment p1 or refers to r1': [[compartment('p1')], [references('RelatedPerson/r1')]],
  'alternatives: two restrictions': [[compartment('p1'), matches('category=laboratory')], [compartment('p2'), matches('category=vital-signs')]],
  'alternatives: one unsupported': [[matches('date=ge2020')], [references('Practitioner/d1')]],
  'no alternative': [],
};

const backends = storeBackends;

async function seed(store: Store): Promise<void> {
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const write = (resource: Resource, versionId: string, deleted = false) =>
    store.transaction(async (tx) => {
      const stamped = { ...resource, meta: { versionId, lastUpdated: new Date(clock).toISOString() } };
      await tx.writeVersion('', {
        resourceType: resource.resourceType,
        id: resource.id!,
        versionId,
        lastUpdated: new Date(clock++).toISOString(),
        deleted,
        method: deleted ? 'DELETE' : 'PUT',
        baseUrls: [BASE],
        ...(deleted ? {} : { json: JSON.stringify(stamped), resource: stamped }),
      });
    });
  for (const resource of RESOURCES) await write(resource, '1');
  await write(obs('gone', { subject: { reference: 'Patient/p1' } }), '1');
  await write(obs('gone', {}), '2', true);
}

const key = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id}`;

for (const [name, open] of backends) {
  describe(`reach: single resources and SQL agree, on ${name}`, () => {
    let opened: OpenedStore;
    before(async () => {
      opened = await open();
      await opened.store.useSearchParameters!(PARAMETERS);
      await seed(opened.store);
    });
    after(() => opened.cleanup());

    const search = async (reach: Reach, types: string[], count = 100, cursor?: string) =>
      opened.store.search('', {
        search: { ...parseSearch([], types.length === 1 ? types[0] : undefined, { registry: REGISTRY }), types },
        limit: searchLimit(reach, types.length > 0 ? types : undefined, BASE, REGISTRY),
        count,
        total: 'accurate',
        ...(cursor ? { cursor } : {}),
      });

    test('one type without limit beside limited ones ($everything): an OR that can only test candidates', async () => {
      const observations = searchLimit(REACHES['compartment p1'], ['Observation'], BASE, REGISTRY).anyOf.map((alternative) => ({ ...alternative, types: ['Observation'] }));
      const limit = { anyOf: [{ types: ['Encounter', 'Practitioner'], conditions: [] }, ...observations] };
      const expected = ['Encounter/e1', 'Practitioner/d1', ...RESOURCES.filter((r) => r.resourceType === 'Observation' && withinReach(REACHES['compartment p1'], r, BASE, REGISTRY)).map(key)].sort();
      const page = await opened.store.search('', { search: { ...parseSearch([], undefined, { registry: REGISTRY }), types: [] }, limit, count: 100, total: 'accurate' });
      assert.deepEqual(page.matches.map(key).sort(), expected);
      assert.equal(page.total, expected.length);
    });

    for (const [label, reach] of Object.entries(REACHES)) {
      test(label, async () => {
        const expected = RESOURCES.filter((r) => withinReach(reach, r, BASE, REGISTRY)).map(key).sort();
        const all = await search(reach, []);
        assert.deepEqual(all.matches.map(key).sort(), expected, 'every type');
        assert.equal(all.total, expected.length, 'total');
        for (const type of TYPES) {
          const one = await search(reach, [type]);
          assert.deepEqual(one.matches.map(key).sort(), expected.filter((k) => k.startsWith(`${type}/`)), type);
        }
        const two = await search(reach, ['Observation', 'Condition']);
        assert.deepEqual(two.matches.map(key).sort(), expected.filter((k) => /^(Observation|Condition)\//.test(k)), '_type=Observation,Condition');
        const paged: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await search(reach, [], 2, cursor);
          assert.equal(page.total, expected.length, 'total on every page');
          paged.push(...page.matches.map(key));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(paged.sort(), expected, 'paged');
        const history = await opened.store.history('', { limit: searchLimit(reach, undefined, BASE, REGISTRY), count: 100 });
        assert.deepEqual([...new Set(history.versions.map(key))].sort(), [...expected, 'Observation/gone'].sort(), 'history: live resources within reach, and deleted ones');
      });
    }
  });
}
