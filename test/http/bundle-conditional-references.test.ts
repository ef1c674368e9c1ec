/**
 * Conditional references in a transaction that match what the same transaction writes, black-box
 * over HTTP. http.html#trules: the server processes the DELETEs, POSTs, PUTs/PATCHes and GETs,
 * then "Resolve any conditional references"; "if there are no matches, or multiple matches, the
 * transaction fails"; the outcome "SHALL NOT depend on the order of the resources".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestServer } from '../support/server.js';
import { assertOperationOutcome, create, entryStatus, get, post, unique, type Json } from './helpers.js';
import { ids } from './search-helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

const SYSTEM = 'http://kiln.test/mrn';
const patient = (mrn: string, extra: Json = {}): Json => ({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: mrn }], ...extra });
const observation = (subject: string): Json => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: subject } });
const entry = (resource: Json, method: string, url: string, fullUrl?: string): Json => ({ ...(fullUrl ? { fullUrl } : {}), resource, request: { method, url } });
const transaction = (...entries: Json[]) => post(base, '', { resourceType: 'Bundle', type: 'transaction', entry: entries });

/** The id in a response entry's location (`Type/id/_history/n`). */
function idOf(responseEntry: Json): string {
  return responseEntry.response.location.match(/(?:^|\/)[A-Z][A-Za-z]+\/([^/]+)\/_history/)[1];
}

describe('conditional references to resources the same transaction writes', () => {
  test('a Patient created by the transaction, whatever the order of the entries', async () => {
    for (const reversed of [false, true]) {
      const mrn = unique('new');
      const entries = [entry(patient(mrn), 'POST', 'Patient'), entry(observation(`Patient?identifier=${SYSTEM}|${mrn}`), 'POST', 'Observation')];
      const res = await transaction(...(reversed ? entries.reverse() : entries));
      assert.equal(res.status, 200, res.text);
      const [p, o] = reversed ? [res.body.entry[1], res.body.entry[0]] : res.body.entry;
      assert.deepEqual([entryStatus(p), entryStatus(o)], [201, 201]);
      const stored = (await get(base, `Observation/${idOf(o)}`)).body;
      assert.equal(stored.subject.reference, `Patient/${idOf(p)}`);
      assert.deepEqual(await ids(base, `Observation?subject=Patient/${idOf(p)}`), [idOf(o)], 'indexed with the resolved reference');
      const history = (await get(base, `Patient/${idOf(p)}/_history`)).body;
      assert.equal(history.total, 1, 'the resolution left no extra version');
    }
  });

  test('created with a client id (PUT), or given the identifier by an update', async () => {
    const [mrnPut, mrnUpdate] = [unique('put'), unique('upd')];
    const putId = unique('pid');
    const existing = await create(base, { resourceType: 'Patient', name: [{ family: 'Updated' }] });
    const res = await transaction(
      entry(observation(`Patient?identifier=${SYSTEM}|${mrnPut}`), 'POST', 'Observation'),
      entry(observation(`Patient?identifier=${SYSTEM}|${mrnUpdate}`), 'POST', 'Observation'),
      entry({ ...patient(mrnPut), id: putId }, 'PUT', `Patient/${putId}`),
      entry({ ...patient(mrnUpdate), id: existing.id }, 'PUT', `Patient/${existing.id}`),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(base, `Observation/${idOf(res.body.entry[0])}`)).body.subject.reference, `Patient/${putId}`);
    assert.equal((await get(base, `Observation/${idOf(res.body.entry[1])}`)).body.subject.reference, `Patient/${existing.id}`);
  });

  test('chained criteria through references between the entries, and references among created resources', async () => {
    const [org, mrn, npi] = [unique('org'), unique('chain'), unique('npi')];
    const res = await transaction(
      entry({ resourceType: 'Organization', identifier: [{ system: SYSTEM, value: org }], name: 'Chain' }, 'POST', 'Organization', 'urn:uuid:6f1d1b6e-7a53-4d0c-9d8e-1c1c1c1c1c01'),
      entry(patient(mrn, { managingOrganization: { reference: 'urn:uuid:6f1d1b6e-7a53-4d0c-9d8e-1c1c1c1c1c01' }, generalPractitioner: [{ reference: `Practitioner?identifier=${SYSTEM}|${npi}` }] }), 'POST', 'Patient'),
      entry({ resourceType: 'Practitioner', identifier: [{ system: SYSTEM, value: npi }] }, 'POST', 'Practitioner'),
      entry(observation(`Patient?organization.identifier=${SYSTEM}|${org}`), 'POST', 'Observation'),
    );
    assert.equal(res.status, 200, res.text);
    const [orgId, patientId, practitionerId, observationId] = res.body.entry.map(idOf);
    const stored = (await get(base, `Patient/${patientId}`)).body;
    assert.equal(stored.managingOrganization.reference, `Organization/${orgId}`);
    assert.equal(stored.generalPractitioner[0].reference, `Practitioner/${practitionerId}`);
    assert.equal((await get(base, `Observation/${observationId}`)).body.subject.reference, `Patient/${patientId}`);
  });

  test('one existing and one created match: 412, and nothing is written', async () => {
    const mrn = unique('two');
    const existing = await create(base, patient(mrn));
    const res = await transaction(entry(patient(mrn), 'POST', 'Patient'), entry(observation(`Patient?identifier=${SYSTEM}|${mrn}`), 'POST', 'Observation'));
    const outcome = assertOperationOutcome(res, 412);
    assert.match(JSON.stringify(outcome), /match more than one Patient/);
    assert.deepEqual(await ids(base, `Patient?identifier=${SYSTEM}|${mrn}`), [existing.id]);
    assert.deepEqual(await ids(base, `Observation?subject=Patient/${existing.id}`), []);
  });

  test('the only match deleted by the transaction: 412, and the delete is undone', async () => {
    const mrn = unique('gone');
    const existing = await create(base, patient(mrn));
    const res = await transaction({ request: { method: 'DELETE', url: `Patient/${existing.id}` } }, entry(observation(`Patient?identifier=${SYSTEM}|${mrn}`), 'POST', 'Observation'));
    const outcome = assertOperationOutcome(res, 412);
    assert.match(JSON.stringify(outcome), /matches no resource/);
    assert.equal((await get(base, `Patient/${existing.id}`)).status, 200);
  });

  test('references to existing resources still resolve when the transaction writes other types only', async () => {
    const mrn = unique('plain');
    const existing = await create(base, patient(mrn));
    const res = await transaction(entry(observation(`Patient?identifier=${SYSTEM}|${mrn}`), 'POST', 'Observation'), entry({ resourceType: 'Organization', name: 'Other' }, 'POST', 'Organization'));
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(base, `Observation/${idOf(res.body.entry[0])}`)).body.subject.reference, `Patient/${existing.id}`);
  });
});

describe('conditional references whose chains or _has look into types the transaction writes', () => {
  const practitioner = (npi: string): Json => ({ resourceType: 'Practitioner', identifier: [{ system: SYSTEM, value: npi }] });

  test('an untyped chain: the transaction moves the identifier of the Practitioner it passes through', async () => {
    const [before, after] = [unique('npi-old'), unique('npi-new')];
    const doctor = await create(base, practitioner(before));
    const pat = await create(base, patient(unique('gp'), { generalPractitioner: [{ reference: `Practitioner/${doctor.id}` }] }));
    const moved = entry({ ...practitioner(after), id: doctor.id }, 'PUT', `Practitioner/${doctor.id}`);

    const res = await transaction(moved, entry(observation(`Patient?general-practitioner.identifier=${SYSTEM}|${after}`), 'POST', 'Observation'));
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(base, `Observation/${idOf(res.body.entry[1])}`)).body.subject.reference, `Patient/${pat.id}`, 'found through the new identifier');

    const stale = await transaction(
      entry({ ...practitioner(before), id: doctor.id }, 'PUT', `Practitioner/${doctor.id}`),
      entry(observation(`Patient?general-practitioner.identifier=${SYSTEM}|${after}`), 'POST', 'Observation'),
    );
    assert.match(JSON.stringify(assertOperationOutcome(stale, 412)), /matches no resource/, 'the identifier the transaction takes away no longer matches');
    assert.deepEqual(await ids(base, `Practitioner?identifier=${SYSTEM}|${after}`), [doctor.id], 'the failed transaction changed nothing');
  });

  test('a typed chain: the transaction renames the Patient that the criteria reach through subject', async () => {
    const [oldName, newName] = [unique('Oldname'), unique('Newname')];
    const pat = await create(base, { resourceType: 'Patient', name: [{ family: oldName }] });
    const measured = await create(base, observation(`Patient/${pat.id}`));
    const res = await transaction(
      entry({ resourceType: 'DiagnosticReport', status: 'final', code: { text: 'r' }, result: [{ reference: `Observation?subject:Patient.name=${newName}` }] }, 'POST', 'DiagnosticReport'),
      entry({ resourceType: 'Patient', id: pat.id, name: [{ family: newName }] }, 'PUT', `Patient/${pat.id}`),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(base, `DiagnosticReport/${idOf(res.body.entry[0])}`)).body.result[0].reference, `Observation/${measured.id}`);
  });

  test('_has: the transaction creates the Observation the criteria ask for', async () => {
    const code = unique('code');
    const pat = await create(base, patient(unique('has')));
    const res = await transaction(
      entry({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient?_has:Observation:subject:code=${code}` } }, 'POST', 'Encounter'),
      entry({ ...observation(`Patient/${pat.id}`), code: { coding: [{ system: SYSTEM, code }] } }, 'POST', 'Observation'),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(base, `Encounter/${idOf(res.body.entry[0])}`)).body.subject.reference, `Patient/${pat.id}`);

    const removed = await transaction(
      { request: { method: 'DELETE', url: `Observation/${idOf(res.body.entry[1])}` } },
      entry({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient?_has:Observation:subject:code=${code}` } }, 'POST', 'Encounter'),
    );
    assert.match(JSON.stringify(assertOperationOutcome(removed, 412)), /matches no resource/, 'the Observation the transaction deletes no longer counts');
  });
});
