import type { IndexedDefinition, ParameterIdentity, SearchParameterSet } from './parameter-set.js';
import { defaultRegistry, type SearchParameterResource, type SearchParamType } from './parameters.js';

/**
 * Which index rows a change of search parameters touches: the codes of the definitions added,
 * removed or changed (and of composites built on them), on the types they apply to. A rebuild
 * then reads and rewrites those rows only.
 */
export interface ParameterChanges {
  /** Undefined: every type (a changed definition has base Resource or DomainResource). */
  types?: readonly string[];
  codes: ReadonlySet<string>;
}

/** The changes from `before` to `after`; undefined when everything must be rebuilt (another base set or extraction format). */
export function parameterChanges(before: ParameterIdentity | undefined, after: SearchParameterSet): ParameterChanges | undefined {
  const now = after.identity;
  if (!before || before.format !== now.format || before.definitions !== now.definitions || before.fhirpath !== now.fhirpath) return undefined;
  const key = (d: IndexedDefinition) => JSON.stringify(d);
  const beforeKeys = new Set(before.custom.map(key));
  const afterKeys = new Set(now.custom.map(key));
  const changed = [...before.custom.filter((d) => !afterKeys.has(key(d))), ...now.custom.filter((d) => !beforeKeys.has(key(d)))];
  const types = new Set<string>();
  const codes = new Set<string>();
  const urls = new Set<string>();
  let everyType = false;
  for (const [url, code, bases] of changed) {
    urls.add(url);
    codes.add(code);
    for (const base of bases) {
      if (base === 'Resource' || base === 'DomainResource') everyType = true;
      else types.add(base);
    }
  }
  if (changed.length > 0) {
    // A composite's rows are made from its components' definitions.
    const registry = after.registry;
    for (const type of registry.resourceTypes) {
      for (const def of registry.paramsFor(type).values()) {
        if (def.components?.some((c) => urls.has(c.url))) (codes.add(def.code), types.add(type));
      }
    }
    // A parameter that starts or stops sharing another's rows (search/shared-rows.ts) gains or
    // loses rows of its own, though its definition is unchanged.
    const earlier = defaultRegistry().with(before.custom.map(definitionOf));
    for (const type of everyType ? registry.resourceTypes : [...types]) {
      const now = registry.paramsFor(type);
      const then = earlier.paramsFor(type);
      for (const code of new Set([...now.keys(), ...then.keys()])) {
        if (JSON.stringify(now.get(code)?.sharedRows ?? null) !== JSON.stringify(then.get(code)?.sharedRows ?? null)) codes.add(code);
      }
    }
  }
  return everyType ? { codes } : { types: [...types], codes };
}

function definitionOf([url, code, base, type, expression, components]: IndexedDefinition): SearchParameterResource {
  return {
    resourceType: 'SearchParameter',
    url,
    code,
    base,
    type: type as SearchParamType,
    ...(expression === null ? {} : { expression }),
    ...(components.length > 0 ? { component: components.map(([definition, expr]) => ({ definition, expression: expr })) } : {}),
  };
}
