import type { SearchClause, SearchFilter } from './parse.js';

/**
 * The types whose resources a search's clauses read besides the types searched: the targets of
 * its chains and the sources of its `_has`, at any depth, and the types that access limits
 * inside them apply to (`limited`: whether there are any). A parsed chain always names its
 * target types (an untyped one fans out to every type its reference can target), so the set is
 * complete.
 */
export function typesReached(clauses: readonly SearchClause[]): { types: Set<string>; limited: boolean } {
  const types = new Set<string>();
  let limited = false;
  const walk = (filter: SearchFilter): void => {
    switch (filter.kind) {
      case 'param':
        return;
      case 'chain':
        for (const target of filter.targets) {
          types.add(target.targetType);
          walk(target.filter);
        }
        return;
      case 'has':
        types.add(filter.sourceType);
        return walk(filter.filter);
      case 'limited':
        limited = true;
        types.add(filter.resourceType);
        return walk(filter.filter);
    }
  };
  for (const clause of clauses) walk(clause.filter);
  return { types, limited };
}
