// What a caller may see of each type, for authorize.ts: the limits search applies in SQL
// (chain targets, _has sources, conditional criteria, $everything's types), and which
// _include/_revinclude entries it may receive.
import { searchLimit } from '../auth/reach-search.js';
import type { Authorizer, Decision, Principal } from '../auth/types.js';
import { forbidden } from '../fhir/errors.js';
import type { Bundle, Resource } from '../fhir/types.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import type { AccessAlternative, AccessLimit } from '../search/sql/access.js';
import type { FhirRequest, FhirResponse } from './types.js';

export interface CallerAccess {
  /** The strategy's decision on reading or searching a type (asked once per type and request). */
  decision(interaction: 'read' | 'search-type', resourceType: string): Decision;
  /** The limit on searching `resourceType` (undefined: none); 403 when the caller may not search it. */
  searchLimit(resourceType: string): AccessLimit | undefined;
  /**
   * The limit on a search across `types` judged type by type ($everything): types the caller may
   * not search match nothing, the others what their own decision reaches.
   */
  typesLimit(types: readonly string[]): AccessLimit;
  /** Whether every one of `types` may be searched without limits. */
  unlimited(types: readonly string[]): boolean;
  /** Whether the caller may read this resource: its type readable, the resource within that reach (_include entries, compartment owners). */
  mayRead(resource: Resource): boolean;
}

/** `registry`: the server's search parameters, with which reaches (v2 scope criteria) are applied. */
export function callerAccess(authorizer: Authorizer, principal: Principal, request: FhirRequest, registry: SearchParamRegistry): CallerAccess {
  const decisions = new Map<string, Decision>();
  const decision = (interaction: 'read' | 'search-type', resourceType: string): Decision => {
    const key = `${interaction} ${resourceType}`;
    let known = decisions.get(key);
    if (!known) decisions.set(key, (known = authorizer.authorize(principal, request, { interaction, resourceType })));
    return known;
  };
  return {
    decision,
    searchLimit(resourceType) {
      const searching = decision('search-type', resourceType);
      if (!searching.allowed) throw forbidden(`This request searches ${resourceType} (chained, _has or conditional criteria), which the caller may not search`);
      return searching.reach ? searchLimit(searching.reach, [resourceType], request.baseUrl, registry) : undefined;
    },
    typesLimit(types) {
      const unlimited: string[] = [];
      const byReach = new Map<string, { decision: Decision; types: string[] }>();
      for (const type of types) {
        const searching = decision('search-type', type);
        if (!searching.allowed) continue;
        if (!searching.reach) unlimited.push(type);
        else {
          const key = JSON.stringify(searching.reach);
          const group = byReach.get(key);
          if (group) group.types.push(type);
          else byReach.set(key, { decision: searching, types: [type] });
        }
      }
      const anyOf: AccessAlternative[] = unlimited.length > 0 ? [{ types: unlimited, conditions: [] }] : [];
      for (const group of byReach.values()) {
        const limit = searchLimit(group.decision.reach!, group.types, request.baseUrl, registry);
        anyOf.push(...limit.anyOf.map((alternative) => ({ ...alternative, types: alternative.types ?? group.types })));
      }
      return { anyOf };
    },
    unlimited(types) {
      return types.every((type) => {
        const searching = decision('search-type', type);
        return searching.allowed && !searching.reach;
      });
    },
    mayRead(resource) {
      const reading = decision('read', resource.resourceType);
      return reading.allowed && (!reading.reach || authorizer.allowResource(principal, resource, reading, request.baseUrl, registry));
    },
  };
}

/**
 * Drops the _include/_revinclude entries the caller may not see: of a type it may not read (the
 * seed's CVE-2022-39230), or outside its reach for that type. `total` counts matches only, so it
 * is unchanged.
 */
export function withoutHiddenIncludes(response: FhirResponse, mayInclude: (resource: Resource) => boolean): FhirResponse {
  if (response.json === undefined || !response.json.includes('"include"')) return response;
  const bundle = JSON.parse(response.json) as Bundle;
  const entries = bundle.entry ?? [];
  const kept = entries.filter((entry) => entry.search?.mode !== 'include' || (entry.resource !== undefined && mayInclude(entry.resource)));
  if (kept.length === entries.length) return response;
  bundle.entry = kept;
  return { ...response, json: JSON.stringify(bundle) };
}
