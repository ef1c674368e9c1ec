// Reading the shared Synthea sample (../shared/data/synthea) and the opt-in conditional-rewrite workaround.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { rewriteConditionals } from '../../bench/lib/synthea-rewrite.js';
import { readSyntheaBundle, syntheaFiles } from '../../src/generate/synthea.js';

const dir = new URL('../../../shared/data/synthea', import.meta.url).pathname;
const present = existsSync(dir);
if (!present && process.env.CI === 'true') throw new Error(`the Synthea sample is missing at ${dir} (required when CI=true)`);
const skip = present ? false : `the Synthea sample is not at ${dir}`;

test('the Synthea bundles load hospital and practitioners first, 92,114 resources in all', { skip, timeout: 60_000 }, () => {
  const files = syntheaFiles(dir);
  assert.equal(files.length, 122);
  assert.match(files[0], /hospitalInformation/);
  assert.match(files[1], /practitionerInformation/);
  let total = 0;
  for (const file of files) total += readSyntheaBundle(file).entry?.length ?? 0;
  assert.equal(total, 92_114);
});

test('--synthea-rewrite-conditionals leaves no conditional create or reference behind', { skip }, () => {
  const files = syntheaFiles(dir);
  const practitioners = rewriteConditionals(readSyntheaBundle(files[1])).entry!;
  assert.ok(practitioners.every((e) => e.request!.ifNoneExist === undefined));
  const puts = practitioners.filter((e) => e.resource!.resourceType === 'Practitioner');
  assert.equal(puts.length, 195);
  assert.ok(puts.every((e) => e.request!.method === 'PUT' && e.request!.url === `Practitioner/${e.resource!.id}`));
  const patient = JSON.stringify(rewriteConditionals(readSyntheaBundle(files[2])));
  assert.doesNotMatch(patient, /"reference":"[A-Za-z]+\?/);
  assert.match(patient, /"reference":"Practitioner\/syn-\d+"/);
});
