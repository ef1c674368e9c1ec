import { invalid } from '../fhir/errors.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import { parseSearch, type ParsedSearch } from '../search/parse.js';
import type { FhirRequest } from './types.js';

/** Reading a search out of a request: query string, form body, Prefer: handling. */

/** Parameters that steer paging or rendering rather than select resources. */
const PAGING = new Set(['_cursor']);

/** `Prefer: handling=strict` (search.html#errors): unknown parameters are an error, not ignored. */
export function strictHandling(prefer: string | undefined): boolean {
  return prefer !== undefined && /(?:^|[;,\s])handling\s*=\s*"?strict"?/i.test(prefer);
}

/**
 * The search parameters of a request: its query string, and for `POST …/_search` the
 * application/x-www-form-urlencoded body too (the body's parameters after the query's).
 */
export function searchParameters(request: FhirRequest): [string, string][] {
  const params = request.query.filter(([name]) => !PAGING.has(name));
  if (request.method === 'POST' && request.body !== undefined) {
    if (!(request.body instanceof URLSearchParams)) {
      throw invalid('A search by POST needs an application/x-www-form-urlencoded body', ['body']);
    }
    for (const pair of request.body) if (!PAGING.has(pair[0])) params.push(pair);
  }
  return params;
}

export function cursorOf(request: FhirRequest): string | undefined {
  let cursor: string | undefined;
  for (const [name, value] of request.query) if (name === '_cursor') cursor = value;
  return cursor;
}

export function parseRequestSearch(
  registry: SearchParamRegistry,
  request: FhirRequest,
  params: [string, string][],
  resourceType: string | undefined,
  strict = strictHandling(request.headers.prefer),
): ParsedSearch {
  return parseSearch(params, resourceType, { registry, strict, baseUrls: [request.baseUrl] });
}

/**
 * The query of a conditional interaction (`If-None-Exist: identifier=x`, `PUT Patient?identifier=x`,
 * `Practitioner?identifier=…` in a reference), as pairs. A leading `Type?` or `?` is dropped.
 */
export function conditionalQuery(text: string): [string, string][] {
  const q = text.indexOf('?');
  return [...new URLSearchParams(q >= 0 ? text.slice(q + 1) : text)];
}
