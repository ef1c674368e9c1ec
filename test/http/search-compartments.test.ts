/**
 * Compartment search beyond Patient: the Encounter, Practitioner, RelatedPerson and Device
 * compartments from the official R4 CompartmentDefinitions — black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/search.html#compartments, compartmentdefinition.html
 * (compartmentdefinition-encounter, -practitioner, -relatedperson, -device).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import { create, get, newId, put, remove, unique, type Json } from './helpers.js';
import { createAll, ids, searchset, sorted } from './search-helpers.js';

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer();
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

let tag: string;
const meta = () => ({ tag: [{ system: 'http://kiln.test/run', code: tag }] });
const ref = (resource: Json) => ({ reference: `${resource.resourceType}/${resource.id}` });
const observation = (extra: Json) => ({ resourceType: 'Observation', meta: meta(), status: 'final', code: { text: 'x' }, ...extra });

describe('compartment search in the Encounter, Practitioner, RelatedPerson and Device compartments', () => {
  let patient: Json;
  let practitioner: Json;
  let otherPractitioner: Json;
  let relatedPerson: Json;
  let device: Json;
  let encounter: Json;
  let otherEncounter: Json;
  let obs: Record<string, Json>;
  let condition: Json;
  let otherCondition: Json;
  let administration: Json;
  let report: Json;
  let gpPatient: Json;

  before(async () => {
    tag = unique('compartments');
    patient = await create(base, { resourceType: 'Patient', meta: meta(), name: [{ family: 'Compartment' }] });
    [practitioner, otherPractitioner] = await createAll(base, [
      { resourceType: 'Practitioner', meta: meta(), name: [{ family: 'Doc' }] },
      { resourceType: 'Practitioner', meta: meta(), name: [{ family: 'Other' }] },
    ]);
    relatedPerson = await create(base, { resourceType: 'RelatedPerson', meta: meta(), patient: ref(patient) });
    device = await create(base, { resourceType: 'Device', meta: meta(), status: 'active' });
    [encounter, otherEncounter] = await createAll(base, [
      // Encounter `participant` (and `practitioner`) put it in the Practitioner and RelatedPerson compartments.
      { resourceType: 'Encounter', meta: meta(), status: 'finished', class: { code: 'AMB' }, subject: ref(patient), participant: [{ individual: ref(practitioner) }, { individual: ref(relatedPerson) }] },
      { resourceType: 'Encounter', meta: meta(), status: 'finished', class: { code: 'AMB' }, subject: ref(patient) },
    ]);
    const [a, b, c, d, e] = await createAll(base, [
      observation({ code: { text: 'a' }, subject: ref(patient), encounter: ref(encounter), performer: [ref(practitioner)] }),
      observation({ code: { text: 'b' }, subject: ref(patient), encounter: ref(encounter), performer: [ref(relatedPerson)] }),
      observation({ subject: ref(patient), encounter: ref(otherEncounter), performer: [ref(otherPractitioner)] }),
      observation({ subject: ref(patient), device: ref(device) }),
      observation({ subject: ref(device) }),
    ]);
    obs = { a, b, c, d, e };
    [condition, otherCondition, administration, report, gpPatient] = await createAll(base, [
      { resourceType: 'Condition', meta: meta(), subject: ref(patient), encounter: ref(encounter), asserter: ref(practitioner) },
      { resourceType: 'Condition', meta: meta(), subject: ref(patient), encounter: ref(otherEncounter) },
      // MedicationAdministration is in the Encounter compartment through `context`.
      { resourceType: 'MedicationAdministration', meta: meta(), status: 'completed', medicationCodeableConcept: { text: 'm' }, subject: ref(patient), context: ref(encounter), effectiveDateTime: '2024-01-01', performer: [{ actor: ref(device) }] },
      { resourceType: 'DiagnosticReport', meta: meta(), status: 'final', code: { text: 'r' }, subject: ref(patient), encounter: ref(encounter), performer: [ref(practitioner)] },
      { resourceType: 'Patient', meta: meta(), generalPractitioner: [ref(practitioner)] },
    ]);
  });

  test('Encounter/{id}/{type}: the resources that reference the encounter through the compartment parameters', async () => {
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/Observation`), sorted([obs.a.id, obs.b.id]));
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/Condition`), [condition.id]);
    assert.deepEqual(await ids(base, `Encounter/${otherEncounter.id}/Condition`), [otherCondition.id]);
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/MedicationAdministration`), [administration.id]);
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/DiagnosticReport`), [report.id]);
  });

  test('Encounter/{id}/{type} combines with other search parameters', async () => {
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/Observation?code:text=b`), [obs.b.id]);
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/Observation?code:text=nothing`), []);
    assert.deepEqual(await ids(base, `Encounter/${otherEncounter.id}/Observation?_tag=${tag}`), [obs.c.id]);
  });

  test('Encounter/{id}/* spans every type of the compartment, and _type narrows it', async () => {
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/*`), sorted([obs.a.id, obs.b.id, condition.id, administration.id, report.id]));
    assert.deepEqual(await ids(base, `Encounter/${encounter.id}/*?_type=Condition,DiagnosticReport`), sorted([condition.id, report.id]));
    assert.deepEqual(await ids(base, `Encounter/${otherEncounter.id}/*`), sorted([obs.c.id, otherCondition.id]));
  });

  test('the searchset self link names the compartment path', async () => {
    const bundle = await searchset(base, `Encounter/${encounter.id}/Observation`);
    const self = bundle.link.find((l: Json) => l.relation === 'self').url as string;
    assert.match(self, new RegExp(`/Encounter/${encounter.id}/Observation`));
    assert.equal(bundle.entry.length, 2);
  });

  test('Practitioner/{id}/{type} and Practitioner/{id}/*', async () => {
    assert.deepEqual(await ids(base, `Practitioner/${practitioner.id}/Observation`), [obs.a.id]);
    assert.deepEqual(await ids(base, `Practitioner/${otherPractitioner.id}/Observation`), [obs.c.id]);
    assert.deepEqual(await ids(base, `Practitioner/${practitioner.id}/Encounter`), [encounter.id]);
    // Patient.general-practitioner puts a patient in its practitioner's compartment.
    assert.deepEqual(await ids(base, `Practitioner/${practitioner.id}/Patient`), [gpPatient.id]);
    assert.deepEqual(
      await ids(base, `Practitioner/${practitioner.id}/*`),
      sorted([obs.a.id, encounter.id, condition.id, report.id, gpPatient.id]),
    );
    assert.deepEqual(await ids(base, `Practitioner/${practitioner.id}/*?_type=Observation,Condition`), sorted([obs.a.id, condition.id]));
  });

  test('RelatedPerson/{id}/*', async () => {
    assert.deepEqual(await ids(base, `RelatedPerson/${relatedPerson.id}/Observation`), [obs.b.id]);
    assert.deepEqual(await ids(base, `RelatedPerson/${relatedPerson.id}/*`), sorted([obs.b.id, encounter.id]));
  });

  test('Device/{id}/Observation: through `subject` and `device`', async () => {
    assert.deepEqual(await ids(base, `Device/${device.id}/Observation`), sorted([obs.d.id, obs.e.id]));
    assert.deepEqual(await ids(base, `Device/${device.id}/*`), sorted([obs.d.id, obs.e.id]));
    // MedicationAdministration is in the Device compartment through `device` only, not `performer`.
    assert.deepEqual(await ids(base, `Device/${device.id}/MedicationAdministration`), []);
  });

  test('a reference to another type with the same id is not in the compartment', async () => {
    const id = newId();
    assert.equal((await put(base, `Device/${id}`, { resourceType: 'Device', id, meta: meta() })).status, 201);
    assert.equal((await put(base, `Patient/${id}`, { resourceType: 'Patient', id, meta: meta() })).status, 201);
    const onPatient = await create(base, observation({ subject: { reference: `Patient/${id}` } }));
    const onDevice = await create(base, observation({ subject: { reference: `Device/${id}` } }));
    assert.deepEqual(await ids(base, `Device/${id}/Observation`), [onDevice.id]);
    assert.deepEqual(await ids(base, `Patient/${id}/Observation`), [onPatient.id]);
  });

  test('a deleted member drops out of the compartment', async () => {
    const transient = await create(base, observation({ encounter: ref(otherEncounter) }));
    assert.deepEqual(await ids(base, `Encounter/${otherEncounter.id}/Observation`), sorted([obs.c.id, transient.id]));
    await remove(base, 'Observation', transient.id);
    assert.deepEqual(await ids(base, `Encounter/${otherEncounter.id}/Observation`), [obs.c.id]);
  });

  test('a type that is not in the compartment is a 404, as for the Patient compartment', async () => {
    for (const path of [
      `Patient/${patient.id}/Organization`,
      `Encounter/${encounter.id}/Patient`,
      `Encounter/${encounter.id}/Encounter`,
      `Device/${device.id}/Encounter`,
      `RelatedPerson/${relatedPerson.id}/MedicationRequest`,
      `Practitioner/${practitioner.id}/Organization`,
    ]) {
      const res = await get(base, path);
      assert.equal(res.status, 404, `${path}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
  });

  test('an unknown compartment owner is a 404', async () => {
    for (const path of ['Encounter/nope/Observation', 'Practitioner/nope/*', 'RelatedPerson/nope/*', 'Device/nope/Observation']) {
      assert.equal((await get(base, path)).status, 404, path);
    }
  });

  test('a resource type that defines no compartment is a 404 (R4 has no such compartment)', async () => {
    const organization = await create(base, { resourceType: 'Organization', meta: meta(), name: 'Org' });
    for (const path of [`Organization/${organization.id}/Patient`, `Organization/${organization.id}/*`]) {
      const res = await get(base, path);
      assert.equal(res.status, 404, `${path}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.match(res.body.issue[0].diagnostics, /defines no Organization compartment/);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
  });

  test('$everything stays Patient-only', async () => {
    assert.equal((await get(base, `Encounter/${encounter.id}/$everything`)).status, 501);
  });
});
