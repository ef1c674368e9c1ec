// history: https://hl7.org/fhir/R4/http.html#history (instance, type and system level)
import { parseDateRange } from '../fhir/dates.js';
import { notFound } from '../fhir/errors.js';
import type { HistoryQuery, StoredVersion } from '../store/types.js';
import { bundleJson, type EntryText } from './bundle-json.js';
import { etag } from './preconditions.js';
import { pageSize, queryValue, requestUrl } from './query.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext, SearchRestriction } from './types.js';

/** Store pages read to fill one page of a limited caller's history before answering with fewer entries. */
const MAX_ROUNDS = 8;

export async function history(ctx: InteractionContext, request: FhirRequest, resourceType?: string, id?: string): Promise<FhirResponse> {
  const limits = ctx.config.limits;
  const query: HistoryQuery = { count: pageSize(request, limits.defaultPageSize, limits.maxPageSize) };
  if (resourceType) query.resourceType = resourceType;
  if (id) query.id = id;
  const since = queryValue(request, '_since');
  if (since !== undefined) query.since = parseDateRange(since, '_since').start;
  const at = queryValue(request, '_at');
  if (at !== undefined) query.at = parseDateRange(at, '_at');
  const cursor = queryValue(request, '_cursor');
  if (cursor !== undefined) query.cursor = cursor;

  const restriction = ctx.searchRestriction;
  const page = id === undefined && restriction?.results ? await limitedPage(ctx, request, query, restriction) : await reader(ctx).history(request.tenant, query);
  if (resourceType && id && page.total === 0 && !(await reader(ctx).readCurrent(request.tenant, resourceType, id))) {
    throw notFound(`${resourceType}/${id} is not known`);
  }
  const link = [{ relation: 'self', url: requestUrl(request) }];
  if (page.nextCursor) link.push({ relation: 'next', url: requestUrl(request, { _cursor: page.nextCursor }) });
  const entries = page.versions.map((version) => historyEntry(request.baseUrl, version));
  const json = bundleJson({ type: 'history', ...(page.total !== undefined ? { total: page.total } : {}), link }, entries);
  return { status: 200, json };
}

/**
 * Type or system history for a caller limited to some resources: the store lists the versions of
 * resources within reach (SQL), the restriction judges each version by its own content, and
 * store pages are read until this page is full. Pages may come out shorter than `_count`;
 * `next` is exact all the same. No `total`: counting it would count what the caller may not see.
 */
async function limitedPage(ctx: InteractionContext, request: FhirRequest, query: HistoryQuery, restriction: SearchRestriction): Promise<{ versions: StoredVersion[]; nextCursor?: string; total?: number }> {
  const limited: HistoryQuery = { ...query, limit: restriction.results!(query.resourceType ? [query.resourceType] : undefined) };
  const versions: StoredVersion[] = [];
  let cursor = query.cursor;
  let next: string | undefined;
  for (let round = 0; round < MAX_ROUNDS && versions.length < query.count; round++) {
    const page = await reader(ctx).history(request.tenant, { ...limited, count: query.count - versions.length, ...(cursor ? { cursor } : {}) });
    versions.push(...(restriction.visibleVersions ? await restriction.visibleVersions(page.versions) : page.versions));
    cursor = next = page.nextCursor;
    if (!next) break;
  }
  return { versions, ...(next ? { nextCursor: next } : {}) };
}

function historyEntry(baseUrl: string, version: StoredVersion): EntryText {
  const instanceUrl = `${version.resourceType}/${version.id}`;
  const entry: EntryText = {
    fullUrl: `${baseUrl}/${instanceUrl}`,
    request: { method: version.method, url: version.method === 'POST' ? version.resourceType : instanceUrl },
    response: {
      status: version.deleted ? '204 No Content' : version.versionId === '1' ? '201 Created' : '200 OK',
      etag: etag(version.versionId),
      lastModified: version.lastUpdated,
    },
  };
  if (version.json !== undefined) entry.resourceJson = version.json;
  return entry;
}
