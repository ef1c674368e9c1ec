// The search part of the CapabilityStatement (capabilitystatement.html#CapabilityStatement.rest.resource.searchParam):
// every parameter of each type, what it can _include and what can _revinclude it.
import type { SearchParamDefinition, SearchParamRegistry } from '../search/parameters.js';

export interface SearchCapability {
  searchInclude: string[];
  searchRevInclude: string[];
  searchParam: { name: string; definition: string; type: string; documentation?: string }[];
}

/** Everything the statement says about search, for one set of search parameters. */
export interface SearchSection {
  /** By resource type, for every type the registry knows. */
  types: Record<string, SearchCapability>;
  /** Parameters of system-level search (the common ones). */
  system: SearchCapability['searchParam'];
}

const built = new WeakMap<SearchParamRegistry, SearchSection>();

function param(def: SearchParamDefinition) {
  const entry: SearchCapability['searchParam'][number] = { name: def.code, definition: def.url, type: def.type };
  if (def.special === 'unsupported') entry.documentation = 'Recognised but not supported: ignored (or a 400 with Prefer: handling=strict)';
  return entry;
}

function build(registry: SearchParamRegistry): SearchSection {
  // The order of String#localeCompare, without a collator per comparison (and not built at
  // import: that costs ~7 ms of start-up when the section is prebuilt).
  const byCode = new Intl.Collator().compare;
  const types: Record<string, SearchCapability> = {};
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
    types[type] = {
      searchInclude: ['*', ...references.map((p) => `${type}:${p.code}`)],
      searchRevInclude: [],
      searchParam: params.sort((a, b) => byCode(a.code, b.code)).map(param),
    };
  }
  for (const [type, capability] of Object.entries(types)) capability.searchRevInclude = (revIncludes.get(type) ?? []).sort();
  return { types, system: [...registry.commonParams().values()].map(param) };
}

/** The search section of a registry (computed once per registry, on first use). */
export function searchSection(registry: SearchParamRegistry): SearchSection {
  let section = built.get(registry);
  if (!section) built.set(registry, (section = build(registry)));
  return section;
}
