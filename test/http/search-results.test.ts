/**
 * Search results: _sort, paging, _total, _summary, _elements, unknown parameters, POST _search,
 * system and compartment search, Patient/$everything — black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/search.html (#sort, #count, #total, #summary, #elements, #errors,
 * #compartments), http.html#search and #paging, patient-operation-everything.html.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';
import { allPages, create, get, http, linkUrl, remove, unique, type Json } from './helpers.js';
import { assertNamesParameter, createAll, ids, matchIds, searchset, sorted } from './search-helpers.js';

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer({ limits: { maxPageSize: 50 } });
  base = server.baseUrl;
});

after(async () => {
  await server?.close();
});

const tagged = (tag: string, extra: Json = {}) => ({ resourceType: 'Patient', meta: { tag: [{ system: 'http://kiln.test/run', code: tag }] }, ...extra });

describe('_sort', () => {
  let tag: string;
  let people: Json[];
  before(async () => {
    tag = unique('sort');
    people = await createAll(base, [
      tagged(tag, { name: [{ family: 'Carter' }], birthDate: '1980-01-01', gender: 'male' }),
      tagged(tag, { name: [{ family: 'adams' }], birthDate: '1990-01-01', gender: 'female' }),
      tagged(tag, { name: [{ family: 'Baker' }], birthDate: '1980-01-01', gender: 'female' }),
      tagged(tag, { name: [{ family: 'Young' }] }),
    ]);
  });

  test('ascending and descending, missing values last', async () => {
    const [carter, adams, baker, young] = people.map((p) => p.id);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=family`)), [adams, baker, carter, young]);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=-family`)), [young, carter, baker, adams]);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=-birthdate`)), [adams, carter, baker, young]);
  });

  test('several keys; ties broken by creation order (stable)', async () => {
    const [carter, adams, baker, young] = people.map((p) => p.id);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=birthdate,family`)), [baker, carter, adams, young]);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=gender,-birthdate`)), [adams, baker, carter, young]);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=birthdate`)), [carter, baker, adams, young]);
    assert.deepEqual(matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=_id`)), sorted([carter, adams, baker, young]));
    const byUpdate = matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=-_lastUpdated`));
    assert.deepEqual(byUpdate, [young, baker, adams, carter]);
  });

  test('sorted paging visits every match once, in order', async () => {
    const pages = await allPages(base, `Patient?_tag=${tag}&_sort=-birthdate,family&_count=1`);
    assert.equal(pages.length, 4);
    assert.deepEqual(pages.map((page: Json) => page.total), [4, 4, 4, 4]);
    assert.equal((await searchset(base, `Patient?_tag=${tag}&_sort=family&_count=1&_offset=2`)).total, 4);
    assert.deepEqual(pages.flatMap(matchIds), matchIds(await searchset(base, `Patient?_tag=${tag}&_sort=-birthdate,family`)));
  });
});

describe('paging', () => {
  test('_count, first/next/previous links, and walking every page while others write', async () => {
    const tag = unique('page');
    const first = await createAll(base, Array.from({ length: 7 }, (_, i) => tagged(tag, { birthDate: `19${50 + i}` })));
    const page1 = await searchset(base, `Patient?_tag=${tag}&_count=3`);
    assert.equal(page1.entry.length, 3);
    assert.equal(page1.total, 7);
    assert.ok(linkUrl(page1, 'first'));
    assert.equal(linkUrl(page1, 'previous'), undefined);
    // writes between pages: a new match lands after the cursor, a deleted one disappears
    const page2 = await searchset(base, linkUrl(page1, 'next')!);
    assert.equal(page2.total, 7, 'later pages keep the total');
    await remove(base, 'Patient', first[6].id);
    const late = await create(base, tagged(tag));
    const page3 = await searchset(base, linkUrl(page2, 'next')!);
    const seen = [...matchIds(page1), ...matchIds(page2), ...matchIds(page3)];
    assert.equal(new Set(seen).size, seen.length, 'no match twice');
    assert.deepEqual(seen, [...first.slice(0, 6).map((p) => p.id), late.id]);
    assert.equal(linkUrl(page3, 'next'), undefined);
    // previous goes back exactly one page
    const back = await searchset(base, linkUrl(page3, 'previous')!);
    assert.deepEqual(matchIds(back), matchIds(page2));
    const back2 = await searchset(base, linkUrl(back, 'previous')!);
    assert.deepEqual(matchIds(back2), matchIds(page1));
  });

  test('_count above the maximum is capped; the default page is 20; _count=0 gives the total only', async () => {
    const tag = unique('max');
    await createAll(base, Array.from({ length: 55 }, () => tagged(tag)));
    const capped = await searchset(base, `Patient?_tag=${tag}&_count=500`);
    assert.equal(capped.entry.length, 50);
    const plain = await searchset(base, `Patient?_tag=${tag}`);
    assert.equal(plain.entry.length, 20);
    assert.equal(plain.total, 55);
    const zero = await searchset(base, `Patient?_tag=${tag}&_count=0`);
    assert.equal(zero.entry ?? undefined, undefined);
    assert.equal(zero.total, 55);
    const pages = await allPages(base, `Patient?_tag=${tag}&_count=20`);
    assert.deepEqual(pages.map((p: Json) => p.entry.length), [20, 20, 15]);
  });

  test('a tampered cursor is a 400', async () => {
    assert.equal((await get(base, 'Patient?_cursor=not-a-cursor')).status, 400);
    // a well-formed cursor whose sort value has the wrong type for the sort key
    const forged = Buffer.from(JSON.stringify({ d: 'a', k: 1, v: ['not-a-date'] })).toString('base64url');
    assert.equal((await get(base, `Patient?_sort=birthdate&_cursor=${forged}`)).status, 400);
    const short = Buffer.from(JSON.stringify({ d: 'a', k: 1, v: [] })).toString('base64url');
    assert.equal((await get(base, `Patient?_sort=birthdate&_cursor=${short}`)).status, 400);
  });
});

describe('_total, _summary, _elements', () => {
  let tag: string;
  before(async () => {
    tag = unique('sum');
    await createAll(base, [
      tagged(tag, { text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">A</div>' }, name: [{ family: 'Sum' }], gender: 'other', birthDate: '2000-01-01', photo: [{ title: 'x' }] }),
      tagged(tag, { name: [{ family: 'Sum' }] }),
    ]);
  });

  test('_total=none leaves total out; accurate and estimate give it', async () => {
    assert.equal((await searchset(base, `Patient?_tag=${tag}&_total=none`)).total, undefined);
    assert.equal((await searchset(base, `Patient?_tag=${tag}&_total=accurate&_count=1`)).total, 2);
    assert.equal((await searchset(base, `Patient?_tag=${tag}&_total=estimate`)).total, 2);
    assertNamesParameter(await get(base, `Patient?_total=some`), '_total');
  });

  test('an estimated total of many matches is close to the accurate one', async () => {
    const big = unique('est');
    const entry = Array.from({ length: 700 }, (_, i) => ({
      resource: tagged(big, { gender: i % 4 === 0 ? 'male' : 'female' }),
      request: { method: 'POST', url: 'Patient' },
    }));
    const res = await http(base, 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const accurate = (await searchset(base, `Patient?_tag=${big}&gender=male&_total=accurate&_count=1`)).total;
    assert.equal(accurate, 175);
    const estimated = (await searchset(base, `Patient?_tag=${big}&gender=male&_total=estimate&_count=1`)).total;
    assert.ok(Math.abs(estimated - 175) <= 175 * 0.25, `estimate ${estimated} is far from 175`);
    const whole = (await searchset(base, `Patient?_tag=${big}&_count=1`)).total;
    assert.equal(whole, 700, 'a single clause estimates exactly');
  });

  test('_summary=count returns only the total', async () => {
    const bundle = await searchset(base, `Patient?_tag=${tag}&_summary=count`);
    assert.equal(bundle.total, 2);
    assert.equal(bundle.entry, undefined);
  });

  test('_summary=true|text|data and _elements subset the resources and tag them SUBSETTED', async () => {
    const subsetted = (r: Json) => r.meta?.tag?.some((t: Json) => t.code === 'SUBSETTED');
    const full = (await searchset(base, `Patient?_tag=${tag}&gender=other`)).entry[0].resource;
    assert.ok(full.photo && full.text && !subsetted(full));
    const summary = (await searchset(base, `Patient?_tag=${tag}&gender=other&_summary=true`)).entry[0].resource;
    assert.ok(summary.name && summary.gender && !summary.photo && !summary.text && subsetted(summary));
    const text = (await searchset(base, `Patient?_tag=${tag}&gender=other&_summary=text`)).entry[0].resource;
    assert.ok(text.text && !text.name && subsetted(text));
    const data = (await searchset(base, `Patient?_tag=${tag}&gender=other&_summary=data`)).entry[0].resource;
    assert.ok(!data.text && data.photo && subsetted(data));
    const elements = (await searchset(base, `Patient?_tag=${tag}&gender=other&_elements=birthDate`)).entry[0].resource;
    assert.deepEqual(Object.keys(elements).sort(), ['birthDate', 'id', 'meta', 'resourceType']);
    assert.ok(subsetted(elements));
  });
});

describe('_summary and _elements on read', () => {
  test('read and vread honour _elements and _summary', async () => {
    const p = await create(base, { resourceType: 'Patient', name: [{ family: 'Read' }], gender: 'male', photo: [{ title: 'x' }] });
    const elements = (await get(base, `Patient/${p.id}?_elements=gender`)).body;
    assert.deepEqual(Object.keys(elements).sort(), ['gender', 'id', 'meta', 'resourceType']);
    assert.ok(elements.meta.tag.some((t: Json) => t.code === 'SUBSETTED'));
    const summary = (await get(base, `Patient/${p.id}/_history/1?_summary=true`)).body;
    assert.ok(summary.name && !summary.photo);
    assert.ok((await get(base, `Patient/${p.id}`)).body.photo, 'unchanged without the parameters');
    assert.equal((await get(base, `Patient/${p.id}?_summary=nope`)).status, 400);
  });
});

describe('unknown parameters and errors', () => {
  test('unknown parameters are ignored and reported; strict handling makes them a 400', async () => {
    const tag = unique('unk');
    const p = await create(base, tagged(tag));
    const bundle = await searchset(base, `Patient?_tag=${tag}&nonsense=1`);
    assert.deepEqual(matchIds(bundle), [p.id]);
    const outcome = bundle.entry.find((e: Json) => e.search?.mode === 'outcome');
    assert.equal(outcome?.resource?.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(outcome.resource), /nonsense/);
    assert.doesNotMatch(linkUrl(bundle, 'self')!, /nonsense/, 'the self link leaves ignored parameters out');
    const strict = await get(base, `Patient?_tag=${tag}&nonsense=1`, { prefer: 'handling=strict' });
    assertNamesParameter(strict, 'nonsense');
    const lenient = await get(base, `Patient?_tag=${tag}&nonsense=1`, { prefer: 'handling=lenient' });
    assert.equal(lenient.status, 200);
  });

  test('malformed values are always a 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['Patient?birthdate=yesterday', 'birthdate'],
      ['Patient?_count=-1', '_count'],
      ['Observation?value-quantity=abc', 'value-quantity'],
      ['Patient?_summary=maybe', '_summary'],
    ] as const) {
      assertNamesParameter(await get(base, query), name);
      assertNamesParameter(await get(base, query, { prefer: 'handling=lenient' }), name);
    }
  });
});

describe('POST _search, system search, compartments, $everything', () => {
  let tag: string;
  let patientA: Json;
  let patientB: Json;
  let records: Json[];
  before(async () => {
    tag = unique('sys');
    const meta = { tag: [{ system: 'http://kiln.test/run', code: tag }] };
    patientA = await create(base, { resourceType: 'Patient', meta, name: [{ family: 'Sys' }] });
    patientB = await create(base, { resourceType: 'Patient', meta, name: [{ family: 'Other' }] });
    records = await createAll(base, [
      { resourceType: 'Observation', meta, status: 'final', code: { text: 'a' }, subject: { reference: `Patient/${patientA.id}` } },
      { resourceType: 'Condition', meta, subject: { reference: `Patient/${patientA.id}` } },
      { resourceType: 'Observation', meta, status: 'final', code: { text: 'b' }, subject: { reference: `Patient/${patientB.id}` } },
      { resourceType: 'Encounter', meta, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${patientA.id}` } },
    ]);
  });

  test('POST [type]/_search with a form body, merged with the query string', async () => {
    const res = await http(base, 'POST', `Patient/_search?_tag=${tag}`, {
      rawBody: 'family=sys',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matchIds(res.body), [patientA.id]);
    assert.match(linkUrl(res.body, 'self')!, /family=sys/);
  });

  test('system search with _type, GET and POST /_search', async () => {
    assert.deepEqual(await ids(base, `?_tag=${tag}&_type=Observation,Condition`), sorted([records[0].id, records[1].id, records[2].id]));
    assert.equal((await ids(base, `?_tag=${tag}`)).length, 6);
    const res = await http(base, 'POST', '_search', { rawBody: `_tag=${tag}&_type=Encounter`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matchIds(res.body), [records[3].id]);
  });

  test('compartment search: Patient/{id}/{type} and Patient/{id}/*', async () => {
    assert.deepEqual(await ids(base, `Patient/${patientA.id}/Observation`), [records[0].id]);
    assert.deepEqual(await ids(base, `Patient/${patientA.id}/Observation?code:text=b`), []);
    assert.deepEqual(await ids(base, `Patient/${patientA.id}/*`), sorted([records[0].id, records[1].id, records[3].id]));
    assert.deepEqual(await ids(base, `Patient/${patientA.id}/*?_type=Condition`), [records[1].id]);
    assert.equal((await get(base, 'Patient/does-not-exist/Observation')).status, 404);
  });

  test('Patient/{id}/$everything, paged, and type-level $everything', async () => {
    const pages = await allPages(base, `Patient/${patientA.id}/$everything?_count=2`);
    const all = pages.flatMap(matchIds);
    assert.deepEqual(sorted(all), sorted([patientA.id, records[0].id, records[1].id, records[3].id]));
    assert.ok(pages.length >= 2);
    assert.equal(pages[0].type, 'searchset');
    const typeLevel = pages.length && (await allPages(base, `Patient/$everything?_count=50`)).flatMap(matchIds);
    for (const id of [patientA.id, patientB.id, ...records.map((r) => r.id)]) assert.ok((typeLevel as string[]).includes(id));
    assert.equal((await get(base, 'Patient/nobody/$everything')).status, 404);
  });
});
