import { createRequire } from 'node:module';
import type { Resource } from '../fhir/types.js';
import { fhirTypeName, r4Model } from './model.js';
import { type PathNode, rootNode } from './path-steps.js';

/**
 * Expressions beyond Kiln's compiled subset are evaluated by the `fhirpath` package with its R4
 * model. It is loaded (~200 ms) only when such an expression is first compiled; none of HL7's
 * valid R4 base parameters needs it.
 */

interface FhirpathNode {
  data?: unknown;
  fhirNodeDataType?: string;
}
type FhirpathFn = (resource: unknown, env?: Record<string, unknown>) => unknown[];
interface FhirpathModule {
  compile(path: string | { base: string; expression: string }, model: unknown, options?: Record<string, unknown>): FhirpathFn;
}

const packageRequire = createRequire(import.meta.url);
let fhirpathModule: FhirpathModule | undefined;

function compileFhirpath(expression: string, basePath: string, isResource: boolean): FhirpathFn {
  fhirpathModule ??= packageRequire('fhirpath') as FhirpathModule;
  return fhirpathModule.compile(isResource ? expression : { base: basePath, expression }, r4Model(), { resolveInternalTypes: false });
}

/**
 * Throws when the `fhirpath` package cannot parse `expression` or it calls a function the package
 * does not implement (that shows only on evaluation, which extraction does not let fail).
 */
export function assertFhirpath(expression: string, basePath: string, isResource: boolean): void {
  const fn = compileFhirpath(expression, basePath, isResource);
  const empty = isResource ? { resourceType: basePath } : {};
  try {
    fn(empty, { resource: empty });
  } catch (error) {
    if (/not implemented/i.test((error as Error).message)) throw error;
  }
}

export function fhirpathEvaluator(expression: string, basePath: string, isResource: boolean): (resource: Resource, focus?: readonly PathNode[]) => PathNode[] {
  const fn = compileFhirpath(expression, basePath, isResource);
  return (resource, focus) => {
    const out: PathNode[] = [];
    for (const node of focus ?? [rootNode(resource)]) {
      let results: unknown[];
      try {
        results = fn(node.value, { resource });
      } catch {
        continue; // e.g. resolve() used other than as a type test: it would need a server
      }
      for (const r of results) out.push(fromFhirpath(r));
    }
    return out;
  };
}

function fromFhirpath(result: unknown): PathNode {
  if (result && typeof result === 'object' && 'fhirNodeDataType' in result) {
    const n = result as FhirpathNode;
    const type = fhirTypeName(n.fhirNodeDataType ?? 'string');
    return { value: n.data, type, path: type };
  }
  const type = typeof result === 'boolean' ? 'boolean' : typeof result === 'number' ? 'decimal' : 'string';
  return { value: result, type, path: type };
}
