// What a request lets the caller learn about resources other than its target, for authorize.ts:
// the types its search criteria look into (chains, _has), the types its conditional parts search
// (If-None-Exist, conditional update/patch/delete, conditional references, also inside Bundles).
import type { Bundle, BundleEntry } from '../fhir/types.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import { parseSearch, type SearchFilter } from '../search/parse.js';
import type { Route } from './route.js';
import { searchParameters } from './search-request.js';
import type { FhirRequest } from './types.js';

const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?/;
const SEARCH_KINDS = new Set<Route['kind']>(['type', 'type-search', 'system', 'system-search', 'compartment']);

export function isSearch(request: FhirRequest, target: Route): boolean {
  if (target.kind === 'type' || target.kind === 'system') return request.method === 'GET' || request.method === 'HEAD';
  return SEARCH_KINDS.has(target.kind);
}

/**
 * Types the request searches besides what the interaction itself is authorized for. Each needs
 * search permission, and is searched only within the caller's reach for it: a match or a miss
 * would otherwise tell the caller something about resources it may not see.
 */
export function searchedTypes(registry: SearchParamRegistry, request: FhirRequest, target: Route): Set<string> {
  const types = new Set<string>();
  if (isSearch(request, target)) {
    const resourceType = 'resourceType' in target && target.resourceType !== '*' ? target.resourceType : undefined;
    linkedTypes(registry, request, resourceType, types);
  } else if (target.kind === 'type') {
    if (request.method !== 'POST' || request.headers['if-none-exist'] !== undefined) types.add(target.resourceType);
    conditionalReferences(request.body, types);
  } else if (target.kind === 'system' && request.method === 'POST') {
    for (const entry of (request.body as Bundle | undefined)?.entry ?? []) bundleEntryTypes(entry, types);
  } else {
    conditionalReferences(request.body, types);
  }
  return types;
}

function linkedTypes(registry: SearchParamRegistry, request: FhirRequest, resourceType: string | undefined, out: Set<string>): void {
  let clauses;
  try {
    clauses = parseSearch(searchParameters(request), resourceType, { registry, baseUrls: [request.baseUrl] }).clauses;
  } catch {
    return; // the search itself answers the malformed request with a 400
  }
  const walk = (filter: SearchFilter): void => {
    if (filter.kind === 'chain') {
      for (const link of filter.targets) {
        out.add(link.targetType);
        walk(link.filter);
      }
    } else if (filter.kind === 'has') {
      out.add(filter.sourceType);
      walk(filter.filter);
    }
  };
  for (const clause of clauses) walk(clause.filter);
}

function bundleEntryTypes(entry: BundleEntry, out: Set<string>): void {
  const method = entry.request?.method?.toUpperCase();
  const url = entry.request?.url ?? '';
  const type = /^(?:.*\/)?([A-Z][A-Za-z]+)\?/.exec(url)?.[1];
  if (type && (method === 'PUT' || method === 'PATCH' || method === 'DELETE')) out.add(type);
  if (method === 'POST' && entry.request?.ifNoneExist !== undefined && entry.resource) out.add(entry.resource.resourceType);
  conditionalReferences(entry.resource, out);
}

function conditionalReferences(node: unknown, out: Set<string>, depth = 0): void {
  if (depth > 64 || node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      const type = CONDITIONAL_REFERENCE.exec(value)?.[1];
      if (type) out.add(type);
    } else if (typeof value === 'object') conditionalReferences(value, out, depth + 1);
  }
}
