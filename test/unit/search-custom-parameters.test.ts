import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { SearchParameterError, loadCustomParameters } from '../../src/search/custom-parameters.js';
import { extractIndex } from '../../src/search/extract.js';
import { parameterChanges } from '../../src/search/parameter-changes.js';
import { defaultParameterSet, searchParameterSet } from '../../src/search/parameter-set.js';
import { eyeColour } from '../support/eye-colour.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-custom-sp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const good = eyeColour;

function rejects(source: unknown, pattern: RegExp): void {
  assert.throws(
    () => loadCustomParameters([source as Record<string, unknown>]),
    (error: Error) => {
      assert.ok(error instanceof SearchParameterError, `a SearchParameterError, got ${error.name}: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('custom SearchParameters: checks with clear messages', () => {
  it('names the file, the parameter and the problem', () => {
    const path = file('bad-base.json', { ...good, base: ['Patinet'] });
    rejects(path, new RegExp(`^Search parameter file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: SearchParameter 'eye-colour' \\(http://example.org/SearchParameter/eye-colour\\): unknown base type "Patinet"$`));
  });

  it('unsupported and unknown types', () => {
    rejects({ ...good, type: 'special' }, /type 'special' is not supported: Kiln indexes number, date, string, token, reference, composite, quantity, uri parameters/);
    rejects({ ...good, type: 'text' }, /unknown type 'text'/);
  });

  it('expressions that do not compile', () => {
    rejects({ ...good, expression: 'Patient.name.where(' }, /expression 'Patient.name.where\(' does not compile for Patient: /);
    rejects({ ...good, expression: 'Patient.name.(' }, /does not compile for Patient/);
    rejects({ ...good, expression: 'Patient.name.frobnicate()' }, /does not compile for Patient: .*frobnicate/);
    rejects({ ...good, expression: undefined }, /expression is missing/);
  });

  it('missing or reserved fields', () => {
    rejects({ ...good, url: undefined }, /SearchParameter 'eye-colour': url is missing/);
    rejects({ ...good, code: '_sort' }, /code '_sort' is reserved/);
    rejects({ ...good, code: 'eye.colour' }, /is not a valid parameter name/);
    rejects({ ...good, base: [] }, /base is missing/);
    rejects({ ...good, type: 'reference', target: ['Nope'] }, /unknown target type 'Nope'/);
  });

  it('files that are not definitions', () => {
    rejects(join(dir, 'missing.json'), /^Cannot read search parameter file .*missing\.json: no such file$/);
    rejects(file('broken.json', '{"resourceType": '), /^Search parameter file .*broken\.json is not valid JSON/);
    rejects(file('patient.json', { resourceType: 'Patient' }), /expected a SearchParameter or a Bundle of them, found resourceType 'Patient'/);
    rejects(file('mixed.json', { resourceType: 'Bundle', entry: [{ resource: good }, { resource: { resourceType: 'Patient' } }] }), /mixed\.json, entry 2: expected a SearchParameter, found resourceType 'Patient'/);
  });

  it('the same base and code twice', () => {
    assert.throws(() => loadCustomParameters([good, { ...good, url: 'http://example.org/other' }]), /Patient parameter 'eye-colour' is also defined by search parameter 1 of the configuration/);
  });

  it('composites need known, non-composite components', () => {
    const composite = { ...good, code: 'eye-and-name', type: 'composite', expression: 'Patient', component: [{ definition: 'http://example.org/nope', expression: 'name' }] };
    rejects(composite, /component definition 'http:\/\/example.org\/nope' is not a known SearchParameter/);
  });
});

describe('custom SearchParameters: indexed', () => {
  it('a custom composite over a custom and an R4 component', () => {
    const composite = {
      resourceType: 'SearchParameter',
      url: 'http://example.org/SearchParameter/eye-gender',
      code: 'eye-gender',
      base: ['Patient'],
      type: 'composite',
      expression: 'Patient',
      component: [
        { definition: 'http://hl7.org/fhir/SearchParameter/individual-gender', expression: 'gender' },
        { definition: good.url, expression: "extension.where(url='http://example.org/eye-colour').value" },
      ],
    };
    const { registry } = loadCustomParameters([good, composite]);
    const rows = extractIndex({ resourceType: 'Patient', gender: 'female', extension: [{ url: 'http://example.org/eye-colour', valueString: 'Blue' }] }, { registry });
    const row = rows.composite.find((c) => c.param === 'eye-gender');
    assert.ok(row, 'a composite row');
    assert.deepEqual(
      row.components.map((c) => c.type),
      ['token', 'string'],
    );
  });

  it('a parameter on Resource applies to every type', () => {
    const everywhere = { ...good, code: 'source-system', base: ['Resource'], type: 'uri', expression: 'Resource.meta.source' };
    const { registry } = loadCustomParameters([everywhere]);
    for (const type of ['Patient', 'Observation', 'Bundle']) assert.equal(registry.get(type, 'source-system')?.expression, `${type}.meta.source`);
  });
});

describe('what a change of parameters touches', () => {
  it('nothing when the set is the same, only the changed codes and types otherwise', () => {
    const set = searchParameterSet([good]);
    assert.deepEqual(parameterChanges(set.identity, set), { types: [], codes: new Set() });
    assert.deepEqual(parameterChanges(defaultParameterSet().identity, set), { types: ['Patient'], codes: new Set(['eye-colour']) });
    assert.deepEqual(parameterChanges(set.identity, defaultParameterSet()), { types: ['Patient'], codes: new Set(['eye-colour']) });
    const everywhere = searchParameterSet([{ ...good, base: ['Resource'], expression: 'Resource.meta.source' }]);
    assert.deepEqual(parameterChanges(defaultParameterSet().identity, everywhere), { codes: new Set(['eye-colour']) });
  });

  it('composites built on a replaced component, and everything when the base set changed', () => {
    const url = 'http://hl7.org/fhir/SearchParameter/Observation-value-quantity';
    const replaced = searchParameterSet([{ ...good, url, code: 'value-quantity', base: ['Observation'], type: 'quantity', expression: '(Observation.value as Quantity)' }]);
    const changes = parameterChanges(defaultParameterSet().identity, replaced);
    assert.deepEqual(changes?.types, ['Observation']);
    // combo-value-quantity shared value-quantity's rows until the replacement changed its terms.
    assert.deepEqual(changes?.codes, new Set(['value-quantity', 'code-value-quantity', 'combo-value-quantity']));
    assert.equal(parameterChanges({ ...defaultParameterSet().identity, definitions: '0.0.1' }, replaced), undefined);
    assert.equal(parameterChanges(undefined, replaced), undefined);
  });
});

describe('configuration', () => {
  it('flag, environment variable and config file', () => {
    const config = file('kiln.json', { search: { parameters: ['a.json', good] } });
    assert.deepEqual(loadConfig({ config }, {}).search.parameters, ['a.json', good]);
    assert.deepEqual(loadConfig({ config }, { KILN_SEARCH_PARAMETERS: 'b.json, c.json' }).search.parameters, ['b.json', 'c.json']);
    assert.deepEqual(loadConfig({ config, 'search-parameters': 'd.json' }, { KILN_SEARCH_PARAMETERS: 'b.json' }).search.parameters, ['d.json']);
    assert.deepEqual(loadConfig({}, {}).search.parameters, []);
    assert.throws(() => loadConfig({ config: file('bad.json', { search: { parameters: 'a.json' } }) }, {}), /search.parameters must be a list/);
  });
});
