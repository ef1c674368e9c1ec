/**
 * Chaining, reverse chaining (_has), _include and _revinclude, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/search.html#chaining, #has, #include (search.mode = include,
 * each resource once, :iterate).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import { create, get, unique, type Json } from './helpers.js';
import { assertNamesParameter, ids, includedIds, matchIds, searchset, sorted } from './search-helpers.js';

let server: TestServer;
let base: string;
let run: string;
let org: Json;
let otherOrg: Json;
let pat1: Json;
let pat2: Json;
let pat3: Json;
let obs: Json[];
let enc: Json;

before(async () => {
  server = await startTestServer();
  base = server.baseUrl;
  run = unique('chain').replace(/-/g, '');
  org = await create(base, { resourceType: 'Organization', name: `Acme ${run}` });
  otherOrg = await create(base, { resourceType: 'Organization', name: `Other ${run}`, partOf: { reference: `Organization/${org.id}` } });
  pat1 = await create(base, { resourceType: 'Patient', name: [{ family: `Alpha${run}` }], managingOrganization: { reference: `Organization/${org.id}` } });
  pat2 = await create(base, { resourceType: 'Patient', name: [{ family: `Beta${run}` }], managingOrganization: { reference: `Organization/${otherOrg.id}` } });
  pat3 = await create(base, { resourceType: 'Patient', name: [{ family: `Gamma${run}` }] });
  enc = await create(base, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${pat1.id}` }, serviceProvider: { reference: `Organization/${org.id}` } });
  const code = (c: string) => ({ coding: [{ system: 'http://loinc.org', code: c }] });
  obs = [];
  obs.push(await create(base, { resourceType: 'Observation', status: 'final', code: code(`${run}-a`), subject: { reference: `Patient/${pat1.id}` }, encounter: { reference: `Encounter/${enc.id}` } }));
  obs.push(await create(base, { resourceType: 'Observation', status: 'final', code: code(`${run}-b`), subject: { reference: `Patient/${pat1.id}` } }));
  obs.push(await create(base, { resourceType: 'Observation', status: 'final', code: code(`${run}-a`), subject: { reference: `Patient/${pat2.id}` } }));
});

after(async () => {
  await server?.close();
});

describe('chaining', () => {
  test('one level, with and without a type modifier', async () => {
    assert.deepEqual(await ids(base, `Observation?subject:Patient.name=Alpha${run}`), sorted([obs[0].id, obs[1].id]));
    assert.deepEqual(await ids(base, `Observation?patient.family=Beta${run}`), [obs[2].id]);
  });

  test('two levels (subject:Patient.organization.name)', async () => {
    assert.deepEqual(await ids(base, `Observation?subject:Patient.organization.name=Acme ${run}`), sorted([obs[0].id, obs[1].id]));
    assert.deepEqual(await ids(base, `Observation?subject:Patient.organization.name=Other ${run}`), [obs[2].id]);
  });

  test('three levels, ANDed with other parameters', async () => {
    const path = `Observation?subject:Patient.organization.partof.name=Acme ${run}&code=${run}-a`;
    assert.deepEqual(await ids(base, path), [obs[2].id]);
    assert.deepEqual(await ids(base, `Observation?encounter.service-provider.name=Acme ${run}`), [obs[0].id]);
  });

  test('a chain on a non-reference parameter is a 400 naming it', async () => {
    assertNamesParameter(await get(base, 'Observation?code.name=x'), 'code');
  });
});

describe('_has', () => {
  test('resources referred to by matching resources', async () => {
    assert.deepEqual(await ids(base, `Patient?_has:Observation:subject:code=${run}-b`), [pat1.id]);
    assert.deepEqual(await ids(base, `Patient?_has:Observation:subject:code=${run}-a`), sorted([pat1.id, pat2.id]));
    assert.deepEqual(await ids(base, `Patient?_has:Observation:subject:code=${run}-a&name=Beta${run}`), [pat2.id]);
  });

  test('nested _has, and _has with a chain inside', async () => {
    // organizations managing a patient who has an observation with code -b
    assert.deepEqual(await ids(base, `Organization?_has:Patient:organization:_has:Observation:subject:code=${run}-b`), [org.id]);
    assert.deepEqual(await ids(base, `Patient?_has:Observation:subject:encounter.status=finished&name=Alpha${run}`), [pat1.id]);
  });

  test('a malformed _has is a 400', async () => {
    assertNamesParameter(await get(base, 'Patient?_has:Observation:code=x'), '_has');
  });
});

describe('_include and _revinclude', () => {
  test('_include adds the referenced resources once each, marked include', async () => {
    const bundle = await searchset(base, `Observation?code=${run}-a,${run}-b&_include=Observation:subject`);
    assert.deepEqual(sorted(matchIds(bundle)), sorted(obs.map((o) => o.id)));
    assert.deepEqual(sorted(includedIds(bundle)), sorted([pat1.id, pat2.id]));
    assert.equal(bundle.total, 3, 'total counts matches only');
  });

  test(':iterate follows the included resources, and _include=* takes every reference', async () => {
    const iterated = await searchset(base, `Observation?code=${run}-b&_include=Observation:subject&_include:iterate=Patient:organization`);
    assert.deepEqual(sorted(includedIds(iterated)), sorted([pat1.id, org.id]));
    const star = await searchset(base, `Observation?_id=${obs[0].id}&_include=*`);
    assert.deepEqual(sorted(includedIds(star)), sorted([pat1.id, enc.id]));
    const targeted = await searchset(base, `Observation?_id=${obs[0].id}&_include=Observation:encounter:Encounter`);
    assert.deepEqual(includedIds(targeted), [enc.id]);
  });

  test('_revinclude adds the referring resources; a match is never also an include', async () => {
    const bundle = await searchset(base, `Patient?_id=${pat1.id},${pat2.id}&_revinclude=Observation:subject`);
    assert.deepEqual(sorted(matchIds(bundle)), sorted([pat1.id, pat2.id]));
    assert.deepEqual(sorted(includedIds(bundle)), sorted(obs.map((o) => o.id)));
    const both = await searchset(base, `Organization?_id=${org.id},${otherOrg.id}&_revinclude=Organization:partof`);
    assert.deepEqual(includedIds(both), []);
    const iterate = await searchset(base, `Organization?_id=${org.id}&_revinclude=Patient:organization&_revinclude:iterate=Observation:patient`);
    assert.deepEqual(sorted(includedIds(iterate)), sorted([pat1.id, obs[0].id, obs[1].id]));
  });

  test('an _include of a parameter that is not a reference is reported, not fatal', async () => {
    const bundle = await searchset(base, `Observation?code=${run}-b&_include=Observation:code`);
    const outcome = (bundle.entry ?? []).find((e: Json) => e.search?.mode === 'outcome');
    assert.ok(outcome, 'an OperationOutcome entry reports the ignored _include');
    assert.deepEqual(matchIds(bundle), [obs[1].id]);
    void pat3;
  });
});
