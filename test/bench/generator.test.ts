// The synthetic generator (src/generate) and `kiln generate`: deterministic, valid FHIR R4, linked.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateCommand } from '../../src/cli/generate.js';
import type { Bundle, Resource } from '../../src/fhir/types.js';
import { directoryResources, patientBundle, patientRecord, resolveReferences, transactionBundles } from '../../src/generate/synthetic.js';
import { createJsonSchemaValidator } from '../../src/validation/json-schema-validator.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('the same patients and seed give the same bytes; patient i does not depend on the total', () => {
  const a = JSON.stringify([...transactionBundles({ patients: 5, seed: 42 })]);
  const b = JSON.stringify([...transactionBundles({ patients: 5, seed: 42 })]);
  const c = JSON.stringify([...transactionBundles({ patients: 5, seed: 43 })]);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.deepEqual(patientRecord({ patients: 10, seed: 7 }, 3).map((r) => r.id), patientRecord({ patients: 10_000, seed: 7 }, 3).map((r) => r.id));
});

test('every generated resource is valid against the FHIR R4 JSON schema', () => {
  const validator = createJsonSchemaValidator('4.0.1', { compile: 'runtime' });
  const options = { patients: 30, seed: 5 };
  const resources = [...directoryResources(options), ...Array.from({ length: 30 }, (_, i) => patientRecord(options, i)).flat()];
  const types = new Set(resources.map((r) => r.resourceType));
  for (const type of ['Patient', 'Encounter', 'Condition', 'Observation', 'MedicationRequest', 'Practitioner', 'Organization']) assert.ok(types.has(type), `generates ${type}`);
  for (const resource of resources) assert.deepEqual(validator.validate(resource), [], `${resource.resourceType} ${JSON.stringify(resource).slice(0, 300)}`);
  for (const bundle of transactionBundles({ patients: 3, seed: 5 })) assert.deepEqual(validator.validate(bundle), []);
});

test('observations carry LOINC codes and UCUM quantities; references resolve inside the bundle or to the directory', () => {
  const options = { patients: 20, seed: 9 };
  const directory = new Set(directoryResources(options).map((r) => `${r.resourceType}/${r.id}`));
  for (let i = 0; i < 20; i++) {
    const bundle = patientBundle(patientRecord(options, i)) as Bundle;
    const fullUrls = new Set(bundle.entry!.map((e) => e.fullUrl));
    const references = JSON.stringify(bundle).match(/"reference":"[^"]+"/g) ?? [];
    for (const ref of references.map((r) => r.slice(13, -1))) assert.ok(fullUrls.has(ref) || directory.has(ref), `dangling reference ${ref}`);
    for (const entry of bundle.entry!) {
      assert.equal(entry.resource!.id, undefined);
      const resource = entry.resource as Resource & { code?: { coding: { system: string }[] }; valueQuantity?: { value: number; system: string } };
      if (resource.resourceType !== 'Observation') continue;
      assert.equal(resource.code!.coding[0].system, 'http://loinc.org');
      if (resource.valueQuantity) {
        assert.equal(typeof resource.valueQuantity.value, 'number');
        assert.equal(resource.valueQuantity.system, 'http://unitsofmeasure.org');
      }
    }
  }
  const [patient] = resolveReferences(patientRecord(options, 0));
  assert.ok(patient.id);
  const linked = resolveReferences(patientRecord(options, 0)).filter((r) => r.resourceType === 'Encounter');
  assert.ok(linked.every((e) => (e.subject as { reference: string }).reference === `Patient/${patient.id}`));
});

test('kiln generate writes transaction bundles or per-type NDJSON files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-generate-'));
  dirs.push(dir);
  assert.equal(await generateCommand(['--patients', '3', '--seed', '2', '--out', join(dir, 'tx')]), 0);
  const files = readdirSync(join(dir, 'tx')).sort();
  assert.deepEqual(files, ['bundle-000001.json', 'bundle-000002.json', 'bundle-000003.json', 'bundle-000004.json']);
  const first = JSON.parse(readFileSync(join(dir, 'tx', files[0]), 'utf8')) as Bundle;
  assert.ok(first.entry!.every((e) => e.request!.method === 'PUT'));

  assert.equal(await generateCommand(['--patients', '3', '--seed', '2', '--format', 'ndjson', '--out', join(dir, 'nd')]), 0);
  const ndjson = readdirSync(join(dir, 'nd'));
  assert.ok(ndjson.includes('Patient.ndjson') && ndjson.includes('Observation.ndjson'));
  const patients = readFileSync(join(dir, 'nd', 'Patient.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Resource);
  assert.equal(patients.length, 3);
  const observations = readFileSync(join(dir, 'nd', 'Observation.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { subject: { reference: string } });
  assert.ok(observations.every((o) => patients.some((p) => o.subject.reference === `Patient/${p.id}`)));

  assert.equal(await generateCommand(['--patients', 'many']), 2);
});
