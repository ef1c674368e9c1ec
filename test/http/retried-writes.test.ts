/**
 * A write the store runs again (after a conflict, SqlStore.transaction retries it) starts from the
 * request as sent: a transaction's rewritten references and assigned ids, or a JSON Patch's
 * applied operations, leave no trace of the first run.
 * Spec: https://hl7.org/fhir/R4/http.html#trules (references to entries' fullUrls are rewritten).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Store } from '../../src/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { absoluteLocation, get, http, post, unique, type Json } from './helpers.js';

let server: TestServer;
let base: string;
let runs = 0;

/** Runs every transaction's work twice: the first run to its end, then rolled back, as a retry does. */
function runningEveryTransactionTwice(store: Store): Store {
  const rolledBack = new Error('rolled back, to be run again');
  const transaction: Store['transaction'] = async (work, options) => {
    await store
      .transaction(async (tx) => {
        runs++;
        await work(tx);
        throw rolledBack;
      }, options)
      .catch((error: unknown) => {
        if (error !== rolledBack) throw error;
      });
    return store.transaction(work, options);
  };
  return new Proxy(store, {
    get: (target, property) => {
      if (property === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

before(async () => {
  server = await startTestServer({}, runningEveryTransactionTwice);
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

test('a transaction run a second time writes the references and ids of its second run, from the Bundle as sent', async () => {
  const patientUrl = `urn:uuid:${randomUUID()}`;
  const conditionalUrl = `urn:uuid:${randomUUID()}`;
  const mrn = unique('retry');
  const observation = (subject: string, code: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: code },
    subject: { reference: subject },
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${subject}">the patient</a></div>` },
  });
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: patientUrl, resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
      { resource: observation(patientUrl, 'first'), request: { method: 'POST', url: 'Observation' } },
      {
        fullUrl: conditionalUrl,
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: mrn }] },
        request: { method: 'PUT', url: `Patient?identifier=urn:test:mrn|${mrn}` },
      },
      { resource: observation(conditionalUrl, 'second'), request: { method: 'POST', url: 'Observation' } },
    ],
  };
  const before = runs;
  const res = await post(base, '', bundle);
  assert.equal(res.status, 200, res.text);
  assert.equal(runs - before, 1, 'the transaction ran once before the run that committed');
  const locations = (res.body.entry as Json[]).map((entry) => absoluteLocation(base, entry.response.location).replace(/\/_history\/.*$/, ''));
  const [patientId, , conditionalId] = locations.map((location) => location.split('/').pop()!);
  for (const [index, subjectId] of [
    [1, patientId],
    [3, conditionalId],
  ] as const) {
    const stored = await get(base, locations[index].slice(base.length + 1));
    assert.equal(stored.status, 200);
    assert.equal(stored.body.subject.reference, `Patient/${subjectId}`);
    assert.match(stored.body.text.div, new RegExp(`href="Patient/${subjectId}"`));
    assert.equal((await get(base, `Patient/${subjectId}`)).status, 200, 'the reference resolves');
  }
  const conditional = await get(base, `Patient/${conditionalId}`);
  assert.equal(conditional.body.id, conditionalId);
  const searched = await get(base, `Observation?subject=Patient/${patientId}`);
  assert.equal(searched.body.entry?.length, 1, 'the index holds the second run’s reference');
});

// fast-json-patch puts an `add` operation's value into the document by reference: an operation
// after it then changes the value inside the patch itself, and a second run would see that.
const addingOneIdentifier = () => [
  { op: 'add', path: '/identifier', value: [] },
  { op: 'add', path: '/identifier/-', value: { system: 'urn:test:retry', value: 'one' } },
];
const patchBinary = () => ({ resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(addingOneIdentifier())).toString('base64') });

async function identifiersAfter(patch: (id: string) => Promise<{ status: number; text: string; body: Json }>): Promise<Json[]> {
  const created = await post(base, 'Patient', { resourceType: 'Patient', active: true });
  assert.equal(created.status, 201, created.text);
  const before = runs;
  const answer = await patch(created.body.id);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(runs - before, 1, 'the patch ran once before the run that committed');
  return (await get(base, `Patient/${created.body.id}`)).body.identifier;
}

test('a PATCH run a second time applies the operations as sent', async () => {
  const identifiers = await identifiersAfter((id) =>
    http(base, 'PATCH', `Patient/${id}`, { rawBody: JSON.stringify(addingOneIdentifier()), headers: { 'content-type': 'application/json-patch+json' } }),
  );
  assert.deepEqual(identifiers, [{ system: 'urn:test:retry', value: 'one' }]);
});

test('a batch PATCH entry run a second time applies the operations as sent', async () => {
  const identifiers = await identifiersAfter(async (id) => {
    const answer = await post(base, '', { resourceType: 'Bundle', type: 'batch', entry: [{ resource: patchBinary(), request: { method: 'PATCH', url: `Patient/${id}` } }] });
    assert.match((answer.body.entry as Json[])[0].response.status, /^200/, answer.text);
    return answer;
  });
  assert.deepEqual(identifiers, [{ system: 'urn:test:retry', value: 'one' }]);
});
