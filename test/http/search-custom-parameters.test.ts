/**
 * Custom SearchParameters (config `search.parameters`), black-box over HTTP: searched, sorted,
 * chained and included like the base ones, listed in the CapabilityStatement, and indexed for
 * data written before they existed (the server rebuilds its index when the definitions change).
 * Spec: https://hl7.org/fhir/R4/searchparameter.html, https://hl7.org/fhir/R4/search.html.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testStorage, type RunningServer, type TestStorage } from '../support/storage.js';
import { create, get, unique, type Json } from './helpers.js';
import { ids, includedIds, matchIds, searchset, sorted } from './search-helpers.js';

const EYE = 'http://example.org/fhir/StructureDefinition/eye-colour';
const CLINIC = 'http://example.org/fhir/StructureDefinition/primary-clinic';

const eyeColour = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/fhir/SearchParameter/patient-eye-colour',
  name: 'EyeColour',
  status: 'active',
  code: 'eye-colour',
  base: ['Patient'],
  type: 'string',
  expression: `Patient.extension.where(url='${EYE}').value`,
};

const primaryClinic = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/fhir/SearchParameter/patient-primary-clinic',
  name: 'PrimaryClinic',
  status: 'active',
  code: 'primary-clinic',
  base: ['Patient'],
  type: 'reference',
  target: ['Organization'],
  expression: `Patient.extension.where(url='${CLINIC}').value`,
};

/** Replaces R4's `family` (every name) for Patient: only official names count. */
const officialFamily = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/fhir/SearchParameter/patient-official-family',
  status: 'active',
  code: 'family',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.name.where(use='official').family",
};

const dir = mkdtempSync(join(tmpdir(), 'kiln-sp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const bundleFile = file('bundle.json', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: eyeColour }, { resource: primaryClinic }] });

function withEyes(colour: string, extra: Json = {}): Json {
  return { resourceType: 'Patient', extension: [{ url: EYE, valueString: colour }], ...extra };
}

describe('a server started with custom parameters', () => {
  let storage: TestStorage;
  let server: RunningServer;
  let base: string;
  let tag: string;
  const created: Record<string, Json> = {};

  before(async () => {
    storage = await testStorage();
    // From a file (a Bundle) and given in code (a SearchParameter object).
    server = await storage.start({ search: { parameters: [bundleFile, officialFamily] } });
    base = server.baseUrl;
    tag = unique('sp');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    created.acme = await create(base, { resourceType: 'Organization', meta, name: 'Acme Clinic' });
    created.other = await create(base, { resourceType: 'Organization', meta, name: 'Other Place' });
    created.blue = await create(base, withEyes('Blue-grey', { meta, name: [{ use: 'official', family: 'Smith' }, { use: 'maiden', family: 'Jones' }] }));
    created.green = await create(base, withEyes('green', { meta, extension: [{ url: EYE, valueString: 'Grün' }, { url: CLINIC, valueReference: { reference: `Organization/${created.acme.id}` } }] }));
    created.none = await create(base, { resourceType: 'Patient', meta, extension: [{ url: CLINIC, valueReference: { reference: `Organization/${created.other.id}` } }] });
  });
  after(async () => {
    await server?.close();
    await storage?.cleanup();
  });

  test('a string parameter on an extension is searchable with the string semantics', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&eye-colour=blue`), [created.blue.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&eye-colour=GRUN`), [created.green.id], 'case- and accent-insensitive');
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&eye-colour:exact=Blue-grey`), [created.blue.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&eye-colour:missing=true`), [created.none.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&eye-colour=blue,grun`), sorted([created.blue.id, created.green.id]));
  });

  test('it sorts', async () => {
    const bundle = await searchset(base, `Patient?_tag=${tag}&eye-colour:missing=false&_sort=-eye-colour`);
    assert.deepEqual(matchIds(bundle), [created.green.id, created.blue.id]);
  });

  test('a reference parameter chains, includes and reverse-includes', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&primary-clinic=Organization/${created.acme.id}`), [created.green.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&primary-clinic.name=acme`), [created.green.id]);
    const included = await searchset(base, `Patient?_tag=${tag}&_include=Patient:primary-clinic`);
    assert.deepEqual(includedIds(included).sort(), sorted([created.acme.id, created.other.id]));
    const reverse = await searchset(base, `Organization?_id=${created.acme.id}&_revinclude=Patient:primary-clinic`);
    assert.deepEqual(includedIds(reverse), [created.green.id]);
    assert.deepEqual(await ids(base, `Organization?_tag=${tag}&_has:Patient:primary-clinic:eye-colour=grun`), [created.acme.id]);
  });

  test('a definition with the base and code of an R4 one replaces it', async () => {
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family=smith`), [created.blue.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&family=jones`), [], 'maiden names are no longer searched by family');
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&name=jones`), [created.blue.id], 'name is untouched');
  });

  test('the CapabilityStatement lists them, with includes and reverse includes', async () => {
    const statement = (await get(base, 'metadata')).body;
    const resources: Json[] = statement.rest[0].resource;
    const patient = resources.find((r) => r.type === 'Patient');
    const param = (code: string) => patient.searchParam.find((p: Json) => p.name === code);
    assert.deepEqual(param('eye-colour'), { name: 'eye-colour', definition: eyeColour.url, type: 'string' });
    assert.deepEqual(param('primary-clinic'), { name: 'primary-clinic', definition: primaryClinic.url, type: 'reference' });
    assert.equal(param('family').definition, officialFamily.url);
    assert.ok(patient.searchInclude.includes('Patient:primary-clinic'));
    assert.ok(resources.find((r) => r.type === 'Organization').searchRevInclude.includes('Patient:primary-clinic'));
  });
});

describe('data written before a parameter existed', () => {
  test('becomes searchable after a restart with the parameter configured, and stops matching after one without', async () => {
    const storage = await testStorage();
    try {
      const tag = unique('reindex');
      const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
      let server = await storage.start();
      const before = await create(server.baseUrl, withEyes('hazel', { meta }));
      const deleted = await create(server.baseUrl, withEyes('hazel', { meta }));
      assert.equal((await get(server.baseUrl, `Patient/${deleted.id}`)).status, 200);
      assert.equal((await fetch(`${server.baseUrl}/Patient/${deleted.id}`, { method: 'DELETE' })).status, 200);
      const unknown = await get(server.baseUrl, `Patient?_tag=${tag}&eye-colour=hazel`, { prefer: 'handling=strict' });
      assert.equal(unknown.status, 400, 'not a parameter yet');
      await server.close();

      server = await storage.start({ search: { parameters: [file('eye.json', eyeColour)] } });
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&eye-colour=hazel`), [before.id], 'indexed by the rebuild; the deleted one stays out');
      const after = await create(server.baseUrl, withEyes('hazel', { meta }));
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&eye-colour=hazel`), sorted([before.id, after.id]));
      await server.close();

      // A changed definition: the colour now comes from another extension.
      const changed = { ...eyeColour, expression: "Patient.extension.where(url='http://example.org/other').value" };
      server = await storage.start({ search: { parameters: [file('eye-changed.json', changed)] } });
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&eye-colour=hazel`), [], 'rows of the old definition are gone');
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&eye-colour:missing=true`), sorted([before.id, after.id]));
      await server.close();

      // And back: the rows come back too.
      server = await storage.start({ search: { parameters: [file('eye.json', eyeColour)] } });
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&eye-colour=hazel`), sorted([before.id, after.id]));
      assert.deepEqual(await ids(server.baseUrl, `Patient?_tag=${tag}&family:missing=true`), sorted([before.id, after.id]), 'other parameters untouched');
      await server.close();
    } finally {
      await storage.cleanup();
    }
  });

  test('a parameter that stops sharing another one\'s rows gets rows of its own, and gives them up again', async () => {
    // Observation.patient reads subject's rows (search/shared-rows.ts) until subject is redefined.
    const storage = await testStorage();
    try {
      const tag = unique('sharing');
      const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
      let server = await storage.start();
      const patient = await create(server.baseUrl, { resourceType: 'Patient', meta });
      const group = await create(server.baseUrl, { resourceType: 'Group', meta, type: 'person', actual: true });
      const observation = await create(server.baseUrl, {
        resourceType: 'Observation',
        meta,
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${patient.id}` },
        focus: [{ reference: `Group/${group.id}` }],
      });
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&patient=${patient.id}`), [observation.id]);
      await server.close();

      const subject = {
        resourceType: 'SearchParameter',
        url: 'http://example.org/SearchParameter/observation-subject-or-focus',
        name: 'subject',
        status: 'active',
        code: 'subject',
        base: ['Observation'],
        type: 'reference',
        expression: 'Observation.subject | Observation.focus',
        target: ['Patient', 'Group'],
      };
      server = await storage.start({ search: { parameters: [file('subject.json', subject)] } });
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&subject=Group/${group.id}`), [observation.id], 'the new definition');
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&patient=${patient.id}`), [observation.id], 'patient indexed on its own by the rebuild');
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&patient=${group.id}`), []);
      await server.close();

      server = await storage.start();
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&subject=Group/${group.id}`), []);
      assert.deepEqual(await ids(server.baseUrl, `Observation?_tag=${tag}&patient=${patient.id}`), [observation.id], 'shared again');
      await server.close();
    } finally {
      await storage.cleanup();
    }
  });
});
