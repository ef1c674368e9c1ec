// Parameters that share another parameter's index rows (src/search/shared-rows.ts): which ones,
// and that the rows they would store are exactly the rows they read instead.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Resource } from '../../src/fhir/types.js';
import { patientRecord, resolveReferences } from '../../src/generate/synthetic.js';
import { readSyntheaBundle, syntheaFiles } from '../../src/generate/synthea.js';
import { extractIndex, type IndexRows } from '../../src/search/extract.js';
import { defaultRegistry, type SearchParamDefinition } from '../../src/search/parameters.js';
import { searchParameterSet } from '../../src/search/parameter-set.js';
import { tableValues } from '../../src/store/sql/search-index.js';

const registry = defaultRegistry();
const sharing = (type: string, code: string) => registry.get(type, code)?.sharedRows;

describe('which parameters share rows', () => {
  it('a reference narrowed to one target type, and a union of other parameters', () => {
    assert.deepEqual(sharing('Observation', 'patient'), { params: ['subject'], targetType: 'Patient' });
    assert.deepEqual(sharing('Condition', 'patient'), { params: ['subject'], targetType: 'Patient' });
    assert.deepEqual(sharing('Encounter', 'practitioner'), { params: ['participant'], targetType: 'Practitioner' });
    assert.deepEqual(new Set(sharing('Observation', 'combo-code')!.params), new Set(['code', 'component-code']));
    assert.deepEqual(new Set(sharing('Observation', 'combo-value-quantity')!.params), new Set(['value-quantity', 'component-value-quantity']));
    // Composites: the same components, on the resource and on each component.
    assert.deepEqual(new Set(sharing('Observation', 'combo-code-value-quantity')!.params), new Set(['code-value-quantity', 'component-code-value-quantity']));
  });

  it('not the parameters that are shared, nor those with rows of their own', () => {
    for (const [type, code] of [
      ['Observation', 'subject'],
      ['Observation', 'code'],
      ['Observation', 'code-value-quantity'],
      ['Observation', 'component-code-value-concept'],
      ['Claim', 'patient'],
      ['Patient', 'name'],
      ['Observation', '_id'],
    ]) {
      assert.equal(sharing(type, code), undefined, `${type}.${code}`);
    }
    let count = 0;
    for (const type of registry.resourceTypes) {
      for (const def of registry.paramsFor(type).values()) {
        if (!def.sharedRows) continue;
        count++;
        for (const code of def.sharedRows.params) assert.equal(registry.get(type, code)?.sharedRows, undefined, `${type}.${def.code} shares rows of ${code}, which shares too`);
      }
    }
    assert.equal(count, 53);
  });

  it('follows the definitions: a custom parameter can end the sharing', () => {
    const custom = searchParameterSet([
      { resourceType: 'SearchParameter', url: 'http://example.org/SearchParameter/obs-subject', code: 'subject', base: ['Observation'], type: 'reference', expression: 'Observation.subject | Observation.focus' },
    ]);
    assert.equal(custom.registry.get('Observation', 'patient')?.sharedRows, undefined);
    assert.deepEqual(custom.registry.get('Condition', 'patient')?.sharedRows, { params: ['subject'], targetType: 'Patient' });
  });
});

/** A parameter's rows as the store writes them (value columns as text; code and composite group left out). */
function rowsOf(rows: IndexRows, def: SearchParamDefinition, codes: readonly string[], targetType?: string): Set<string> {
  const [, values] = tableValues(rows).find(([kind]) => kind === def.type)!;
  return new Set(values.filter((v) => codes.includes(v[0] as string) && (targetType === undefined || v[1] === targetType)).map((v) => JSON.stringify(v.slice(def.type === 'composite' ? 2 : 1))));
}

/** Fails with the first resource and parameter whose own rows differ from the rows it shares. */
function assertSharedRowsExact(resources: Iterable<Resource>): number {
  let compared = 0;
  for (const resource of resources) {
    const rows = extractIndex(resource, { baseUrls: ['https://kiln.example/fhir'], fullText: false });
    const stored = extractIndex(resource, { baseUrls: ['https://kiln.example/fhir'], fullText: false, sharedRows: false });
    for (const def of registry.paramsFor(resource.resourceType).values()) {
      const shared = def.sharedRows;
      if (!shared) continue;
      const own = rowsOf(rows, def, [def.code]);
      assert.deepEqual(rowsOf(rows, def, shared.params, shared.targetType), own, `${resource.resourceType}/${resource.id} ${def.code}`);
      assert.equal(rowsOf(stored, def, [def.code]).size, 0, 'the store is not given rows of a parameter that shares');
      compared += own.size;
    }
  }
  return compared;
}

const edgeReferences: Resource[] = [
  { reference: 'Patient/p1' },
  { reference: 'Group/g1' },
  { reference: 'Patient/p1/_history/3' },
  { reference: 'https://kiln.example/fhir/Patient/p2' },
  { reference: 'https://elsewhere.example/fhir/Patient/p3' },
  { reference: 'https://elsewhere.example/fhir/Patient' },
  { reference: 'Patient/not an id!' },
  { reference: 'urn:uuid:3b0bfa1c-2f3c-4d8a-9e67-1c2d3e4f5a6b' },
  { reference: 'urn:uuid:3b0bfa1c-2f3c-4d8a-9e67-1c2d3e4f5a6b', type: 'Patient' },
  { reference: 'Patient/p4', type: 'Group' },
  { identifier: { system: 'http://example.org/mrn', value: '12345' }, type: 'Patient' },
  { identifier: { system: 'http://example.org/mrn', value: '12345' } },
  { reference: '#pat', identifier: { value: 'x' } },
  { reference: '#missing', identifier: { value: 'y' }, type: 'Patient' },
  { display: 'someone' },
].map((subject, i) => ({
  resourceType: 'Observation',
  id: `edge-${i}`,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  contained: [{ resourceType: 'Patient', id: 'pat' }],
  subject,
  component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, valueQuantity: { value: 60, system: 'http://unitsofmeasure.org', code: '/min' } }],
  valueQuantity: { value: 60, system: 'http://unitsofmeasure.org', code: '/min' },
}));

describe('a parameter that shares rows would store exactly the rows it shares', () => {
  it('references of every form', () => {
    assert.ok(assertSharedRowsExact(edgeReferences) > 0);
  });

  it('generated patient records', () => {
    const resources = Array.from({ length: 40 }, (_, i) => resolveReferences(patientRecord({ patients: 40, seed: 7 }, i))).flat();
    assert.ok(assertSharedRowsExact(resources) > 100);
  });

  const dir = new URL('../../../shared/data/synthea', import.meta.url).pathname;
  const present = existsSync(dir);
  if (!present && process.env.CI === 'true') throw new Error(`the Synthea sample is missing at ${dir} (required when CI=true)`);
  it('the Synthea sample', { skip: present ? false : `the Synthea sample is not at ${dir}`, timeout: 120_000 }, () => {
    const resources = function* () {
      for (const file of syntheaFiles(dir)) for (const entry of readSyntheaBundle(file).entry ?? []) if (entry.resource) yield entry.resource as Resource;
    };
    assert.ok(assertSharedRowsExact(resources()) > 10_000);
  });
});
