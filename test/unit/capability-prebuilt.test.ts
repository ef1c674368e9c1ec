// The CapabilityStatement's search section prebuilt by `npm run build` for HL7's R4 parameters.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prebuiltSearchSection, writePrebuiltSearchSection } from '../../src/interactions/capability-prebuilt.js';
import { searchSection } from '../../src/interactions/capability-search.js';
import { defaultParameterSet, searchParameterSet } from '../../src/search/parameter-set.js';
import { eyeColour } from '../support/eye-colour.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-capability-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a prebuilt section reads back as the section computed from the registry', () => {
  const path = join(dir, 'generated', 'capability-search.json');
  const set = defaultParameterSet();
  const computed = searchSection(set.registry);
  writePrebuiltSearchSection(set.fingerprint, computed, path);
  assert.deepEqual(prebuiltSearchSection(set.fingerprint, path), computed);
  assert.ok(computed.types.Patient.searchParam.some((p) => p.name === 'name'));
  assert.ok(computed.types.Patient.searchRevInclude.includes('Observation:subject'));
});

test('it is not used for another parameter set, nor when the file is absent', () => {
  const path = join(dir, 'other', 'capability-search.json');
  writePrebuiltSearchSection(defaultParameterSet().fingerprint, searchSection(defaultParameterSet().registry), path);
  const custom = searchParameterSet([eyeColour]);
  assert.notEqual(custom.fingerprint, defaultParameterSet().fingerprint);
  assert.equal(prebuiltSearchSection(custom.fingerprint, path), undefined);
  assert.equal(prebuiltSearchSection(defaultParameterSet().fingerprint, join(dir, 'absent.json')), undefined);
});
