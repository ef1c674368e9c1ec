/**
 * Parameters that read another parameter's index rows instead of storing their own
 * (src/search/shared-rows.ts): `Observation.patient` (subject's rows that point at a Patient),
 * `Observation.combo-code` (code's and component-code's rows), … Every way a parameter is
 * searched must give the answers it gave with rows of its own — black-box over HTTP, on the
 * backend the suite runs on. Spec: https://hl7.org/fhir/R4/search.html
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { useTestServer, type TestServer } from '../support/server.js';
import { create, get, unique, type Json } from './helpers.js';
import { createAll, ids, includedIds, matchIds, searchset } from './search-helpers.js';

let server: TestServer;
let base: string;
useTestServer((s) => ((server = s), (base = s.baseUrl)));

const LOINC = 'http://loinc.org';
const coding = (code: string) => ({ coding: [{ system: LOINC, code }] });
const ref = (resource: Json) => ({ reference: `${resource.resourceType}/${resource.id}` });

describe('parameters that share rows', () => {
  let tag: string;
  let q: string;
  let patient: Json;
  let group: Json;
  let practitioner: Json;
  let ofPatient: Json;
  let ofGroup: Json;
  let noSubject: Json;
  let condition: Json;
  let encounter: Json;

  before(async () => {
    tag = unique('shared');
    q = `_tag=${tag}`;
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    [patient, group, practitioner] = await createAll(base, [
      { resourceType: 'Patient', meta, name: [{ family: `Sharer${tag}` }] },
      { resourceType: 'Group', meta, type: 'person', actual: true },
      { resourceType: 'Practitioner', meta, name: [{ family: 'Doc' }] },
    ]);
    const observation = (extra: Json) => ({ resourceType: 'Observation', meta, status: 'final', ...extra });
    [ofPatient, ofGroup, noSubject] = await createAll(base, [
      observation({
        code: coding('85354-9'),
        subject: ref(patient),
        component: [{ code: coding('8480-6'), valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
      }),
      observation({ code: coding('8480-6'), subject: ref(group), valueQuantity: { value: 118, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }),
      observation({ code: coding('8867-4') }),
    ]);
    condition = await create(base, { resourceType: 'Condition', meta, subject: ref(patient), code: coding('x') });
    encounter = await create(base, { resourceType: 'Encounter', meta, status: 'finished', class: { code: 'AMB' }, subject: ref(patient), participant: [{ individual: ref(practitioner) }] });
  });

  test('a reference narrowed to Patients: by id, by Type/id, :missing', async () => {
    assert.deepEqual(await ids(base, `Observation?${q}&patient=${patient.id}`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&patient=Patient/${patient.id}`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&patient=${group.id}`), [], "a Group subject is not a patient");
    assert.deepEqual(await ids(base, `Observation?${q}&subject=Group/${group.id}`), [ofGroup.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&patient:missing=true`), [ofGroup.id, noSubject.id].sort());
    assert.deepEqual(await ids(base, `Observation?${q}&patient:missing=false`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Condition?${q}&patient=${patient.id}`), [condition.id]);
    assert.deepEqual(await ids(base, `Encounter?${q}&practitioner=Practitioner/${practitioner.id}`), [encounter.id]);
  });

  test('a union of two parameters: code or component code, value or component value', async () => {
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code=${LOINC}|8480-6`), [ofPatient.id, ofGroup.id].sort());
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code=85354-9`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code:missing=true`), []);
    assert.deepEqual(await ids(base, `Observation?${q}&combo-value-quantity=gt119`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&combo-value-quantity=lt119`), [ofGroup.id]);
    // A composite union: code-value-quantity's rows (on the resource) and component-code-value-quantity's (on each component).
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code-value-quantity=${LOINC}|8480-6$gt119`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code-value-quantity=8480-6$lt119`), [ofGroup.id]);
    assert.deepEqual(await ids(base, `Observation?${q}&combo-code-value-quantity=85354-9$gt0`), [], 'the panel code has no value of its own');
    const counted = await searchset(base, `Observation?${q}&combo-code=8480-6&_total=accurate&_count=1`);
    assert.equal(counted.total, 2);
    assert.equal(matchIds(counted).length, 1);
    const next = counted.link.find((l: Json) => l.relation === 'next');
    assert.ok(next, 'a next page');
    const second = await get(base, new URL(next.url).pathname.replace(/^\//, '') + new URL(next.url).search);
    assert.equal(second.status, 200);
    assert.deepEqual([...matchIds(counted), ...matchIds(second.body)].sort(), [ofPatient.id, ofGroup.id].sort(), 'each once across pages');
  });

  test('chains, _has, _include, _revinclude and compartments through a shared parameter', async () => {
    assert.deepEqual(await ids(base, `Observation?${q}&patient.family=Sharer${tag}`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Patient?${q}&_has:Observation:patient:code=85354-9`), [patient.id]);
    assert.deepEqual(await ids(base, `Patient?${q}&_has:Observation:patient:code=8480-6`), [], "the Group's observation refers to no patient");
    const included = await searchset(base, `Observation?${q}&_include=Observation:patient`);
    assert.deepEqual(includedIds(included), [patient.id]);
    const reverse = await searchset(base, `Patient?_id=${patient.id}&_revinclude=Observation:patient&_revinclude=Condition:patient`);
    assert.deepEqual(includedIds(reverse).sort(), [ofPatient.id, condition.id].sort());
    assert.deepEqual(await ids(base, `Patient/${patient.id}/Observation?${q}`), [ofPatient.id]);
    assert.deepEqual(await ids(base, `Patient/${patient.id}/Condition`), [condition.id]);
    assert.deepEqual(await ids(base, `Patient/${patient.id}/Encounter`), [encounter.id]);
    const everything = await searchset(base, `Patient/${patient.id}/$everything`);
    const found = new Set((everything.entry ?? []).map((e: Json) => e.resource.id));
    for (const resource of [patient, ofPatient, condition, encounter]) assert.ok(found.has(resource.id), `$everything has ${resource.resourceType}/${resource.id}`);
    assert.ok(!found.has(ofGroup.id));
  });

  test('sorting by a shared parameter', async () => {
    // Descending sorts by each resource's highest code: 8867-4, then 85354-9 (a code, above its component's 8480-6), then 8480-6.
    const bundle = await searchset(base, `Observation?${q}&_sort=-combo-code`);
    assert.deepEqual(matchIds(bundle), [noSubject.id, ofPatient.id, ofGroup.id]);
    const ascending = await searchset(base, `Observation?${q}&_sort=combo-code,-_id`);
    assert.deepEqual(matchIds(ascending), [...[ofPatient.id, ofGroup.id].sort().reverse(), noSubject.id], 'lowest codes: 8480-6 twice (then by id, descending), 8867-4');
  });

  test('the store keeps no rows for them (SQLite file inspected)', { skip: process.env.KILN_TEST_BACKEND === 'postgres' ? 'the PostgreSQL run writes through the same SQL layer; its tables are not opened here' : false }, () => {
    const db = new Database(join(server.dataDir, 'kiln.sqlite'), { readonly: true });
    try {
      const count = (table: string, param: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE param = ?`).get(param) as { n: number }).n;
      assert.equal(count('search_reference', 'patient'), 0);
      assert.equal(count('search_token', 'combo-code'), 0);
      assert.equal(count('search_quantity', 'combo-value-quantity'), 0);
      assert.equal(count('search_composite', 'combo-code-value-quantity'), 0);
      assert.ok(count('search_composite', 'component-code-value-quantity') >= 1);
      assert.ok(count('search_reference', 'subject') >= 4);
      assert.ok(count('search_token', 'component-code') >= 1);
    } finally {
      db.close();
    }
  });
});
