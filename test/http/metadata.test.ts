/**
 * capabilities: GET [base]/metadata, and the FHIR version switch, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#capabilities and
 * https://hl7.org/fhir/R4/capabilitystatement.html (CapabilityStatement.status, date, kind and
 * fhirVersion and format are 1..1 / 1..*; restful-interaction codes: read | vread | update | patch |
 * delete | history-instance | history-type | create | search-type, and system-level transaction |
 * batch | search-system | history-system).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertFhirJsonContentType, assertOperationOutcome, get, post, type Json } from './helpers.js';

/** R4 (4.0.1) defines 146 concrete resource types (the fhir.schema.json ResourceList). */
const R4_RESOURCE_TYPE_COUNT = 146;

const INSTANCE_AND_TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create'];
const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system'];

describe('R4 server', () => {
  let server: TestServer;
  let base: string;
  let capabilities: Json;

  before(async () => {
    server = await startTestServer();
    base = server.baseUrl;
    const res = await get(base, 'metadata');
    assert.equal(res.status, 200, res.text.slice(0, 500));
    capabilities = res.body;
  });

  after(async () => {
    await server?.close();
  });

  const rest = () => capabilities.rest?.[0];
  const resourceEntry = (type: string) => rest()?.resource?.find((entry: Json) => entry.type === type);

  test('GET /metadata returns a CapabilityStatement as FHIR JSON', async () => {
    const res = await get(base, 'metadata');
    assert.equal(res.status, 200);
    assertFhirJsonContentType(res);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
  });

  test('mandatory elements: status active, date, kind instance, fhirVersion 4.0.1, json format', () => {
    assert.equal(capabilities.status, 'active');
    assert.equal(typeof capabilities.date, 'string', 'CapabilityStatement.date is 1..1');
    assert.match(capabilities.date, /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/);
    assert.equal(capabilities.kind, 'instance');
    assert.equal(capabilities.fhirVersion, '4.0.1');
    assert.ok(Array.isArray(capabilities.format), 'format is 1..*');
    assert.ok(
      capabilities.format.some((format: string) => format === 'json' || format === 'application/fhir+json'),
      `format should include json: ${JSON.stringify(capabilities.format)}`,
    );
    // Kiln answers XML with 406, so it must not advertise it.
    assert.ok(!capabilities.format.some((format: string) => /xml/.test(format)), `format must not claim XML: ${JSON.stringify(capabilities.format)}`);
  });

  test('software name and version', () => {
    assert.equal(typeof capabilities.software?.name, 'string');
    assert.ok(capabilities.software.name.length > 0);
    assert.equal(typeof capabilities.software.version, 'string');
    assert.ok(capabilities.software.version.length > 0);
  });

  test('rest[0] is a server with system interactions transaction, batch and history-system', () => {
    assert.ok(Array.isArray(capabilities.rest) && capabilities.rest.length >= 1);
    assert.equal(rest().mode, 'server');
    const codes = (rest().interaction ?? []).map((interaction: Json) => interaction.code);
    for (const code of SYSTEM_INTERACTIONS) assert.ok(codes.includes(code), `missing system interaction ${code} in ${codes.join(', ')}`);
  });

  for (const type of ['Patient', 'Observation']) {
    test(`${type} supports read, vread, update, patch, delete, history-instance, history-type and create`, () => {
      const entry = resourceEntry(type);
      assert.ok(entry, `no rest.resource for ${type}`);
      const codes = (entry.interaction ?? []).map((interaction: Json) => interaction.code);
      for (const code of INSTANCE_AND_TYPE_INTERACTIONS) assert.ok(codes.includes(code), `${type} lacks ${code}: ${codes.join(', ')}`);
    });
  }

  test(`lists each of the ${R4_RESOURCE_TYPE_COUNT} R4 resource types once`, () => {
    const types: string[] = (rest().resource ?? []).map((entry: Json) => entry.type);
    assert.equal(new Set(types).size, types.length, 'duplicate resource types');
    assert.equal(types.length, R4_RESOURCE_TYPE_COUNT, `expected ${R4_RESOURCE_TYPE_COUNT} resource types, got ${types.length}`);
    for (const expected of ['Patient', 'Observation', 'Bundle', 'Binary', 'Parameters', 'OperationOutcome', 'ServiceRequest', 'MedicinalProduct']) {
      assert.ok(types.includes(expected), `missing ${expected}`);
    }
    // Not in R4 4.0.1: STU3-only types and later additions.
    for (const absent of ['ProcedureRequest', 'ReferralRequest', 'SubscriptionStatus', 'SubscriptionTopic', 'Resource', 'DomainResource']) {
      assert.ok(!types.includes(absent), `${absent} is not an R4 resource type`);
    }
  });

  test('declared versioning matches behaviour: versioned, readHistory and updateCreate', () => {
    // The server keeps versions and vread works (create-read tests), and PUT to a new id creates
    // (update-delete tests); CapabilityStatement.rest.resource.updateCreate is how a server
    // "indicate[s] such to the clients" (http.html#upsert).
    const entry = resourceEntry('Patient');
    assert.ok(['versioned', 'versioned-update'].includes(entry.versioning), `versioning: ${entry.versioning}`);
    assert.equal(entry.readHistory, true);
    assert.equal(entry.updateCreate, true);
  });

  test('declared conditional read support matches behaviour (If-None-Match and If-Modified-Since)', () => {
    assert.equal(resourceEntry('Patient').conditionalRead, 'full-support');
  });

  test('declares JSON Patch as a supported patch format', () => {
    // CapabilityStatement.rest.resource... patchFormat (R4: CapabilityStatement.patchFormat) lists
    // "the patch formats supported by this implementation using their content types".
    assert.ok(
      (capabilities.patchFormat ?? []).includes('application/json-patch+json'),
      `patchFormat should list application/json-patch+json: ${JSON.stringify(capabilities.patchFormat)}`,
    );
  });

  test('mode=full and _format=json are accepted', async () => {
    // "Servers MAY ignore the mode parameter and return a CapabilityStatement resource."
    const full = await get(base, 'metadata?mode=full');
    assert.equal(full.status, 200);
    assert.equal(full.body.resourceType, 'CapabilityStatement');
    const json = await get(base, 'metadata?_format=json');
    assert.equal(json.status, 200);
    assert.equal(json.body.resourceType, 'CapabilityStatement');
  });

  test('an STU3-only resource type is unknown on an R4 server: 404', async () => {
    const res = await post(base, 'ProcedureRequest', {
      resourceType: 'ProcedureRequest',
      status: 'active',
      intent: 'order',
      code: { text: 'x' },
      subject: { reference: 'Patient/example' },
    });
    assertOperationOutcome(res, 404);
  });
});

describe('STU3 server (fhirVersion 3.0.2)', () => {
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startTestServer({ fhirVersion: '3.0.2' });
    base = server.baseUrl;
  });

  after(async () => {
    await server?.close();
  });

  test('the CapabilityStatement declares fhirVersion 3.0.2', async () => {
    const res = await get(base, 'metadata');
    assert.equal(res.status, 200, res.text.slice(0, 500));
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.equal(res.body.fhirVersion, '3.0.2');
    const types: string[] = (res.body.rest?.[0]?.resource ?? []).map((entry: Json) => entry.type);
    assert.ok(types.includes('ProcedureRequest'));
    assert.ok(!types.includes('ServiceRequest'), 'ServiceRequest is R4-only');
  });

  test('an STU3-only type (ProcedureRequest) can be created and read', async () => {
    const res = await post(
      base,
      'ProcedureRequest',
      { resourceType: 'ProcedureRequest', status: 'active', intent: 'order', code: { text: 'x' }, subject: { reference: 'Patient/example' } },
      { prefer: 'return=representation' },
    );
    assert.equal(res.status, 201, res.text.slice(0, 500));
    assert.equal(res.body.resourceType, 'ProcedureRequest');
    assert.equal(res.body.meta.versionId, '1');
    const read = await get(base, `ProcedureRequest/${res.body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.intent, 'order');
  });

  test('an R4-only type (ServiceRequest) is unknown: 404', async () => {
    const res = await post(base, 'ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/example' },
    });
    assertOperationOutcome(res, 404);
  });
});
