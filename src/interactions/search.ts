// search: https://hl7.org/fhir/R4/http.html#search, https://hl7.org/fhir/R4/search.html
// Type (GET /Patient?…, POST /Patient/_search), system (GET /?_type=…, POST /_search) and
// compartment (GET /Patient/1/Observation, /Patient/1/*) search, answered as a searchset Bundle.
import { randomUUID } from 'node:crypto';
import { notFound } from '../fhir/errors.js';
import type { Issue } from '../fhir/errors.js';
import { operationOutcome } from '../fhir/operation-outcome.js';
import { compartmentParams } from '../search/compartments.js';
import type { ParsedSearch } from '../search/parse.js';
import type { CompartmentScope, SearchPage, StoredVersion } from '../store/types.js';
import { bundleJson, type EntryText } from './bundle-json.js';
import { cursorOf, parseRequestSearch, searchParameters } from './search-request.js';
import { confineLinks, resultLimit } from './search-restriction.js';
import { reader } from './session.js';
import { subsetJson, subsets } from './subset.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

export interface SearchScope {
  /** The type searched; absent for system search. */
  resourceType?: string;
  /** Path of the links (below the base): `Patient`, `Patient/1/*`, `` (system). */
  path: string;
  compartment?: CompartmentScope;
}

export function searchType(ctx: InteractionContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  return search(ctx, request, { resourceType, path: resourceType });
}

export function searchSystem(ctx: InteractionContext, request: FhirRequest): Promise<FhirResponse> {
  return search(ctx, request, { path: '' });
}

/** `GET /Patient/1/Observation?…` and `GET /Patient/1/*?…` (search.html#compartments). */
export async function searchCompartment(ctx: InteractionContext, request: FhirRequest, compartment: string, id: string, resourceType: string): Promise<FhirResponse> {
  const params = compartmentParams(compartment);
  if (!params) throw notFound(`FHIR R4 defines no ${compartment} compartment; compartments are Patient, Encounter, RelatedPerson, Practitioner and Device`);
  const owner = await reader(ctx).readCurrent(request.tenant, compartment, id);
  if (!owner || owner.deleted) throw notFound(`${compartment}/${id} is not known`);
  const scope: CompartmentScope = { type: compartment, id, params };
  const path = `${compartment}/${id}/${resourceType}`;
  if (resourceType !== '*') {
    if (!params.has(resourceType)) throw notFound(`${resourceType} is not in the ${compartment} compartment`);
    return search(ctx, request, { resourceType, path, compartment: scope });
  }
  return search(ctx, request, { path, compartment: scope }, [...params.keys()]);
}

/** Runs a search and renders its page (`allTypes`: the types of a `*` compartment search). */
export async function search(ctx: InteractionContext, request: FhirRequest, scope: SearchScope, allTypes?: string[]): Promise<FhirResponse> {
  const params = searchParameters(request);
  const parsed = parseRequestSearch(ctx.searchParameters, request, params, scope.resourceType);
  if (allTypes && parsed.types.length === 0) parsed.types = allTypes;
  const page = await runPage(ctx, request, parsed, scope.compartment);
  return { status: 200, json: searchsetJson(request, scope.path, params, parsed, page) };
}

/** One page of a search (or $everything), within what authorization lets the caller see. */
export async function runPage(ctx: InteractionContext, request: FhirRequest, parsed: ParsedSearch, compartment?: CompartmentScope): Promise<SearchPage> {
  const { defaultPageSize, maxPageSize } = ctx.config.limits;
  const limit = resultLimit(ctx.searchRestriction, parsed.types);
  const countOnly = parsed.summary === 'count';
  const count = countOnly ? 0 : Math.min(parsed.count ?? defaultPageSize, maxPageSize);
  const cursor = cursorOf(request);
  return reader(ctx).search(request.tenant, {
    search: confineLinks(parsed, ctx.searchRestriction),
    count,
    // Without _total, an estimate: exact for small results, bounded work for large ones.
    total: countOnly ? 'accurate' : (parsed.total ?? 'estimate'),
    ...(cursor ? { cursor } : {}),
    ...(parsed.offset ? { offset: parsed.offset } : {}),
    ...(compartment ? { compartment } : {}),
    ...(limit ? { limit } : {}),
  });
}

/** The link URL of this search with another cursor (parameters the search ignored are left out). */
function linkUrl(request: FhirRequest, path: string, params: [string, string][], parsed: ParsedSearch, cursor?: string): string {
  const ignored = new Set(parsed.unknown.map((u) => u.name));
  const query = new URLSearchParams();
  for (const [name, value] of params) {
    if (ignored.has(name) || ignored.has(`${name}=${value}`) || (cursor !== undefined && name === '_offset')) continue;
    query.append(name, value);
  }
  if (cursor) query.append('_cursor', cursor);
  const text = query.toString();
  return `${request.baseUrl}${path ? `/${path}` : ''}${text ? `?${text}` : ''}`;
}

export function searchsetJson(request: FhirRequest, path: string, params: [string, string][], parsed: ParsedSearch, page: SearchPage): string {
  const self = cursorOf(request);
  const link = [{ relation: 'self', url: linkUrl(request, path, params, parsed, self) }];
  if (parsed.summary !== 'count') {
    link.push({ relation: 'first', url: linkUrl(request, path, params, parsed) });
    if (page.previousCursor) link.push({ relation: 'previous', url: linkUrl(request, path, params, parsed, page.previousCursor) });
    if (page.nextCursor) link.push({ relation: 'next', url: linkUrl(request, path, params, parsed, page.nextCursor) });
  }
  const subset = subsets(parsed.summary, parsed.elements);
  const entry = (version: StoredVersion, mode: 'match' | 'include'): EntryText => ({
    fullUrl: `${request.baseUrl}/${version.resourceType}/${version.id}`,
    ...(version.json !== undefined ? { resourceJson: subset ? subsetJson(version.json, parsed.summary, parsed.elements) : version.json } : {}),
    search: { mode },
  });
  const entries = [...page.matches.map((v) => entry(v, 'match')), ...page.included.map((v) => entry(v, 'include'))];
  if (parsed.unknown.length > 0) {
    const issues: Issue[] = parsed.unknown.map((u) => ({ severity: 'warning', code: 'not-supported', diagnostics: `${u.reason}; ignored`, expression: [u.name] }));
    entries.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: operationOutcome(issues), search: { mode: 'outcome' } });
  }
  return bundleJson({ type: 'searchset', ...(page.total !== undefined ? { total: page.total } : {}), link }, entries);
}
