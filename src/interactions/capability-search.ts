// The search part of the CapabilityStatement (capabilitystatement.html#CapabilityStatement.rest.resource.searchParam):
// every parameter of each type, what it can _include and what can _revinclude it.
import type { SearchParamDefinition, SearchParamRegistry } from '../search/parameters.js';

export interface SearchCapability {
  searchInclude: string[];
  searchRevInclude: string[];
  searchParam: { name: string; definition: string; type: string; documentation?: string }[];
}

const built = new WeakMap<SearchParamRegistry, Map<string, SearchCapability>>();

function param(def: SearchParamDefinition) {
  const entry: SearchCapability['searchParam'][number] = { name: def.code, definition: def.url, type: def.type };
  if (def.special === 'unsupported') entry.documentation = 'Recognised but not supported: ignored (or a 400 with Prefer: handling=strict)';
  return entry;
}

// The same order as String#localeCompare, without building a collator per comparison.
const byCode = new Intl.Collator().compare;

function build(registry: SearchParamRegistry): Map<string, SearchCapability> {
  const map = new Map<string, SearchCapability>();
  const revIncludes = new Map<string, string[]>();
  for (const type of registry.resourceTypes) {
    const params = [...registry.paramsFor(type).values()];
    const references = params.filter((p) => p.type === 'reference');
    for (const ref of references) {
      for (const target of ref.targets) {
        let list = revIncludes.get(target);
        if (!list) revIncludes.set(target, (list = []));
        list.push(`${type}:${ref.code}`);
      }
    }
    map.set(type, {
      searchInclude: ['*', ...references.map((p) => `${type}:${p.code}`)],
      searchRevInclude: [],
      searchParam: params.sort((a, b) => byCode(a.code, b.code)).map(param),
    });
  }
  for (const [type, capability] of map) capability.searchRevInclude = (revIncludes.get(type) ?? []).sort();
  return map;
}

/** Search capabilities of a type (computed once per registry for all types, on first use). */
export function searchCapability(registry: SearchParamRegistry, type: string): SearchCapability | undefined {
  let byType = built.get(registry);
  if (!byType) built.set(registry, (byType = build(registry)));
  return byType.get(type);
}

/** Parameters of system-level search (the common ones). */
export function systemSearchParams(registry: SearchParamRegistry): SearchCapability['searchParam'] {
  return [...registry.commonParams().values()].map(param);
}
