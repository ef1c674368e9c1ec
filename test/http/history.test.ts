/**
 * history (instance, type, system), paging, _count, _since and _at, black-box over HTTP.
 * Spec: https://hl7.org/fhir/R4/http.html#history, #paging; https://hl7.org/fhir/R4/bundle.html
 * (invariants bdl-1 total only for search/history, bdl-2 entry.search only for searchset,
 * bdl-3 entry.request mandatory for history, bdl-4 entry.response mandatory for history,
 * bdl-8 fullUrl cannot be a version specific reference).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useTestServer } from '../support/server.js';
import {
  INSTANT,
  allPages,
  assertFhirJsonContentType,
  assertOperationOutcome,
  create,
  entryStatus,
  get,
  linkUrl,
  newId,
  patient,
  remove,
  sleep,
  unique,
  update,
  weakEtag,
  type Json,
} from './helpers.js';

let base: string;
useTestServer((server) => (base = server.baseUrl));

const basic = (text = unique('basic')) => ({ resourceType: 'Basic', code: { text } });

async function history(path: string): Promise<Json> {
  const res = await get(base, path);
  assert.equal(res.status, 200, `${path}: ${res.status} ${res.text.slice(0, 500)}`);
  assertFhirJsonContentType(res);
  assert.equal(res.body.resourceType, 'Bundle');
  // "The return content is a Bundle with type set to history"
  assert.equal(res.body.type, 'history');
  return res.body;
}

const entries = (bundle: Json): Json[] => bundle.entry ?? [];

/** Version key of a history entry: "Type/id/_history/vid", taken from the resource or the ETag. */
function versionKey(entry: Json): string {
  if (entry.resource) return `${entry.resource.resourceType}/${entry.resource.id}/_history/${entry.resource.meta.versionId}`;
  const etag = /^W\/"(.+)"$/.exec(entry.response?.etag ?? '')?.[1];
  return `${entry.request.url}/_history/${etag ?? '?'}`;
}

/** The structural rules every history entry must follow. */
function assertHistoryEntry(entry: Json) {
  // bdl-3 / bdl-4: request and response are mandatory in a history Bundle.
  assert.ok(entry.request, `history entry without request: ${JSON.stringify(entry)}`);
  assert.ok(['POST', 'PUT', 'PATCH', 'DELETE'].includes(entry.request.method), `unexpected method ${entry.request.method}`);
  assert.equal(typeof entry.request.url, 'string');
  assert.ok(entry.response, `history entry without response: ${JSON.stringify(entry)}`);
  const status = entryStatus(entry);
  assert.ok(status >= 200 && status < 300, `history entries record successful interactions, got ${status}`);
  // bdl-2: entry.search only in a searchset.
  assert.equal(entry.search, undefined);
  // "The server SHOULD populate at least response.lastModified"
  assert.match(entry.response.lastModified ?? '', INSTANT);
  if (entry.request.method === 'DELETE') {
    // "no resource included for a delete"
    assert.equal(entry.resource, undefined);
    assert.match(entry.request.url, /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/);
  } else {
    // "If the entry.request.method is a PUT or a POST, the entry SHALL contain a resource."
    const resource = entry.resource;
    assert.ok(resource, `${entry.request.method} entry without resource`);
    // fullUrl is the version-independent absolute URL of the resource (bdl-8: not version specific).
    assert.equal(entry.fullUrl, `${base}/${resource.resourceType}/${resource.id}`);
    assert.equal(entry.response.etag, weakEtag(resource.meta.versionId));
    assert.equal(Date.parse(entry.response.lastModified), Date.parse(resource.meta.lastUpdated), 'response.lastModified is the version\'s meta.lastUpdated');
    if (entry.request.method === 'POST') {
      // create: request.url is the type ("<url value="Patient"/>" in the spec's example)
      assert.ok([resource.resourceType, `${resource.resourceType}/${resource.id}`].includes(entry.request.url), `POST url ${entry.request.url}`);
    } else {
      assert.equal(entry.request.url, `${resource.resourceType}/${resource.id}`);
    }
  }
}

/** "sorted with oldest versions last" */
function assertNewestFirst(list: Json[]) {
  for (let i = 1; i < list.length; i++) {
    const newer = Date.parse(list[i - 1].response.lastModified);
    const older = Date.parse(list[i].response.lastModified);
    assert.ok(newer >= older, `entries out of order at ${i}: ${list[i - 1].response.lastModified} before ${list[i].response.lastModified}`);
  }
}

describe('instance history: GET [base]/[type]/[id]/_history', () => {
  test('lists every version newest first, including the delete', async () => {
    const created = await create(base, patient());
    const v2 = await update(base, { ...created, active: true });
    const v3 = await update(base, { ...v2, active: false });
    await remove(base, 'Patient', created.id);

    const bundle = await history(`Patient/${created.id}/_history`);
    const list = entries(bundle);
    assert.equal(list.length, 4, JSON.stringify(list));
    list.forEach(assertHistoryEntry);
    assertNewestFirst(list);

    assert.deepEqual(list.map((entry) => entry.request.method), ['DELETE', 'PUT', 'PUT', 'POST']);
    assert.deepEqual(list.slice(1).map((entry) => entry.resource.meta.versionId), ['3', '2', '1']);
    assert.equal(list[0].request.url, `Patient/${created.id}`);
    assert.equal(list[0].response.etag, weakEtag(4), 'the delete is version 4');
    assert.equal(list[1].resource.active, false);
    assert.equal(list[1].resource.meta.lastUpdated, v3.meta.lastUpdated);
    assert.equal(list[3].resource.name[0].family, created.name[0].family);
    // Kiln reports Bundle.total on history (bdl-1 allows it; http.html#paging: "A server MAY inform
    // the client of the total number of resources").
    assert.equal(bundle.total, 4);
  });

  test('an unknown resource has no history: 404', async () => {
    // "If a request is made for a history that is not available ... the server should return a 404
    // Not Found along with an OperationOutcome explaining the problem"
    assertOperationOutcome(await get(base, `Patient/${newId()}/_history`), 404);
  });

  test('an unknown resource type is 404', async () => {
    assertOperationOutcome(await get(base, 'NotAType/1/_history'), 404);
    assertOperationOutcome(await get(base, 'NotAType/_history'), 404);
  });
});

describe('type history: GET [base]/[type]/_history', () => {
  test('lists the versions of all resources of the type, newest first', async () => {
    // No earlier test in this file writes Basic resources, so the type history is exactly ours.
    const a = await create(base, basic());
    const b = await create(base, basic());
    const a2 = await update(base, { ...a, code: { text: unique('a2') } });
    await remove(base, 'Basic', b.id);
    await create(base, patient()); // another type must not show up

    const bundle = await history('Basic/_history');
    const list = entries(bundle);
    list.forEach(assertHistoryEntry);
    assertNewestFirst(list);
    assert.deepEqual(list.map(versionKey), [
      `Basic/${b.id}/_history/2`,
      `Basic/${a.id}/_history/2`,
      `Basic/${b.id}/_history/1`,
      `Basic/${a.id}/_history/1`,
    ]);
    assert.equal(list[0].request.method, 'DELETE');
    assert.equal(list[0].request.url, `Basic/${b.id}`);
    assert.equal(list[1].resource.code.text, a2.code.text);
    assert.equal(bundle.total, 4);
  });

  test('a supported type without any versions has an empty history, not an error', async () => {
    const bundle = await history('ImmunizationRecommendation/_history');
    assert.equal(entries(bundle).length, 0);
    if (bundle.total !== undefined) assert.equal(bundle.total, 0);
  });
});

describe('system history: GET [base]/_history', () => {
  test('lists versions of all types, newest first', async () => {
    const p = await create(base, patient());
    const o = await create(base, {
      resourceType: 'Observation',
      status: 'final',
      code: { text: unique('obs') },
      subject: { reference: `Patient/${p.id}` },
    });
    const p2 = await update(base, { ...p, active: true });

    const bundle = await history(`_history?_since=${encodeURIComponent(p.meta.lastUpdated)}`);
    const list = entries(bundle);
    list.forEach(assertHistoryEntry);
    assertNewestFirst(list);
    const keys = list.map(versionKey);
    const expected = [`Patient/${p.id}/_history/2`, `Observation/${o.id}/_history/1`, `Patient/${p.id}/_history/1`];
    for (const key of expected) assert.ok(keys.includes(key), `missing ${key} in ${keys.join(', ')}`);
    // relative order of our own writes
    assert.deepEqual(keys.filter((key) => expected.includes(key)), expected);
    const obsEntry = list.find((entry) => entry.resource?.resourceType === 'Observation' && entry.resource.id === o.id);
    assert.equal(obsEntry.fullUrl, `${base}/Observation/${o.id}`);
    assert.equal(list.find((entry) => versionKey(entry) === `Patient/${p.id}/_history/2`).resource.active, p2.active);
  });
});

describe('paging with _count and next links (http.html#paging)', () => {
  test('instance history: following next collects every version exactly once, in order', async () => {
    const created = await create(base, patient());
    let current = created;
    for (let i = 0; i < 4; i++) current = await update(base, { ...current, active: i % 2 === 0 });

    const pages = await allPages(base, `Patient/${created.id}/_history?_count=2`);
    assert.equal(pages.length, 3, `5 versions in pages of 2 → 3 pages, got ${pages.length}`);
    for (const page of pages) {
      assert.equal(page.type, 'history');
      // "The server is not bound to return the number requested, but cannot return more"
      assert.ok(entries(page).length <= 2, `page has ${entries(page).length} entries`);
      if (page.total !== undefined) assert.equal(page.total, 5, 'total counts all pages');
    }
    assert.ok(linkUrl(pages[0], 'next'), 'the first page links to the next');
    assert.equal(linkUrl(pages[pages.length - 1], 'next'), undefined, 'the last page has no next link');
    const versions = pages.flatMap((page) => entries(page).map((entry: Json) => entry.resource.meta.versionId));
    assert.deepEqual(versions, ['5', '4', '3', '2', '1']);
  });

  test('system history: pages of one cover all new versions once', async () => {
    const first = await create(base, patient());
    const second = await create(base, basic());
    const secondV2 = await update(base, { ...second, code: { text: unique('b2') } });
    await remove(base, 'Patient', first.id);

    const since = encodeURIComponent(first.meta.lastUpdated);
    const pages = await allPages(base, `_history?_since=${since}&_count=1`);
    const keys = pages.flatMap((page) => {
      assert.ok(entries(page).length <= 1);
      return entries(page).map(versionKey);
    });
    assert.equal(new Set(keys).size, keys.length, `a version appeared twice: ${keys.join(', ')}`);
    const mine = [`Patient/${first.id}/_history/2`, `Basic/${second.id}/_history/2`, `Basic/${second.id}/_history/1`, `Patient/${first.id}/_history/1`];
    assert.deepEqual(keys.filter((key) => mine.some((m) => key.startsWith(m.replace(/\/_history\/\d+$/, '')))), mine);
    assert.equal(secondV2.meta.versionId, '2');
  });

  test('type history pages respect _count', async () => {
    const pages = await allPages(base, 'Patient/_history?_count=3');
    const keys = pages.flatMap((page) => {
      assert.ok(entries(page).length <= 3);
      return entries(page).map(versionKey);
    });
    assert.ok(keys.length > 3, 'several pages were needed');
    assert.equal(new Set(keys).size, keys.length, 'no version on two pages');
    if (pages[0].total !== undefined) assert.equal(pages[0].total, keys.length);
  });
});

describe('_since (versions created at or after the instant)', () => {
  test('filters out older versions', async () => {
    // "_since: Only include resource versions that were created at or after the given instant in
    // time". Servers need not support precision finer than a second, so versions are >1s apart.
    const created = await create(base, patient());
    await sleep(1100);
    const v2 = await update(base, { ...created, active: true });
    await sleep(1100);
    await update(base, { ...v2, active: false });

    const bundle = await history(`Patient/${created.id}/_history?_since=${encodeURIComponent(v2.meta.lastUpdated)}`);
    assert.deepEqual(entries(bundle).map((entry) => entry.resource.meta.versionId), ['3', '2']);

    const future = new Date(Date.now() + 3600_000).toISOString();
    const none = await history(`Patient/${created.id}/_history?_since=${encodeURIComponent(future)}`);
    assert.equal(entries(none).length, 0);
  });

  test('applies to type history as well', async () => {
    const before = await create(base, patient());
    await sleep(1100);
    const after1 = await create(base, patient());
    const bundle = await history(`Patient/_history?_since=${encodeURIComponent(after1.meta.lastUpdated)}`);
    const ids = entries(bundle).map((entry) => entry.resource?.id ?? entry.request.url.split('/')[1]);
    assert.ok(ids.includes(after1.id));
    assert.ok(!ids.includes(before.id));
  });

  test('an invalid _since is 400', async () => {
    assertOperationOutcome(await get(base, 'Patient/_history?_since=not-a-date'), 400);
  });
});

describe('_at (versions current at some point in the period)', () => {
  test('returns the version that was current at the instant', async () => {
    // "_at: Only include resource versions that were current at some point during the time period
    // specified in the date time value"
    const created = await create(base, patient());
    await sleep(1100);
    const v2 = await update(base, { ...created, active: true });
    await sleep(1100);
    const v3 = await update(base, { ...v2, active: false });

    const t2 = Date.parse(v2.meta.lastUpdated);
    const t3 = Date.parse(v3.meta.lastUpdated);
    const between = new Date(Math.floor((t2 + t3) / 2)).toISOString();
    const during = await history(`Patient/${created.id}/_history?_at=${encodeURIComponent(between)}`);
    assert.deepEqual(entries(during).map((entry) => entry.resource.meta.versionId), ['2']);

    const afterAll = new Date(t3 + 1).toISOString();
    const latest = await history(`Patient/${created.id}/_history?_at=${encodeURIComponent(afterAll)}`);
    assert.deepEqual(entries(latest).map((entry) => entry.resource.meta.versionId), ['3']);

    // A year-precision _at is a whole year: every version was current at some point in it
    // (search.html#date: the precision of the value defines the period).
    const year = created.meta.lastUpdated.slice(0, 4);
    const wholeYear = await history(`Patient/${created.id}/_history?_at=${year}`);
    assert.deepEqual(entries(wholeYear).map((entry) => entry.resource.meta.versionId), ['3', '2', '1']);

    const beforeAll = new Date(Date.parse(created.meta.lastUpdated) - 60_000).toISOString();
    const none = await history(`Patient/${created.id}/_history?_at=${encodeURIComponent(beforeAll)}`);
    assert.equal(entries(none).length, 0);
  });

  test('an invalid _at is 400', async () => {
    assertOperationOutcome(await get(base, '_history?_at=yesterday'), 400);
  });
});
