import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Issue } from '../../src/fhir/errors.js';
import type { Resource } from '../../src/fhir/types.js';
import { generateStandaloneSource, loadCompiledSchemas, loadGeneratedModule } from '../../src/validation/compiled.js';
import { createJsonSchemaValidator } from '../../src/validation/json-schema-validator.js';

const r4 = createJsonSchemaValidator('4.0.1');
const stu3 = createJsonSchemaValidator('3.0.2');

const patient = (extra: Record<string, unknown> = {}): Resource => ({
  resourceType: 'Patient',
  id: 'example',
  meta: { versionId: '1', lastUpdated: '2024-05-01T10:00:00.000Z', tag: [{ system: 'http://example.org/tags', code: 'test' }] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter James Chalmers</div>' },
  extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Paris', country: 'FR' } }],
  identifier: [
    {
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      system: 'urn:oid:1.2.36.146.595.217.0.1',
      value: '12345',
      period: { start: '2001-05-06' },
      assigner: { display: 'Acme Healthcare' },
    },
  ],
  active: true,
  name: [
    { use: 'official', family: 'Chalmers', given: ['Peter', 'James'] },
    { use: 'usual', given: ['Marie\u00a0Claire'] }, // a no-break space is fine in a FHIR string
  ],
  telecom: [{ system: 'phone', value: '(03) 5555 6473', use: 'work', rank: 1 }],
  gender: 'male',
  birthDate: '1974-12-25',
  _birthDate: {
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1974-12-25T14:35:45-05:00' }],
  },
  deceasedBoolean: false,
  address: [{ use: 'home', type: 'both', line: ['534 Erewhon St'], city: 'PleasantVille', postalCode: '3999', period: { start: '1974-12-25' } }],
  contact: [{ relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'N' }] }], name: { family: 'du Marché' } }],
  managingOrganization: { reference: 'Organization/1' },
  ...extra,
});

const observation = (extra: Record<string, unknown> = {}): Resource => ({
  resourceType: 'Observation',
  id: 'blood-pressure',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }], text: 'Blood pressure' },
  subject: { reference: 'Patient/example' },
  effectiveDateTime: '2012-09-17',
  issued: '2012-09-17T14:30:00.000+01:00',
  performer: [{ reference: 'Practitioner/example' }],
  component: [
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: 107, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
      valueQuantity: { value: 60.5, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  ],
  ...extra,
});

/** The single issue reported, checked for the common shape. */
function only(issues: Issue[]): Issue {
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 1));
  assert.equal(issues[0].severity, 'error');
  assert.ok(issues[0].diagnostics.length > 0);
  return issues[0];
}

const expressions = (issues: Issue[]) => issues.flatMap((i) => i.expression ?? []).sort();

describe('R4 JSON schema validation', () => {
  test('valid Patient and Observation pass', () => {
    assert.deepEqual(r4.validate(patient()), []);
    assert.deepEqual(r4.validate(observation()), []);
    assert.deepEqual(r4.validate({ resourceType: 'Patient' }), []);
  });

  test('unknown elements are reported at their path', () => {
    const top = only(r4.validate(patient({ favouriteColour: 'blue' })));
    assert.equal(top.code, 'structure');
    assert.deepEqual(top.expression, ['Patient.favouriteColour']);
    assert.match(top.diagnostics, /favouriteColour/);

    const nested = only(r4.validate(patient({ name: [{ family: 'Chalmers' }, { given: ['Jim'], nickname: 'J' }] })));
    assert.deepEqual(nested.expression, ['Patient.name[1].nickname']);

    const odd = only(r4.validate(patient({ 'not an id': 1 })));
    assert.deepEqual(odd.expression, ['Patient.`not an id`']);
  });

  test('wrong JSON types are reported with the element path', () => {
    const birthDate = only(r4.validate(patient({ birthDate: 123 })));
    assert.equal(birthDate.code, 'value');
    assert.deepEqual(birthDate.expression, ['Patient.birthDate']);
    assert.match(birthDate.diagnostics, /date.*string.*number/);

    const active = only(r4.validate(patient({ active: 'yes' })));
    assert.equal(active.code, 'value');
    assert.deepEqual(active.expression, ['Patient.active']);

    const given = only(r4.validate(patient({ name: [{ given: 'Peter' }] })));
    assert.equal(given.code, 'structure');
    assert.deepEqual(given.expression, ['Patient.name[0].given']);

    const name = only(r4.validate(patient({ name: { family: 'Chalmers' } })));
    assert.deepEqual(name.expression, ['Patient.name']);
    assert.match(name.diagnostics, /array/);
  });

  test('several problems are all reported', () => {
    const issues = r4.validate(patient({ active: 'yes', birthDate: 123, colour: 'blue', gender: 'robot' }));
    assert.deepEqual(expressions(issues), ['Patient.active', 'Patient.birthDate', 'Patient.colour', 'Patient.gender']);
  });

  test('primitive formats, codes and integers are checked', () => {
    const date = only(r4.validate(patient({ birthDate: '1974-13-25' })));
    assert.equal(date.code, 'value');
    assert.match(date.diagnostics, /Invalid date '1974-13-25'/);

    const gender = only(r4.validate(patient({ gender: 'robot' })));
    assert.deepEqual(gender.expression, ['Patient.gender']);
    assert.match(gender.diagnostics, /'male', 'female', 'other', 'unknown'/);

    const language = only(r4.validate(patient({ language: 'en  US' })));
    assert.deepEqual(language.expression, ['Patient.language']);

    const dateTime = only(r4.validate(observation({ effectiveDateTime: '2012-09-17 10:00' })));
    assert.deepEqual(dateTime.expression, ['Observation.effectiveDateTime']);
    assert.match(dateTime.diagnostics, /dateTime/);

    // HL7 puts integer patterns on "type": "number", which JSON schema ignores; Kiln enforces them.
    const integer = only(r4.validate(patient({ multipleBirthInteger: 1.5 })));
    assert.deepEqual(integer.expression, ['Patient.multipleBirthInteger']);
    const unsigned = only(r4.validate(patient({ photo: [{ contentType: 'image/png', size: -1 }] })));
    assert.deepEqual(unsigned.expression, ['Patient.photo[0].size']);
    assert.equal(only(r4.validate(observation({ valueInteger: 2147483648 }))).code, 'value');

    // JavaScript's \s is wider than HL7 meant: no-break spaces are fine, control characters are not.
    assert.deepEqual(r4.validate(patient({ name: [{ text: 'Jean\u00a0Dupont' }] })), []);
    assert.deepEqual(only(r4.validate(patient({ name: [{ text: 'Jean\fDupont' }] }))).expression, ['Patient.name[0].text']);
  });

  test('missing required elements are reported', () => {
    const { code: _omitted, ...withoutCode } = observation();
    const issue = only(r4.validate(withoutCode as Resource));
    assert.equal(issue.code, 'required');
    assert.deepEqual(issue.expression, ['Observation.code']);
  });

  test('a missing or unknown resourceType is an issue, not an exception', () => {
    const missing = only(r4.validate({ id: 'x' } as unknown as Resource));
    assert.equal(missing.code, 'required');
    assert.deepEqual(missing.expression, ['Resource.resourceType']);

    for (const type of ['Foo', 'Bot', 'Project', 'ClientApplication', 'UserConfiguration', 'SubscriptionStatus', 'ProcedureRequest']) {
      const unknown = only(r4.validate({ resourceType: type }));
      assert.equal(unknown.code, 'value', type);
      assert.deepEqual(unknown.expression, ['Resource.resourceType']);
      assert.match(unknown.diagnostics, new RegExp(type));
    }
    assert.equal(only(r4.validate({ resourceType: 42 } as unknown as Resource)).code, 'structure');
    assert.equal(only(r4.validate([] as unknown as Resource)).code, 'structure');
    assert.equal(only(r4.validate(null as unknown as Resource)).code, 'structure');
  });

  test("elements Medplum adds to HL7's schema are rejected", () => {
    const meta = only(r4.validate(patient({ meta: { project: 'p1' } })));
    assert.deepEqual(meta.expression, ['Patient.meta.project']);
    const reference = only(r4.validate(patient({ managingOrganization: { reference: 'Organization/1', resource: {} } })));
    assert.deepEqual(reference.expression, ['Patient.managingOrganization.resource']);
  });

  test('resources in a Bundle are validated against their own type', () => {
    const bundle: Resource = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', resource: patient(), request: { method: 'POST', url: 'Patient' } },
        { resource: observation(), request: { method: 'POST', url: 'Observation' } },
      ],
    };
    assert.deepEqual(r4.validate(bundle), []);

    const bad: Resource = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: patient({ birthDate: 'yesterday' }) },
        { resource: { resourceType: 'Bot' } },
        { resource: { id: 'no-type' } },
        { resource: observation(), unexpected: true },
        { response: { status: '201', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'bad', code: 'invalid' }] } } },
      ],
    };
    const issues = r4.validate(bad);
    assert.deepEqual(expressions(issues), [
      'Bundle.entry[0].resource.birthDate',
      'Bundle.entry[1].resource.resourceType',
      'Bundle.entry[2].resource.resourceType',
      'Bundle.entry[3].unexpected',
      'Bundle.entry[4].response.outcome.issue[0].severity',
    ]);
    // Errors name the problem, not a failed oneOf over every resource type.
    assert.ok(issues.every((i) => !/oneOf/.test(i.diagnostics)), JSON.stringify(issues));
  });

  test('contained resources and Parameters resources are validated', () => {
    const contained = only(r4.validate(patient({ contained: [{ resourceType: 'Organization', id: 'o1', active: 'yes' }] })));
    assert.deepEqual(contained.expression, ['Patient.contained[0].active']);

    const parameters: Resource = {
      resourceType: 'Parameters',
      parameter: [{ name: 'outer', part: [{ name: 'inner', resource: patient({ gender: 'robot' }) }] }],
    };
    assert.deepEqual(expressions(r4.validate(parameters)), ['Parameters.parameter[0].part[0].resource.gender']);
  });

  test('large base64 values validate (HL7 base64 pattern would overflow the regex stack)', () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 7).toString('base64');
    const withExtension = (value: string) => patient({ extension: [{ url: 'http://example.org/blob', valueBase64Binary: value }] });
    const started = performance.now();
    assert.deepEqual(r4.validate({ resourceType: 'Binary', contentType: 'application/octet-stream', data }), []);
    assert.deepEqual(r4.validate(withExtension(data)), []);
    assert.ok(performance.now() - started < 1000);
    const bad = only(r4.validate(withExtension('not base64!')));
    assert.equal(bad.code, 'value');
    assert.deepEqual(bad.expression, ['Patient.extension[0].valueBase64Binary']);
    assert.match(bad.diagnostics, /base64Binary/);
  });

  test('pathological input gives issues, not exceptions', () => {
    let part: Record<string, unknown> = { name: 'leaf', valueString: 'x' };
    for (let i = 0; i < 20000; i++) part = { name: `p${i}`, part: [part] };
    const deep = only(r4.validate({ resourceType: 'Parameters', parameter: [part] }));
    assert.equal(deep.code, 'structure');
    assert.match(deep.diagnostics, /nested too deeply/);

    const many = createJsonSchemaValidator('4.0.1', { maxIssues: 5 }).validate(patient({ name: Array.from({ length: 20 }, () => ({ bad: 1 })) }));
    assert.equal(many.length, 5);
    assert.match(many[4].diagnostics, /16 more issues/);
  });
});

describe('STU3 JSON schema validation', () => {
  test('valid STU3 resources pass, including STU3-only types', () => {
    assert.deepEqual(stu3.validate(patient({ text: undefined, extension: undefined })), []);
    const procedureRequest: Resource = {
      resourceType: 'ProcedureRequest',
      status: 'active',
      intent: 'order',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '73761001' }] },
      subject: { reference: 'Patient/example' },
      occurrenceDateTime: '2013-05-02',
    };
    assert.deepEqual(stu3.validate(procedureRequest), []);
    assert.equal(only(r4.validate(procedureRequest)).code, 'value');
  });

  test('STU3 reports wrong types, codes and unknown types', () => {
    assert.deepEqual(only(stu3.validate(patient({ birthDate: 123 }))).expression, ['Patient.birthDate']);
    assert.deepEqual(only(stu3.validate(patient({ gender: 'robot' }))).expression, ['Patient.gender']);
    assert.deepEqual(only(stu3.validate({ resourceType: 'ProcedureRequest', code: { text: 'x' } })).expression, ['ProcedureRequest.subject']);
    for (const type of ['ServiceRequest', 'Bot']) assert.equal(only(stu3.validate({ resourceType: type })).code, 'value');
  });

  test('STU3 validates contained resources and Bundle entries against their own type', () => {
    const contained = only(stu3.validate(patient({ text: undefined, extension: undefined, contained: [{ resourceType: 'Organization', active: 'yes' }] })));
    assert.deepEqual(contained.expression, ['Patient.contained[0].active']);
    const bundle: Resource = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'ProcedureRequest', code: { text: 'x' } } }] };
    assert.deepEqual(expressions(stu3.validate(bundle)), ['Bundle.entry[0].resource.subject']);
  });

  test("STU3's schema does not forbid unknown elements (HL7's STU3 schema has no additionalProperties)", () => {
    assert.deepEqual(stu3.validate(patient({ favouriteColour: 'blue' })), []);
  });
});

describe('generated (standalone) validators', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-validators-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('report the same errors as validators compiled at run time', () => {
    const types = ['Patient', 'Observation', 'Bundle', 'Organization'];
    const file = join(dir, 'fhir-4.0.1.cjs');
    writeFileSync(file, generateStandaloneSource('4.0.1', types));
    const generated = loadGeneratedModule(file);
    const runtime = loadCompiledSchemas('4.0.1', 'runtime');
    assert.equal(generated.source, 'generated');
    assert.deepEqual(generated.slots, runtime.slots);
    assert.equal(generated.validatorFor('Encounter'), undefined);

    const samples: Resource[] = [
      patient(),
      patient({ birthDate: 123, active: 'yes', colour: 'blue', name: [{ given: 'x' }], multipleBirthInteger: 1.5 }),
      observation({ status: 'nope', effectiveDateTime: 'x', component: [{ valueQuantity: { value: '1' } }] }),
      { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { id: 'x' } }, { resource: patient() }] },
    ];
    for (const sample of samples) {
      const a = generated.validatorFor(sample.resourceType)!;
      const b = runtime.validatorFor(sample.resourceType)!;
      assert.equal(a(sample), b(sample));
      assert.deepEqual(a.errors ?? null, b.errors ?? null);
    }
  });
});
