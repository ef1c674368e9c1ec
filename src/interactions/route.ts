import { FhirError, invalid, notFound } from '../fhir/errors.js';
import { isValidId } from '../fhir/types.js';

/** What a path below the FHIR base names (http.html#general). */
export type Route =
  | { kind: 'system' }
  | { kind: 'metadata' }
  | { kind: 'system-history' }
  | { kind: 'type'; resourceType: string }
  | { kind: 'type-history'; resourceType: string }
  | { kind: 'instance'; resourceType: string; id: string }
  | { kind: 'instance-history'; resourceType: string; id: string }
  | { kind: 'version'; resourceType: string; id: string; versionId: string }
  | { kind: 'system-search' }
  | { kind: 'type-search'; resourceType: string }
  /** `Patient/1/Observation` (resourceType `*` for `Patient/1/*`). */
  | { kind: 'compartment'; compartment: string; id: string; resourceType: string }
  /** `$everything` on `Patient/1`, on `Patient`, or `$op` on the server (name without `$`). */
  | { kind: 'operation'; name: string; resourceType?: string; id?: string };

export function parseRoute(path: string, resourceTypes: ReadonlySet<string>): Route {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return { kind: 'system' };
  const segments = trimmed.split('/');
  const [first, second, third, fourth, ...rest] = segments.map(decodeSegment);
  if (segments.length === 1 && first === 'metadata') return { kind: 'metadata' };
  if (segments.length === 1 && first === '_history') return { kind: 'system-history' };
  if (segments.length === 1 && first === '_search') return { kind: 'system-search' };
  if (segments.length === 1 && first.startsWith('$')) return { kind: 'operation', name: first.slice(1) };
  if (!resourceTypes.has(first)) throw notFound(`Unknown resource type '${first}'`);
  const resourceType = first;
  if (second === undefined) return { kind: 'type', resourceType };
  if (second === '_history' && third === undefined) return { kind: 'type-history', resourceType };
  if (second === '_search' && third === undefined) return { kind: 'type-search', resourceType };
  if (second.startsWith('$') && third === undefined) return { kind: 'operation', name: second.slice(1), resourceType };
  checkId(second);
  const id = second;
  if (third === undefined) return { kind: 'instance', resourceType, id };
  if (third === '_history' && fourth === undefined) return { kind: 'instance-history', resourceType, id };
  if (third.startsWith('$') && fourth === undefined) return { kind: 'operation', name: third.slice(1), resourceType, id };
  if ((third === '*' || resourceTypes.has(third)) && fourth === undefined) return { kind: 'compartment', compartment: resourceType, id, resourceType: third };
  if (third === '_history' && rest.length === 0) {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(fourth)) throw invalid(`Invalid version id '${fourth}'`);
    return { kind: 'version', resourceType, id, versionId: fourth };
  }
  throw notFound(`Unknown path '${path}'`);
}

function checkId(id: string): void {
  if (!isValidId(id)) throw invalid(`Invalid resource id '${id}': ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'`);
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FhirError('invalid', `Invalid URL segment '${segment}'`);
  }
}
