// Authorization's SearchRestriction applied to a parsed search (see InteractionContext.searchRestriction).
import type { ParsedSearch, SearchFilter } from '../search/parse.js';
import type { AccessLimit } from '../store/types.js';
import type { SearchRestriction } from './types.js';

/** The limit on a search's results among `types` (empty: every type), if authorization set one. */
export function resultLimit(restriction: SearchRestriction | undefined, types: readonly string[]): AccessLimit | undefined {
  return restriction?.results?.(types.length > 0 ? types : undefined);
}

/**
 * The search with every chain target and `_has` source confined to what the caller may search of
 * that type, so that a chain or `_has` never looks at resources the caller may not see.
 */
export function confineLinks(parsed: ParsedSearch, restriction: SearchRestriction | undefined): ParsedSearch {
  if (!restriction || !parsed.clauses.some((clause) => clause.filter.kind !== 'param')) return parsed;
  return { ...parsed, clauses: parsed.clauses.map((clause) => ({ ...clause, filter: confine(clause.filter, restriction) })) };
}

function confine(filter: SearchFilter, restriction: SearchRestriction): SearchFilter {
  switch (filter.kind) {
    case 'param':
    case 'limited':
      return filter;
    case 'chain':
      return { ...filter, targets: filter.targets.map((target) => ({ targetType: target.targetType, filter: limited(target.targetType, confine(target.filter, restriction), restriction) })) };
    case 'has':
      return { ...filter, filter: limited(filter.sourceType, confine(filter.filter, restriction), restriction) };
  }
}

function limited(resourceType: string, filter: SearchFilter, restriction: SearchRestriction): SearchFilter {
  const limit = restriction.linked(resourceType);
  return limit ? { kind: 'limited', resourceType, filter, limit } : filter;
}
