import type { Resource } from '../fhir/types.js';
import { extractIndex, type IndexRows } from '../search/extract.js';
import { defaultRegistry, type SearchParamRegistry } from '../search/parameters.js';
import { parseSearch, type ParamFilter, type SearchValue } from '../search/parse.js';
import { systemImplied } from '../search/sql/token-kind.js';
import { inPatientCompartment } from './compartment.js';
import type { Reach, ReachCondition } from './types.js';

/**
 * Whether one resource is within a reach. Search applies the same rules in SQL
 * (src/auth/reach-search.ts → src/search/sql/access.ts), over the search index that
 * `extractIndex` fills, so that a read and a search never disagree about a resource. Both take
 * the server's search parameters (`registry`: HL7's R4 set and the custom ones), which the index
 * was built with and with which scope criteria (`Patient.rs?eye-colour=blue`) are parsed.
 */

/** Is the resource within reach: every condition of at least one alternative holds? */
export function withinReach(reach: Reach | undefined, resource: Resource, baseUrl: string, registry: SearchParamRegistry = defaultRegistry()): boolean {
  if (!reach) return true;
  const baseUrls = [baseUrl];
  let rows: IndexRows | undefined;
  const index = () => (rows ??= extractIndex(resource, { registry, baseUrls, fullText: false }));
  return reach.some((conditions) => conditions.every((condition) => meets(condition, resource, baseUrls, registry, index)));
}

function meets(condition: ReachCondition, resource: Resource, baseUrls: string[], registry: SearchParamRegistry, index: () => IndexRows): boolean {
  switch (condition.kind) {
    case 'compartment':
      return inPatientCompartment(resource, condition.id, index);
    case 'references':
      return refersTo(resource, condition.reference, index);
    case 'matches': {
      const filters = restrictionFilters(condition.query, resource.resourceType, baseUrls, registry);
      return filters !== undefined && filters.every((filter) => filterMatches(filter, index()));
    }
  }
}

/** `Type/id` as its parts. */
export function referenceParts(reference: string): { type: string; id: string } {
  const slash = reference.indexOf('/');
  return { type: reference.slice(0, slash), id: reference.slice(slash + 1) };
}

/**
 * "Refers to the user" (SMART user/ scopes): the resource is `Type/id` itself, or one of its
 * reference search parameters (any the search index holds: Observation subject, performer, …)
 * has `Type/id` as its target. References no search parameter covers do not count.
 */
function refersTo(resource: Resource, reference: string, index: () => IndexRows): boolean {
  const { type, id } = referenceParts(reference);
  if (resource.resourceType === type && resource.id === id) return true;
  return index().reference.some((row) => row.targetType === type && row.targetId === id);
}

/**
 * A SMART v2 scope's search restriction (`category=laboratory`) for a resource type, as the
 * filters both checks evaluate; undefined when Kiln cannot evaluate it for that type, which then
 * matches nothing (a restriction is never ignored). Supported: plain token (`code`,
 * `system|code`, `|code`, `system|`), string (starts-with) and reference (`Type/id`, `id`)
 * parameters of `registry` (custom ones included), each possibly with comma-separated alternatives.
 */
export function restrictionFilters(query: readonly [string, string][], resourceType: string, baseUrls: readonly string[], registry: SearchParamRegistry): ParamFilter[] | undefined {
  let clauses;
  try {
    const parsed = parseSearch(query, resourceType, { registry, baseUrls, strict: true });
    if (parsed.unknown.length > 0 || parsed.sort.length > 0 || parsed.include.length > 0 || parsed.revinclude.length > 0) return undefined;
    clauses = parsed.clauses;
  } catch {
    return undefined;
  }
  const filters: ParamFilter[] = [];
  for (const { filter } of clauses) {
    if (filter.kind !== 'param' || filter.modifier || filter.param.special || !filter.values.every(supported)) return undefined;
    filters.push(filter);
  }
  return filters.length > 0 ? filters : undefined;
}

function supported(value: SearchValue): boolean {
  switch (value.type) {
    case 'token':
      return value.text === undefined && value.typeSystem === undefined;
    case 'string':
      return true;
    case 'reference':
      return value.id !== undefined && value.url === undefined && value.identifier === undefined;
    default:
      return false;
  }
}

/** One restriction filter on one resource's index rows: the rules of src/search/sql/conditions.ts. */
function filterMatches(filter: ParamFilter, rows: IndexRows): boolean {
  const code = filter.param.code;
  return filter.values.some((value) => {
    switch (value.type) {
      case 'token': {
        const implied = value.code !== undefined && systemImplied(filter.param);
        return rows.token.some(
          (row) =>
            row.param === code &&
            (value.code === undefined || row.code === value.code) &&
            (value.system === undefined || row.system === value.system || (implied && row.system === null)),
        );
      }
      case 'string':
        return rows.string.some((row) => row.param === code && row.norm.startsWith(value.norm));
      case 'reference':
        return rows.reference.some((row) => row.param === code && row.targetId === value.id && (!value.targetType || row.targetType === value.targetType));
      default:
        return false;
    }
  });
}
