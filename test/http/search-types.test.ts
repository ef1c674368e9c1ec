/**
 * Search by parameter type, modifiers and prefixes, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/search.html (§3.1.1.4 parameter types, §3.1.1.5 modifiers,
 * §3.1.1.4.5 prefixes and implicit precision, §3.1.1.3 comma = OR / repetition = AND).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { useTestServer } from '../support/server.js';
import { create, get, unique, type Json } from './helpers.js';
import { assertNamesParameter, ids, searchset, sorted } from './search-helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

describe('string', () => {
  let tag: string;
  let eric: Json;
  let erica: Json;
  before(async () => {
    tag = unique('str');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    eric = await create(base, { resourceType: 'Patient', meta, name: [{ family: 'Éricsson', given: ['Ann'] }], address: [{ city: 'Saint-Étienne' }] });
    erica = await create(base, { resourceType: 'Patient', meta, name: [{ family: 'Ericaceae', given: ['Bob'] }] });
  });

  test('default is starts-with, case- and accent-insensitive, on every part of a HumanName', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=eric`), sorted([eric.id, erica.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family=ERICS`), [eric.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=bob`), [erica.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&address-city=saint-etienne`), [eric.id]);
  });

  test(':exact matches the whole string, case and accents included', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family:exact=Éricsson`), [eric.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family:exact=Ericsson`), []);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family:exact=Éric`), []);
  });

  test(':contains matches anywhere', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family:contains=CSSO`), [eric.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family:contains=ac`), [erica.id]);
  });

  test('comma is OR, repetition is AND', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&given=ann,bob`), sorted([eric.id, erica.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=eric&name=ann`), [eric.id]);
  });
});

describe('token', () => {
  let tag: string;
  let a: Json;
  let b: Json;
  let c: Json;
  before(async () => {
    tag = unique('tok');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    a = await create(base, {
      resourceType: 'Observation',
      meta,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Pulse' },
      subject: { reference: 'Patient/x' },
    });
    b = await create(base, { resourceType: 'Observation', meta, status: 'amended', code: { coding: [{ code: '8867-4' }] } });
    c = await create(base, { resourceType: 'Observation', meta, status: 'final', code: { coding: [{ system: 'http://snomed.info/sct', code: '271649006', display: 'Systolic blood pressure' }] } });
  });

  test('code, system|code, |code and system|', async () => {
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code=8867-4`), sorted([a.id, b.id]));
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code=http://loinc.org|8867-4`), sorted([a.id, b.id].filter((id) => id === a.id)));
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code=|8867-4`), [b.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code=http://snomed.info/sct|`), [c.id]);
  });

  test('system|code on a code element matches through its binding (the element carries no system)', async () => {
    // search.html §3.1.1.4.9: for `code` elements the system is implied by the value set binding.
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&status=http://hl7.org/fhir/observation-status|final`), sorted([a.id, c.id]));
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&status=|final`), sorted([a.id, c.id]));
  });

  test(':not excludes resources that have the code (and keeps those without it)', async () => {
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&status:not=final`), [b.id]);
  });

  test(':text searches display and text', async () => {
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code:text=heart`), [a.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code:text=pulse`), [a.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code:text=pressure`), [c.id]);
  });

  test(':text finds a concept whose text reads as its coding display (one row serves both)', async () => {
    const own = { tag: [{ system: 'http://kiln.test/tag', code: unique('same-text') }] };
    const ownTag = `http://kiln.test/tag|${own.tag[0].code}`;
    const d = await create(base, {
      resourceType: 'Observation',
      meta: own,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }], text: 'Body height' },
      valueQuantity: { value: 180, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
    });
    assert.deepEqual(await ids(base, `Observation?_tag=${ownTag}&code:text=body%20height`), [d.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${ownTag}&code:text=height`), [d.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${ownTag}&code-value-quantity=http://loinc.org|8302-2$180`), [d.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${ownTag}&code:missing=false`), [d.id]);
  });

  test('booleans, Identifier with :of-type, ContactPoint', async () => {
    const run = unique('id');
    const p = await create(base, {
      resourceType: 'Patient',
      active: true,
      identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'http://hospital.test/mrn', value: run }],
      telecom: [{ system: 'email', value: `${run}@example.org` }],
    });
    assert.deepEqual(await ids(base, `Patient?identifier=${run}&active=true`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?identifier=${run}&active=false`), []);
    assert.deepEqual(await ids(base, `Patient?identifier=http://hospital.test/mrn|${run}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|${run}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|SS|${run}`), []);
    assert.deepEqual(await ids(base, `Patient?email=${encodeURIComponent(`${run}@example.org`)}`), [p.id]);
  });

  test(':in, :not-in, :above and :below on tokens are a 400 not-supported', async () => {
    for (const modifier of ['in', 'not-in', 'above', 'below']) {
      const res = await get(base, `Observation?code:${modifier}=http://example.org/vs`);
      assertNamesParameter(res, 'code');
      assert.equal(res.body.issue[0].code, 'not-supported');
    }
  });
});

describe('reference', () => {
  let patientA: Json;
  let patientB: Json;
  let obsA: Json;
  let obsB: Json;
  before(async () => {
    patientA = await create(base, { resourceType: 'Patient', identifier: [{ system: 'http://kiln.test/ref', value: unique('r') }] });
    patientB = await create(base, { resourceType: 'Patient' });
    obsA = await create(base, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patientA.id}`, identifier: patientA.identifier[0] } });
    obsB = await create(base, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `${base}/Patient/${patientB.id}` } });
  });

  test('Type/id, bare id, an absolute URL on this server and :Type', async () => {
    assert.deepEqual(await ids(base, `Observation?subject=Patient/${patientA.id}`), [obsA.id]);
    assert.deepEqual(await ids(base, `Observation?subject=${patientA.id}`), [obsA.id]);
    assert.deepEqual(await ids(base, `Observation?subject:Patient=${patientA.id}`), [obsA.id]);
    assert.deepEqual(await ids(base, `Observation?subject=${encodeURIComponent(`${base}/Patient/${patientA.id}`)}`), [obsA.id]);
    // stored as an absolute URL on this server, found by the relative form
    assert.deepEqual(await ids(base, `Observation?subject=Patient/${patientB.id}`), [obsB.id]);
    assert.deepEqual(await ids(base, `Observation?patient=${patientB.id}`), [obsB.id]);
  });

  test(':identifier matches Reference.identifier', async () => {
    const { system, value } = patientA.identifier[0];
    assert.deepEqual(await ids(base, `Observation?subject:identifier=${encodeURIComponent(`${system}|${value}`)}`), [obsA.id]);
  });

  test('a reference to a type the parameter cannot target is a 400 naming it', async () => {
    assertNamesParameter(await get(base, 'Observation?subject=Basic/1'), 'subject');
  });
});

describe('date', () => {
  let tag: string;
  let y1970: Json;
  let d19700315: Json;
  let t1980: Json;
  before(async () => {
    tag = unique('date');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    y1970 = await create(base, { resourceType: 'Patient', meta, birthDate: '1970' });
    d19700315 = await create(base, { resourceType: 'Patient', meta, birthDate: '1970-03-15' });
    t1980 = await create(base, { resourceType: 'Patient', meta, birthDate: '1980-06-01' });
  });

  test('eq uses the precision of the value as a range', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=1970`), sorted([y1970.id, d19700315.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=1970-03`), [d19700315.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=eq1970-03-15`), [d19700315.id]);
  });

  test('gt lt ge le ne sa eb ap', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=gt1975`), [t1980.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=lt1975`), sorted([y1970.id, d19700315.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=ge1980-06-01`), [t1980.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=le1970-03-15`), sorted([y1970.id, d19700315.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=ne1970`), [t1980.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=sa1970-12-31`), [t1980.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=eb1975`), sorted([y1970.id, d19700315.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=ap1980-06-03`), [t1980.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&birthdate=ge1970-01-01&birthdate=lt1971`), sorted([y1970.id, d19700315.id]));
  });

  test('Period, dateTime with zone and instant', async () => {
    const run = unique('enc');
    const enc = await create(base, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, identifier: [{ value: run }], period: { start: '2020-01-10T10:00:00+02:00', end: '2020-01-12' } });
    // eq: the period must lie within the searched day; it spans three days
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=2020-01-11`), []);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=gt2020-01-11`), [enc.id]);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=eq2020-01`), [enc.id]);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=lt2020-01-10T07:30:00Z`), []);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=lt2020-01-10T09:30:00%2B02:00`), []);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=le2020-01-10T08:00:01Z`), [enc.id]);
  });

  test('two bounds on one parameter select a range, Periods included', async () => {
    const run = unique('range');
    const encounter = (start: string, end: string) =>
      create(base, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, identifier: [{ value: run }], period: { start, end } });
    const january = await encounter('2020-01-01', '2020-01-05');
    const february = await encounter('2020-02-01', '2020-02-03');
    const spanning = await encounter('2019-12-20', '2020-03-01');
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=ge2020-01-02&date=le2020-01-31`), sorted([january.id, spanning.id]));
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=ge2020-01-01&date=lt2020-03-01`), sorted([january.id, february.id, spanning.id]));
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=sa2020-01-10&date=eb2020-03-01`), [february.id]);
    assert.deepEqual(await ids(base, `Encounter?identifier=${run}&date=gt2020-02-02&date=lt2020-01-01`), [spanning.id]);
  });

  test('a malformed date is a 400 naming the parameter', async () => {
    assertNamesParameter(await get(base, 'Patient?birthdate=1970-13'), 'birthdate');
    assertNamesParameter(await get(base, 'Patient?birthdate=xx1970'), 'birthdate');
  });
});

describe('number, quantity, uri, composite', () => {
  let tag: string;
  let o72: Json;
  let o100: Json;
  before(async () => {
    tag = unique('qty');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    const code = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
    o72 = await create(base, { resourceType: 'Observation', meta, status: 'final', code, valueQuantity: { value: 72.4, unit: 'beats/min', system: 'http://unitsofmeasure.org', code: '/min' } });
    o100 = await create(base, {
      resourceType: 'Observation',
      meta,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    });
  });

  test('quantity prefixes, implicit precision and value|system|code / value||code', async () => {
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=72.4`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=72`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=72.0`), []);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=gt70`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=lt70`), []);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=ap70`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=${encodeURIComponent('72.4|http://unitsofmeasure.org|/min')}`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=${encodeURIComponent('72.4||/min')}`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&value-quantity=${encodeURIComponent('72.4|http://unitsofmeasure.org|kg')}`), []);
  });

  test('composites: code-value-quantity and component-code-value-quantity', async () => {
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code-value-quantity=${encodeURIComponent('http://loinc.org|8867-4$gt70')}`), [o72.id]);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&code-value-quantity=${encodeURIComponent('http://loinc.org|8867-4$lt70')}`), []);
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&component-code-value-quantity=${encodeURIComponent('http://loinc.org|8480-6$ge120')}`), [o100.id]);
    // the systolic code with the diastolic value: no single component has both
    assert.deepEqual(await ids(base, `Observation?_tag=${tag}&component-code-value-quantity=${encodeURIComponent('http://loinc.org|8480-6$80')}`), []);
    assertNamesParameter(await get(base, `Observation?code-value-quantity=${encodeURIComponent('http://loinc.org|8867-4')}`), 'code-value-quantity');
  });

  test('number', async () => {
    const run = unique('n');
    const r = await create(base, { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/x' }, identifier: [{ value: run }], prediction: [{ probabilityDecimal: 0.25 }] });
    assert.deepEqual(await ids(base, `RiskAssessment?identifier=${run}&probability=0.25`), [r.id]);
    assert.deepEqual(await ids(base, `RiskAssessment?identifier=${run}&probability=gt0.2`), [r.id]);
    assert.deepEqual(await ids(base, `RiskAssessment?identifier=${run}&probability=lt0.2`), []);
    assertNamesParameter(await get(base, 'RiskAssessment?probability=abc'), 'probability');
  });

  test('uri with :below and :above', async () => {
    const run = unique('vs');
    const vs = await create(base, { resourceType: 'ValueSet', status: 'draft', url: `http://kiln.test/${run}/ValueSet/a` });
    assert.deepEqual(await ids(base, `ValueSet?url=http://kiln.test/${run}/ValueSet/a`), [vs.id]);
    assert.deepEqual(await ids(base, `ValueSet?url:below=http://kiln.test/${run}`), [vs.id]);
    assert.deepEqual(await ids(base, `ValueSet?url:above=http://kiln.test/${run}/ValueSet/a/b/c`), [vs.id]);
    assert.deepEqual(await ids(base, `ValueSet?url:above=http://kiln.test/${run}/ValueSet/b`), []);
  });
});

describe(':missing and common parameters', () => {
  test(':missing on string, token, reference, date and quantity', async () => {
    const tag = unique('miss');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    const full = await create(base, { resourceType: 'Patient', meta, gender: 'male', birthDate: '1990', name: [{ family: 'F' }], generalPractitioner: [{ reference: 'Practitioner/x' }] });
    const bare = await create(base, { resourceType: 'Patient', meta });
    for (const param of ['gender', 'birthdate', 'family', 'general-practitioner']) {
      assert.deepEqual(await ids(base, `Patient?_tag=${tag}&${param}:missing=true`), [bare.id], param);
      assert.deepEqual(await ids(base, `Patient?_tag=${tag}&${param}:missing=false`), [full.id], param);
    }
    assertNamesParameter(await get(base, 'Patient?gender:missing=maybe'), 'gender');
  });

  test('_id, _lastUpdated, _tag, _profile, _security, _source', async () => {
    const tag = unique('common');
    const profile = `http://kiln.test/StructureDefinition/${tag}`;
    const p = await create(base, {
      resourceType: 'Patient',
      meta: { tag: [{ system: 'http://kiln.test/run', code: tag }], profile: [profile], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }], source: `http://kiln.test/source/${tag}` },
    });
    const other = await create(base, { resourceType: 'Patient', meta: { tag: [{ system: 'http://kiln.test/run', code: tag }] } });
    assert.deepEqual(await ids(base, `Patient?_id=${p.id}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?_id=${p.id},${other.id}`), sorted([p.id, other.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=http://kiln.test/run|${tag}`), sorted([p.id, other.id]));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_profile=${profile}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_security=R`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_source=http://kiln.test/source/${tag}`), [p.id]);
    const lastUpdated = p.meta.lastUpdated as string;
    assert.ok((await ids(base, `Patient?_tag=${tag}&_lastUpdated=ge${lastUpdated.slice(0, 10)}`)).includes(p.id));
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_lastUpdated=lt2000-01-01`), []);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_lastUpdated=${encodeURIComponent(lastUpdated)}`), [p.id]);
  });

  test('_content and _text', async () => {
    const word = unique('w').replace(/-/g, '');
    const p = await create(base, { resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">Patient <b>${word}</b> record</div>` }, name: [{ family: `Zed${word}` }] });
    assert.deepEqual(await ids(base, `Patient?_text=${word}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?_content=zed${word}`), [p.id]);
    assert.deepEqual(await ids(base, `Patient?_text=zed${word}`), []);
  });

  test('a deleted or updated resource is found by its current content only', async () => {
    const tag = unique('cur');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    const p = await create(base, { resourceType: 'Patient', meta, name: [{ family: 'Before' }] });
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=before`), [p.id]);
    const res = await fetch(`${base}/Patient/${p.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...p, name: [{ family: 'After' }] }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=before`), []);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=after`), [p.id]);
    await fetch(`${base}/Patient/${p.id}`, { method: 'DELETE' });
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}`), []);
    const bundle = await searchset(base, `Patient?_tag=${tag}`);
    assert.equal(bundle.total, 0);
  });
});
