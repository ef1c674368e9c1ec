import { compartmentParams } from '../search/compartments.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import type { ParamFilter } from '../search/parse.js';
import type { AccessAlternative, AccessCondition, AccessLimit } from '../search/sql/access.js';
import { systemImplied } from '../search/sql/token-kind.js';
import { referenceParts, restrictionFilters } from './reach.js';
import type { Reach, ReachCondition } from './types.js';

/**
 * A reach as a limit on searches (src/search/sql/access.ts): the SQL form of the rules
 * src/auth/reach.ts applies to single resources, condition for condition:
 * - compartment → the Patient compartment, the Patient itself included;
 * - references → the resource is the fhirUser, or a reference search parameter targets it;
 * - matches → the scope's criteria, parsed per resource type exactly as the single-resource
 *   check parses them; a type for which they cannot be evaluated gets no alternative.
 * `types` are the types the search covers (undefined: every type); `registry` the server's search
 * parameters, as for the single-resource check.
 */
export function searchLimit(reach: Reach, types: readonly string[] | undefined, baseUrl: string, registry: SearchParamRegistry): AccessLimit {
  return { anyOf: reach.flatMap((conditions) => alternatives(conditions, types, [baseUrl], registry)) };
}

function alternatives(conditions: readonly ReachCondition[], types: readonly string[] | undefined, baseUrls: readonly string[], registry: SearchParamRegistry): AccessAlternative[] {
  const fixed: AccessCondition[] = [];
  const queries: [string, string][][] = [];
  for (const condition of conditions) {
    switch (condition.kind) {
      case 'compartment':
        fixed.push({ kind: 'compartment', scope: { type: 'Patient', id: condition.id, params: compartmentParams('Patient')!, includeSelf: true } });
        break;
      case 'references':
        fixed.push({ kind: 'refers-to', ...referenceParts(condition.reference) });
        break;
      case 'matches':
        queries.push(condition.query);
        break;
    }
  }
  if (queries.length === 0) return [{ conditions: fixed }];
  return filterGroups(queries, types ?? [...registry.resourceTypes], baseUrls, registry).map(({ types: groupTypes, filters }) => ({
    // A search of one type needs no type condition.
    ...(types?.length === 1 ? {} : { types: groupTypes }),
    conditions: [...fixed, ...filters.map((filter): AccessCondition => ({ kind: 'filter', filter }))],
  }));
}

/**
 * The criteria's filters per type, types whose filters compile to the same SQL grouped together
 * (a `*` scope's `_tag=x` is one group, not one per type).
 */
function filterGroups(
  queries: readonly [string, string][][],
  types: readonly string[],
  baseUrls: readonly string[],
  registry: SearchParamRegistry,
): { types: string[]; filters: ParamFilter[] }[] {
  const groups = new Map<string, { types: string[]; filters: ParamFilter[] }>();
  for (const type of types) {
    const parsed = queries.map((query) => restrictionFilters(query, type, baseUrls, registry));
    if (!parsed.every((part): part is ParamFilter[] => part !== undefined)) continue;
    const filters = parsed.flat();
    const key = JSON.stringify(filters.map((filter) => [filter.param.code, filter.param.type, filter.param.type === 'token' && systemImplied(filter.param), filter.values]));
    const group = groups.get(key);
    if (group) group.types.push(type);
    else groups.set(key, { types: [type], filters });
  }
  return [...groups.values()];
}
