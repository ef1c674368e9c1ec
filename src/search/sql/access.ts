import type { SearchFilter } from '../parse.js';
import { type BuildContext, buildContext, probeCost, type SqlFlavour, type Clause, compartmentClause, type CompartmentScope, compileFilter, exists, matchConditions, onResource, typeCondition } from './clauses.js';
import { and, or, raw, type Sql, sql } from './fragment.js';

/**
 * Authorization's limit on what a search may match (SMART patient/ and user/ scopes, v2 scope
 * criteria), as SQL: a resource must meet every condition of at least one alternative. The
 * auth layer builds it (src/auth/reach-search.ts) from the same data it checks single resources
 * with (src/auth/reach.ts), so that a search and a read never disagree.
 */
export interface AccessLimit {
  anyOf: AccessAlternative[];
}

export interface AccessAlternative {
  /** Only resources of these types (absent: any type the search covers). */
  types?: readonly string[];
  /** ANDed. */
  conditions: AccessCondition[];
}

export type AccessCondition =
  /** In a compartment (with `includeSelf`, the compartment's own resource too). */
  | { kind: 'compartment'; scope: CompartmentScope }
  /** Is the resource `type/id`, or refers to it through any indexed reference parameter. */
  | { kind: 'refers-to'; type: string; id: string }
  /** Matches a search filter. */
  | { kind: 'filter'; filter: SearchFilter };

/** Ranks (see Clause.rank) of clauses that cannot or should not drive on their own. */
const WEAK = 60;

/** The limit as clauses to AND into a query: one alternative's own clauses, or one OR of them. */
export function accessClauses(ctx: BuildContext, limit: AccessLimit): Clause[] {
  const groups = limit.anyOf.map((alternative) => alternativeClauses(ctx, alternative));
  return groups.length === 1 ? groups[0] : [anyOfClause(ctx, groups)];
}

/** `type, id` of the live resources of `types` (undefined: all) within the limit (type and system history). */
export function accessMembers(tenant: string, limit: AccessLimit, types: readonly string[] | undefined, flavour: SqlFlavour): Sql {
  const ctx = buildContext(tenant, Date.now(), flavour);
  return sql`SELECT m.type, m.id FROM resource m WHERE ${matchConditions(ctx, 'm', types, accessClauses(ctx, limit))}`;
}

function alternativeClauses(ctx: BuildContext, alternative: AccessAlternative): Clause[] {
  const clauses = alternative.conditions.map((condition) => conditionClause(ctx, condition));
  if (alternative.types) clauses.push(typesClause(ctx, alternative.types));
  return clauses;
}

function conditionClause(ctx: BuildContext, condition: AccessCondition): Clause {
  switch (condition.kind) {
    case 'compartment':
      return compartmentClause(ctx, condition.scope);
    case 'refers-to':
      return refersToClause(ctx, condition.type, condition.id);
    case 'filter':
      return compileFilter(ctx, condition.filter);
  }
}

function typesClause(ctx: BuildContext, types: readonly string[]): Clause {
  return { rank: WEAK, probe: (o) => onResource(ctx, o, (r) => typeCondition(`${r}.type`, types)) };
}

/** `type/id` itself, or a resource with a reference search parameter whose target is `type/id`. */
function refersToClause(ctx: BuildContext, type: string, id: string): Clause {
  const self = (o: string) => sql`${raw(o)}.type = ${type} AND ${raw(o)}.id = ${id}`;
  const target = (x: string) => sql`${raw(x)}.target_id = ${id} AND ${raw(x)}.target_type = ${type}`;
  return {
    rank: 1,
    probe(o) {
      const x = ctx.alias();
      return or([onResource(ctx, o, self), exists(ctx, sql`SELECT 1 FROM search_reference ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${target(x)}`)]);
    },
    set(types) {
      const x = ctx.alias();
      const referring = sql`SELECT ${raw(x)}.rkey FROM search_reference ${raw(x)} WHERE ${raw(x)}.tenant = ${ctx.tenant} AND ${typeCondition(`${x}.type`, types)} AND ${target(x)}`;
      if (types && !types.includes(type)) return referring;
      const s = ctx.alias();
      return sql`${referring} UNION SELECT ${raw(s)}.rkey FROM resource ${raw(s)} WHERE ${raw(s)}.tenant = ${ctx.tenant} AND ${self(s)} AND ${raw(s)}.deleted = 0`;
    },
  };
}

/** Resources meeting every clause of `group`, as a SELECT of rkeys among `types`. */
function groupSet(ctx: BuildContext, group: readonly Clause[], types: readonly string[] | undefined): Sql {
  const g = ctx.alias();
  return sql`SELECT ${raw(g)}.rkey FROM resource ${raw(g)} WHERE ${matchConditions(ctx, g, types, group)}`;
}

/** A selective clause the group can list its matches through (what matchConditions would drive by). */
function drivable(group: readonly Clause[]): boolean {
  return group.some((clause) => clause.set !== undefined && clause.rank < WEAK);
}

/**
 * Every clause of at least one group. It can list its matches (a UNION of the groups') only
 * when each group has a selective clause; otherwise it only tests candidates.
 */
export function anyOfClause(ctx: BuildContext, groups: readonly (readonly Clause[])[]): Clause {
  const probe = (o: string) => or(groups.map((group) => and(group.map((clause) => clause.probe(o)))));
  const cost = probeCost(groups.flat());
  if (groups.length === 0 || !groups.every(drivable)) return { rank: WEAK, probe, cost };
  const rank = Math.max(...groups.map((group) => Math.min(...group.map((clause) => clause.rank)))) + 1;
  return {
    rank,
    probe,
    cost,
    set: (types) => groups.map((group) => groupSet(ctx, group, types)).reduce((all, next) => sql`${all} UNION ${next}`),
  };
}

/** Every clause (the part of a chain or _has that authorization confined, see LimitedFilter). */
export function allOfClause(ctx: BuildContext, clauses: readonly Clause[]): Clause {
  const probe = (o: string) => and(clauses.map((clause) => clause.probe(o)));
  const rank = Math.min(...clauses.map((clause) => clause.rank));
  const cost = probeCost(clauses);
  if (!drivable(clauses)) return { rank, probe, cost };
  return { rank, probe, cost, set: (types) => groupSet(ctx, clauses, types) };
}
