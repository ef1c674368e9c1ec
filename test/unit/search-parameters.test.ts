import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HL7_PREFIX, SearchParamRegistry, defaultRegistry, expressionFor, loadR4SearchParameters, paramsFor } from '../../src/search/parameters.js';
import { splitUnion } from '../../src/search/path.js';

describe('search parameter registry', () => {
  it('loads every HL7 R4 base SearchParameter and nothing else', () => {
    const all = loadR4SearchParameters();
    assert.ok(all.length >= 1300, `only ${all.length} definitions`);
    assert.ok(all.every((sp) => sp.url.startsWith(HL7_PREFIX)));
    assert.ok(all.some((sp) => sp.url === 'http://hl7.org/fhir/SearchParameter/Observation-code-value-quantity'));
  });

  it('knows the R4 resource types', () => {
    const reg = defaultRegistry();
    for (const t of ['Patient', 'Observation', 'Bundle', 'Binary', 'Parameters']) assert.ok(reg.isResourceType(t), t);
    for (const t of ['Resource', 'DomainResource', 'HumanName', 'Quantity', 'Nope']) assert.ok(!reg.isResourceType(t), t);
    assert.ok(reg.resourceTypes.size >= 140 && reg.resourceTypes.size <= 150, `${reg.resourceTypes.size}`);
  });

  it('answers the parameters of a type, typed, with the common ones', () => {
    const p = paramsFor('Patient');
    assert.equal(p.get('name')?.type, 'string');
    assert.equal(p.get('birthdate')?.type, 'date');
    assert.equal(p.get('gender')?.type, 'token');
    assert.deepEqual(p.get('organization')?.targets, ['Organization']);
    assert.equal(p.get('organization')?.type, 'reference');
    for (const code of ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content']) {
      assert.ok(p.has(code), code);
    }
    assert.equal(p.get('_id')?.special, 'id');
    assert.equal(p.get('_lastUpdated')?.special, 'lastUpdated');
    assert.equal(p.get('_text')?.special, 'text');
    assert.equal(p.get('_content')?.special, 'content');
    assert.equal(p.get('_tag')?.special, undefined);
    assert.equal(p.get('_tag')?.type, 'token');
    assert.equal(p.get('_profile')?.type, 'uri');
    assert.equal(p.get('_source')?.type, 'uri');
  });

  it('rebases common expressions onto the resource type', () => {
    assert.equal(paramsFor('Patient').get('_id')?.expression, 'Patient.id');
    assert.equal(paramsFor('Observation').get('_tag')?.expression, 'Observation.meta.tag');
    assert.equal(paramsFor('Patient').get('_id')?.base, 'Patient');
  });

  it('gives _text only to DomainResources', () => {
    assert.ok(!paramsFor('Bundle').has('_text'));
    assert.ok(paramsFor('Bundle').has('_id'));
    assert.ok(paramsFor('Observation').has('_text'));
  });

  it('splits shared expressions per resource type', () => {
    const patient = paramsFor('Observation').get('patient');
    assert.equal(patient?.expression, 'Observation.subject.where(resolve() is Patient)');
    assert.equal(paramsFor('Condition').get('code')?.expression, 'Condition.code');
    assert.equal(paramsFor('MedicationRequest').get('code')?.expression, '(MedicationRequest.medication as CodeableConcept)');
    assert.equal(paramsFor('Practitioner').get('phone')?.expression, "Practitioner.telecom.where(system='phone')");
    // relative terms (no type root) apply to every base
    assert.equal(paramsFor('InsurancePlan').get('name')?.expression, 'name | alias');
  });

  it('expressionFor keeps matching, common and relative terms', () => {
    const types = new Set(['Patient', 'Practitioner']);
    assert.equal(expressionFor('Patient.name | Practitioner.name', 'Practitioner', types), 'Practitioner.name');
    assert.equal(expressionFor('Resource.id | Patient.link | foo', 'Patient', types), 'Resource.id | Patient.link | foo');
    assert.equal(expressionFor('(Patient.x as Quantity) | (Practitioner.x as Range)', 'Patient', types), '(Patient.x as Quantity)');
  });

  it('splitUnion respects parentheses and quoted strings', () => {
    assert.deepEqual(splitUnion("(A.b as X) | A.c.where(d='x|y') | A.e"), ['(A.b as X)', "A.c.where(d='x|y')", 'A.e']);
  });

  it('resolves composite components to their parameters', () => {
    const cvq = paramsFor('Observation').get('code-value-quantity');
    assert.equal(cvq?.type, 'composite');
    assert.deepEqual(
      cvq?.components?.map((c) => [c.code, c.type, c.expression]),
      [
        ['code', 'token', 'code'],
        ['value-quantity', 'quantity', 'value.as(Quantity)'],
      ],
    );
    assert.equal(cvq?.multipleOr, false);
  });

  it('declares modifiers and comparators by type', () => {
    const p = paramsFor('Observation');
    assert.deepEqual([...p.get('date')!.comparators].sort(), ['ap', 'eb', 'eq', 'ge', 'gt', 'le', 'lt', 'ne', 'sa']);
    assert.deepEqual(p.get('code')!.comparators, []);
    assert.ok(p.get('code')!.modifiers.includes('text'));
    assert.ok(p.get('code')!.modifiers.includes('of-type'));
    assert.ok(!p.get('code')!.modifiers.includes('in'));
    assert.ok(p.get('subject')!.modifiers.includes('identifier'));
    assert.ok(paramsFor('Patient').get('name')!.modifiers.includes('exact'));
    assert.ok(paramsFor('ValueSet').get('url')!.modifiers.includes('below'));
    for (const def of p.values()) if (!def.special && def.type !== 'special') assert.ok(def.modifiers.includes('missing'), def.code);
  });

  it('marks special and unsupported parameters', () => {
    assert.equal(paramsFor('Location').get('near')?.special, 'unsupported');
    assert.equal(paramsFor('Patient').get('_query')?.special, 'unsupported');
  });

  it('accepts custom definitions without code changes', () => {
    const reg = defaultRegistry().with([
      {
        resourceType: 'SearchParameter',
        url: 'http://example.org/SearchParameter/patient-nickname',
        code: 'nickname',
        base: ['Patient'],
        type: 'string',
        expression: "Patient.name.where(use = 'nickname').given",
      },
    ]);
    assert.equal(reg.get('Patient', 'nickname')?.type, 'string');
    assert.equal(defaultRegistry().get('Patient', 'nickname'), undefined);
    assert.equal(reg.get('Patient', 'name')?.type, 'string');
  });

  it('a registry can be built from any definitions', () => {
    const reg = new SearchParamRegistry([
      { resourceType: 'SearchParameter', url: 'u:1', code: 'x', base: ['Patient', 'Practitioner'], type: 'token', expression: 'Patient.gender | Practitioner.gender' },
    ]);
    assert.equal(reg.get('Practitioner', 'x')?.expression, 'Practitioner.gender');
    assert.equal(reg.get('Patient', 'name'), undefined);
    assert.equal(reg.byUrl('u:1')?.code, 'x');
  });
});

describe('single-valued parameters', () => {
  it('plain paths through elements of at most one value are single-valued; others are not', async () => {
    const { isSingleValued } = await import('../../src/search/single-valued.js');
    const registry = defaultRegistry();
    const param = (type: string, code: string) => registry.get(type, code)!;
    assert.equal(isSingleValued(param('Patient', 'birthdate')), true);
    assert.equal(isSingleValued(param('Encounter', 'date')), true);
    assert.equal(isSingleValued(param('Observation', 'date')), true);
    assert.equal(isSingleValued(param('Patient', 'name')), false, 'Patient.name repeats');
    const custom = { ...param('Patient', 'birthdate'), code: 'address-period', expression: 'Patient.address.period' };
    assert.equal(isSingleValued(custom), false, 'Patient.address repeats, so its periods do');
    assert.equal(isSingleValued({ ...custom, expression: "Patient.extension.where(url='x').value" }), false, 'not a plain path');
  });
});
