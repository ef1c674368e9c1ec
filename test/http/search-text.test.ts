/**
 * `_text` (narrative) and `_content` (all text) on the full-text index, black-box over HTTP (run
 * on SQLite, and on PostgreSQL by the second pass of `npm test`): each word of a value starts a
 * word of the text, case- and accent-insensitively; several words are ANDed, comma-separated
 * values ORed. Spec: https://hl7.org/fhir/R4/search.html#_text, #_content.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useTestServer } from '../support/server.js';
import { assertOperationOutcome, create, del, get, http, put, unique, type Json } from './helpers.js';
import { ids, searchset, sorted } from './search-helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

const narrative = (text: string) => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${text}</p></div>` });

describe('_content and _text', () => {
  let tag: string;
  let word: string;
  const r: Record<string, Json> = {};
  const q = (query: string) => ids(base, `Observation?_tag=${tag}&${query}`);

  before(async () => {
    tag = unique('fts');
    // A word of its own, so that searches without _tag find only this run's resources.
    word = `zq${unique('').replace(/[^a-z0-9]/g, '').slice(0, 12)}`;
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    const observation = (note: string, text?: string): Json => ({
      resourceType: 'Observation',
      meta,
      status: 'final',
      code: { text: 'Observation' },
      note: [{ text: note }],
      ...(text ? { text: narrative(text) } : {}),
    });
    r.glucose = await create(base, observation(`Fasting blood glucose ${word}`, 'Glucose &amp; insulin <b>Crème Brûlée</b>'));
    r.sugar = await create(base, observation(`Blood sugar, contact by e-mail`));
    r.pressure = await create(base, observation(`BLOOD PRESSURE ${word}`));
    r.zurich = await create(base, observation('Measured in Zürich, 3.5 km away'));
  });

  test('a word matches the start of a word, case- and accent-insensitively', async () => {
    assert.deepEqual(await q('_content=glu'), [r.glucose.id]);
    assert.deepEqual(await q('_content=GLUCOSE'), [r.glucose.id]);
    assert.deepEqual(await q('_content=ucose'), [], 'not inside a word');
    assert.deepEqual(await q('_content=zurich'), [r.zurich.id]);
    assert.deepEqual(await q('_content=Zür'), [r.zurich.id]);
  });

  test('several words are ANDed, in any order; comma-separated values are ORed', async () => {
    assert.deepEqual(await q('_content=blood%20glu'), [r.glucose.id]);
    assert.deepEqual(await q('_content=pressure%20blood'), [r.pressure.id]);
    assert.deepEqual(await q('_content=blood'), sorted([r.glucose.id, r.sugar.id, r.pressure.id]));
    assert.deepEqual(await q('_content=sugar,pressure'), sorted([r.sugar.id, r.pressure.id]));
    assert.deepEqual(await q('_content=blood%20sugar,zurich'), sorted([r.sugar.id, r.zurich.id]));
    assert.deepEqual(await q('_content=sugar&_content=pressure'), [], 'repetition is AND');
  });

  test('_content holds the strings in lists: given names, address lines', async () => {
    const given = `gn${word}`;
    const line = `st${word}`;
    const patient = await create(base, { resourceType: 'Patient', meta: { tag: [{ system: 'http://kiln.test/run', code: tag }] }, name: [{ family: 'Smith', given: ['Ann', given] }], address: [{ line: [`12 ${line}`] }] });
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_content=${given}`), [patient.id]);
    assert.deepEqual(await ids(base, `Patient?_tag=${tag}&_content=${line}`), [patient.id]);
  });

  test(':missing on _text and _content is a 400 not-supported naming the parameter', async () => {
    // The full-text index keeps no row for a resource without text, so it cannot answer :missing.
    for (const name of ['_text', '_content']) {
      const res = await get(base, `Patient?${name}:missing=true`);
      assert.equal(res.status, 400);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.match(res.text, new RegExp(name));
    }
  });

  test('_sort by _text or _content is a 400 not-supported naming _sort, at type and system level and by POST', async () => {
    // The index keeps no ranking: a relevance order the client asked for is refused, never dropped.
    for (const sort of ['_text', '-_content', '_lastUpdated,_content']) {
      for (const res of [
        await get(base, `Observation?_content=blood&_sort=${sort}`),
        await get(base, `?_type=Observation&_sort=${sort}`),
        await http(base, 'POST', 'Observation/_search', { rawBody: `_sort=${sort}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      ]) {
        const outcome = assertOperationOutcome(res, 400, `_sort=${sort}`);
        assert.equal(outcome.issue[0].code, 'not-supported', `_sort=${sort}`);
        assert.deepEqual(outcome.issue[0].expression, ['_sort'], `_sort=${sort}`);
        assert.match(outcome.issue[0].diagnostics, /Sorting by '_(text|content)' is not supported/);
      }
    }
    const sorted = await get(base, `Observation?_tag=${tag}&_sort=-_lastUpdated`);
    assert.equal(sorted.status, 200, 'other sort keys still work');
  });

  test('punctuation separates words, in the text and in the search', async () => {
    assert.deepEqual(await q('_content=mail'), [r.sugar.id]);
    assert.deepEqual(await q('_content=e-mail'), [r.sugar.id]);
    assert.deepEqual(await q('_content=3.5'), [r.zurich.id]);
    assert.deepEqual(await q('_content=km'), [r.zurich.id]);
    assert.deepEqual(await q('_content=---'), [], 'a value without words matches nothing');
  });

  test('_text searches the narrative only, without its markup', async () => {
    assert.deepEqual(await q('_text=insulin'), [r.glucose.id]);
    assert.deepEqual(await q('_text=creme%20brulee'), [r.glucose.id]);
    assert.deepEqual(await q('_text=fasting'), [], 'a note is not narrative');
    assert.deepEqual(await q('_text=div'), [], 'tags are not text');
    assert.deepEqual(await q('_content=insulin'), [], '_content leaves the narrative to _text');
  });

  test('the index drives a search alone, with totals, and at system level', async () => {
    const bundle = await searchset(base, `Observation?_content=${word}&_total=accurate`);
    assert.equal(bundle.total, 2);
    assert.deepEqual(await ids(base, `Observation?_content=${word}`), sorted([r.glucose.id, r.pressure.id]));
    assert.deepEqual(await ids(base, `Observation?_content=${word}%20pressure`), [r.pressure.id]);
    assert.deepEqual(await ids(base, `Patient?_content=${word}`), [], 'scoped to the type');
    assert.deepEqual(await ids(base, `?_content=${word}&_type=Observation,Patient`), sorted([r.glucose.id, r.pressure.id]));
    assert.deepEqual(await ids(base, `?_content=${word}`), sorted([r.glucose.id, r.pressure.id]));
    assert.deepEqual(await ids(base, `Observation?_content=${word}&_text=insulin`), [r.glucose.id]);
  });

  test('an update replaces the words; a deletion removes them', async () => {
    const updated = { ...r.zurich, note: [{ text: `Now in Genève ${word}x` }] };
    assert.equal((await put(base, `Observation/${r.zurich.id}`, updated)).status, 200);
    assert.deepEqual(await q('_content=zurich'), []);
    assert.deepEqual(await q('_content=geneve'), [r.zurich.id]);
    assert.equal((await del(base, `Observation/${r.zurich.id}`)).status, 200);
    assert.deepEqual(await q('_content=geneve'), []);
    assert.equal((await get(base, `Observation?_content=geneve&_tag=${tag}`)).status, 200);
  });
});
