import type { Resource } from '../fhir/types.js';
import { extractIndex, type IndexRows } from '../search/extract.js';
import { parseSearch, type SearchValue } from '../search/parse.js';
import { parseReference } from '../search/values.js';
import { inPatientCompartment } from './compartment.js';
import type { Reach, ReachCondition } from './types.js';

/** Is the resource within reach: every condition of at least one alternative holds? */
export function withinReach(reach: Reach | undefined, resource: Resource, baseUrl: string): boolean {
  if (!reach) return true;
  const baseUrls = [baseUrl];
  let rows: IndexRows | undefined;
  const index = () => (rows ??= extractIndex(resource, { baseUrls, fullText: false }));
  return reach.some((conditions) => conditions.every((condition) => meets(condition, resource, baseUrls, index)));
}

function meets(condition: ReachCondition, resource: Resource, baseUrls: string[], index: () => IndexRows): boolean {
  switch (condition.kind) {
    case 'compartment':
      return inPatientCompartment(resource, condition.id, baseUrls);
    case 'references':
      return `${resource.resourceType}/${resource.id}` === condition.reference || refersTo(resource, condition.reference, baseUrls, 0);
    case 'matches':
      return matchesQuery(resource, condition.query, baseUrls, index);
  }
}

/** Any `reference` element anywhere in the resource that points at `target` (`Type/id`). */
function refersTo(node: unknown, target: string, baseUrls: string[], depth: number): boolean {
  if (depth > 64 || node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((item) => refersTo(item, target, baseUrls, depth + 1));
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      const parsed = parseReference(value, baseUrls);
      if (parsed?.id && `${parsed.type}/${parsed.id}` === target) return true;
    } else if (typeof value === 'object' && refersTo(value, target, baseUrls, depth + 1)) {
      return true;
    }
  }
  return false;
}

/**
 * A single resource against a SMART v2 scope's search restriction (`category=laboratory`). Only
 * plain token, string and reference parameters are evaluated here; anything else does not match,
 * so an unsupported restriction denies rather than allows.
 */
function matchesQuery(resource: Resource, query: [string, string][], baseUrls: string[], index: () => IndexRows): boolean {
  let parsed;
  try {
    parsed = parseSearch(query, resource.resourceType, { baseUrls, strict: true });
  } catch {
    return false;
  }
  if (parsed.unknown.length > 0) return false;
  return parsed.clauses.every(({ filter }) => {
    if (filter.kind !== 'param' || filter.modifier) return false;
    const code = filter.param.code;
    return filter.values.some((value) => valueMatches(code, value, index()));
  });
}

function valueMatches(code: string, value: SearchValue, rows: IndexRows): boolean {
  switch (value.type) {
    case 'token':
      if (value.text !== undefined || value.typeSystem !== undefined) return false;
      return rows.token.some(
        (row) => row.param === code && (value.system === undefined || row.system === value.system) && (value.code === undefined || row.code === value.code),
      );
    case 'string':
      return rows.string.some((row) => row.param === code && row.norm.startsWith(value.norm));
    case 'reference':
      if (!value.id) return false;
      return rows.reference.some((row) => row.param === code && row.targetId === value.id && (!value.targetType || row.targetType === value.targetType));
    default:
      return false;
  }
}
