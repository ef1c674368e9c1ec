/**
 * The Synthea sample (../shared/data/synthea, see its README) loads through POST / transaction
 * Bundles without a single error — conditional creates (ifNoneExist) in the hospital and
 * practitioner bundles, conditional references in the patient bundles — and is then searchable.
 * A subset here (the two shared bundles and the 10 smallest patients); the bench loads all 122.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readSyntheaBundle, syntheaFiles } from '../../src/generate/synthea.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { allPages, entryStatus, get, post, type Json } from './helpers.js';
import { matchIds, searchset } from './search-helpers.js';

const dir = new URL('../../../shared/data/synthea', import.meta.url).pathname;
const present = existsSync(dir);
if (!present && process.env.CI === 'true') throw new Error(`the Synthea sample is missing at ${dir} (required when CI=true)`);
const skip = present ? false : `the Synthea sample is not at ${dir}`;

let server: TestServer;
let base: string;
const loaded: { patients: string[]; resources: number } = { patients: [], resources: 0 };

before(async () => {
  if (!present) return;
  server = await startTestServer({ limits: { maxTransactionEntries: 10_000, maxBodyBytes: 64 * 1024 * 1024 } });
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

test('the hospital, practitioner and 10 patient bundles load with no error', { skip, timeout: 120_000 }, async () => {
  const [hospital, practitioners, ...patients] = syntheaFiles(dir);
  const smallest = patients.sort((a, b) => statSync(a).size - statSync(b).size).slice(0, 10);
  for (const file of [hospital, practitioners, ...smallest]) {
    const bundle = readSyntheaBundle(file);
    const res = await post(base, '', bundle);
    assert.equal(res.status, 200, `${file}: ${res.status} ${res.text.slice(0, 500)}`);
    const statuses: number[] = res.body.entry.map(entryStatus);
    assert.equal(statuses.length, bundle.entry!.length);
    assert.ok(statuses.every((s) => s === 200 || s === 201), `${file}: statuses ${[...new Set(statuses)].join(', ')}`);
    loaded.resources += statuses.length;
    for (const entry of res.body.entry as Json[]) {
      const match = /Patient\/([^/]+)\/_history/.exec(entry.response.location ?? '');
      if (match) loaded.patients.push(match[1]);
    }
  }
  assert.equal(loaded.patients.length, 10);
  // loading a shared bundle again creates no second Practitioner: every ifNoneExist matches
  const again = await post(base, '', readSyntheaBundle(practitioners));
  const practitionerEntries = (again.body.entry as Json[]).filter((e) => e.fullUrl?.includes('/Practitioner/'));
  assert.equal(practitionerEntries.length, 195);
  assert.ok(practitionerEntries.every((e) => entryStatus(e) === 200));
});

test('the loaded data is searchable: references resolved, compartments complete', { skip, timeout: 60_000 }, async () => {
  assert.ok(loaded.patients.length > 0, 'needs the load test');
  const patientId = loaded.patients[0];
  const everything = (await allPages(base, `Patient/${patientId}/$everything?_count=200`, 1000)).flatMap(matchIds);
  const encounters = await searchset(base, `Encounter?subject=Patient/${patientId}&_count=1&_include=Encounter:participant`);
  assert.ok(encounters.total > 0);
  assert.ok(everything.length > encounters.total, 'the patient and more than its encounters');
  // conditional references became literal references to the loaded practitioners
  const practitioner = (encounters.entry as Json[]).find((e) => e.resource.resourceType === 'Practitioner');
  assert.ok(practitioner, 'the encounter participant resolves to a stored Practitioner');
  const observations = await searchset(base, `Observation?patient=${patientId}&_summary=count`);
  assert.ok(observations.total > 0);
  const chained = await searchset(base, `Observation?subject:Patient.identifier=${encodeURIComponent((await get(base, `Patient/${patientId}`)).body.identifier[0].value)}&_summary=count`);
  assert.equal(chained.total, observations.total);
});
