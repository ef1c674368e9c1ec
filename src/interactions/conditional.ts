// Conditional interactions: https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete,
// #patch and conditional references in transactions (http.html#trules).
import { invalid, preconditionFailed } from '../fhir/errors.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import type { StoredVersion, StoreReader, StoreTransaction } from '../store/types.js';
import { conditionalQuery, parseRequestSearch } from './search-request.js';
import { confineLinks } from './search-restriction.js';
import type { FhirRequest, InteractionContext, SearchRestriction } from './types.js';

/**
 * The resources of `resourceType` that a conditional interaction's criteria match, at most
 * `limit`. Unknown parameters are an error here (strict), never ignored: an ignored criterion
 * would widen the match and make a write land on the wrong resource.
 */
export async function conditionalMatches(
  store: Searcher,
  request: FhirRequest,
  resourceType: string,
  query: [string, string][],
  count: number,
  what: string,
): Promise<StoredVersion[]> {
  const parsed = parseRequestSearch(store.registry, request, query, resourceType, true);
  if (parsed.clauses.length === 0) throw invalid(`${what} needs search criteria (e.g. ${resourceType}?identifier=system|value)`);
  // A caller limited to some resources only matches those: others behave as no match.
  const limit = store.restriction?.linked(resourceType);
  const search = confineLinks({ ...parsed, include: [], revinclude: [], sort: [] }, store.restriction);
  const page = await store.reader.search(request.tenant, { search, count, total: 'none', includes: false, ...(limit ? { limit } : {}) });
  return page.matches;
}

/** Where conditional criteria are searched: a store reader, within what authorization lets the caller search, by the server's parameters. */
export interface Searcher {
  reader: StoreReader;
  restriction: SearchRestriction | undefined;
  registry: SearchParamRegistry;
}

export function searcher(ctx: InteractionContext, reader: StoreReader): Searcher {
  return { reader, restriction: ctx.searchRestriction, registry: ctx.searchParameters };
}

/** At most one match, or 412 (http.html: "multiple matches … 412 Precondition Failed"). */
export async function singleMatch(store: Searcher, request: FhirRequest, resourceType: string, query: [string, string][], what: string): Promise<StoredVersion | undefined> {
  const matches = await conditionalMatches(store, request, resourceType, query, 2, what);
  if (matches.length > 1) throw preconditionFailed(`${what}: the criteria '${describe(query)}' match more than one ${resourceType}`);
  return matches[0];
}

/** Serialises conditional writes on the same criteria (see StoreTransaction.lock). */
export function lockCriteria(tx: StoreTransaction, request: FhirRequest, resourceType: string, query: [string, string][]): Promise<void> {
  const criteria = [...query].sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));
  return tx.lock(`kiln.conditional ${request.tenant} ${resourceType}?${describe(criteria)}`);
}

export function describe(query: [string, string][]): string {
  return new URLSearchParams(query).toString();
}

/** `Practitioner?identifier=…` as resource type and query, if `reference` is a conditional reference. */
export function parseConditionalReference(reference: string): { resourceType: string; query: [string, string][] } | undefined {
  const match = /^([A-Z][A-Za-z]+)\?(.*)$/s.exec(reference);
  if (!match) return undefined;
  return { resourceType: match[1], query: conditionalQuery(match[2]) };
}
