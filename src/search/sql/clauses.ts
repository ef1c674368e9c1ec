import { invalid } from '../../fhir/errors.js';
import type { SearchParamDefinition } from '../parameters.js';
import type { ChainFilter, HasFilter, ParamFilter, SearchFilter, SearchValue } from '../parse.js';
import { componentCondition, dateCondition, numberCondition, quantityCondition, referenceCondition, stringCondition, tokenCondition, uriCondition } from './conditions.js';
import { and, inList, join, or, raw, type Sql, sql } from './fragment.js';
import { accessClauses, allOfClause } from './access.js';
import { textClause, type TextSearch } from './text.js';
import { systemImplied } from './token-kind.js';

/**
 * Search filters (the AST of parse.ts) → SQL. Each ANDed clause becomes a `Clause` that can test
 * one candidate resource (`probe`, an EXISTS on an index table keyed by rkey) and, when it is
 * positive, list its matches (`set`, a SELECT of rkeys through the index's leading key). A query
 * lets its most selective clause drive (`rkey IN (set)`) and probes the others.
 */

export interface Clause {
  /**
   * A boolean expression on a row aliased `o` that has an `rkey` column: a `resource` row, or a
   * row of the index table that drives the query (index rows exist only for live resources).
   */
  probe(o: string): Sql;
  /** The rkeys of matching resources among `types` (all types when undefined). */
  set?(types: readonly string[] | undefined): Sql;
  /** Expected selectivity: lower drives first. */
  rank: number;
  /** `set` lists rkeys in ascending order (one equality on every index column before rkey). */
  ordered?: boolean;
  /**
   * A query of one row, column `n`: how many rows `set` lists, counted up to `cap` (at least
   * `cap` meaning "too many to drive"), with work bounded by `cap` too. Absent: counting `set`.
   */
  size?(types: readonly string[] | undefined, cap: number): Sql;
  /** Relative work of one probe (absent: 1, one lookup in one index); following references costs more. */
  cost?: number;
}

/** What a probe that follows references (chains, `_has`) costs on top of what it tests at the other end. */
const FOLLOW_COST = 4;

/** The work of probing one candidate with every one of `clauses` (see Clause.cost). */
export function probeCost(clauses: readonly Clause[]): number {
  return clauses.reduce((sum, clause) => sum + (clause.cost ?? 1), 0);
}

/** `SELECT n`: the rows of `rows` (a SELECT), counted up to `cap`. */
export function boundedCount(rows: Sql, cap: number): Sql {
  return sql`SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM (${rows}) c LIMIT ${cap}) b`;
}

/** `SELECT n`: the clause's bounded size (see Clause.size). */
export function sizeQuery(clause: Clause, types: readonly string[] | undefined, cap: number): Sql {
  return clause.size ? clause.size(types, cap) : boundedCount(clause.set!(types), cap);
}

export interface BuildContext {
  tenant: string;
  now: number;
  /** The backend's full-text index, for `_text` and `_content`. */
  text: TextSearch;
  /** Ends every candidate-testing EXISTS sub-query (Dialect.probeFence). */
  fence: string;
  /** Chains whose targets are few: probes test references against the list of them (see chainClause). */
  fewTargets: ReadonlySet<SearchFilter>;
  /** `column` is among the values of `list`, computed once (Dialect.listed). */
  listed(column: string, list: Sql): Sql;
  /** A fresh table alias. */
  alias(): string;
}

/** The backend's parts of the SQL (from its Dialect). */
export interface SqlFlavour {
  textSearch: TextSearch;
  probeFence?: string;
  listed?: (column: string, list: Sql) => Sql;
}

const listedIn = (column: string, list: Sql): Sql => sql`${raw(column)} IN (${list})`;

export function buildContext(tenant: string, now = Date.now(), flavour: SqlFlavour, fewTargets: ReadonlySet<SearchFilter> = new Set()): BuildContext {
  let n = 0;
  return { tenant, now, text: flavour.textSearch, fence: flavour.probeFence ?? '', listed: flavour.listed ?? listedIn, fewTargets, alias: () => `a${n++}` };
}

/** `EXISTS (body)`, run per candidate (see BuildContext.fence). */
export function exists(ctx: BuildContext, body: Sql): Sql {
  return sql`EXISTS (${body}${raw(ctx.fence)})`;
}

export const TABLES = {
  string: 'search_string',
  token: 'search_token',
  reference: 'search_reference',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
  uri: 'search_uri',
  composite: 'search_composite',
} as const;

/** Never used to drive: it matches what other rows lack. */
const NEGATIVE = 100;

export function typeCondition(column: string, types: readonly string[] | undefined): Sql {
  return types === undefined ? raw('1 = 1') : inList(column, types);
}

/** Conditions selecting the live resources (alias `o`) of `types` that satisfy every clause. */
export function matchConditions(ctx: BuildContext, o: string, types: readonly string[] | undefined, clauses: readonly Clause[]): Sql {
  const { driver, probes } = chooseDriver(clauses);
  const parts: Sql[] = [liveResource(ctx, o, types)];
  if (driver) parts.push(sql`${raw(o)}.rkey IN (${driver.set!(types)})`);
  for (const clause of probes) parts.push(clause.probe(o));
  return join(parts, ' AND ');
}

/**
 * The clause that lists candidates (`preferred`, an index into `clauses`, or else the positive one
 * expected most selective) and those that test them, in the order they are expected to fail.
 */
export function chooseDriver(clauses: readonly Clause[], preferred?: number): { driver?: Clause; probes: Clause[] } {
  const ordered = [...clauses].sort((a, b) => a.rank - b.rank);
  const chosen = preferred === undefined ? undefined : clauses[preferred];
  const driver = chosen?.set && chosen.rank < NEGATIVE ? chosen : ordered.find((c) => c.set && c.rank < NEGATIVE);
  return { ...(driver ? { driver } : {}), probes: ordered.filter((c) => c !== driver) };
}

/** `o` is a live resource of the tenant, of one of `types` (any type when undefined). */
export function liveResource(ctx: BuildContext, o: string, types: readonly string[] | undefined): Sql {
  return sql`${raw(o)}.tenant = ${ctx.tenant} AND ${typeCondition(`${o}.type`, types)} AND ${raw(o)}.deleted = 0`;
}

/** Resources of one type matching `clauses`, as a SELECT of `column` (id or rkey). */
function matching(ctx: BuildContext, type: string, clauses: readonly Clause[], column: 'id' | 'rkey'): Sql {
  const t = ctx.alias();
  return sql`SELECT ${raw(`${t}.${column}`)} FROM resource ${raw(t)} WHERE ${matchConditions(ctx, t, [type], clauses)}`;
}

/** The rows of `param` in the index table aliased `x`: its own, or those it shares (search/shared-rows.ts). */
export function paramRows(x: string, param: SearchParamDefinition): Sql {
  const shared = param.sharedRows;
  if (!shared) return sql`${raw(x)}.param = ${param.code}`;
  const params = inList(`${x}.param`, shared.params);
  return shared.targetType === undefined ? params : sql`${params} AND ${raw(x)}.target_type = ${shared.targetType}`;
}

/** A clause on the rows of one parameter in an index table. */
function indexClause(ctx: BuildContext, table: string, param: SearchParamDefinition, condition: (x: string) => Sql, rank: number, negate = false): Clause {
  const clause: Clause = {
    rank: negate ? NEGATIVE : rank,
    probe(o) {
      const x = ctx.alias();
      const found = exists(ctx, sql`SELECT 1 FROM ${raw(table)} ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${paramRows(x, param)} AND ${condition(x)}`);
      return negate ? sql`NOT ${found}` : found;
    },
  };
  if (!negate) {
    clause.set = (types) => {
      const x = ctx.alias();
      return sql`SELECT ${raw(x)}.rkey FROM ${raw(table)} ${raw(x)} WHERE ${raw(x)}.tenant = ${ctx.tenant} AND ${typeCondition(`${x}.type`, types)} AND ${paramRows(x, param)} AND ${condition(x)}`;
    };
  }
  return clause;
}

/** `condition` on the resource row of the row `o` (which may be an index row). */
export function onResource(ctx: BuildContext, o: string, condition: (r: string) => Sql): Sql {
  const r = ctx.alias();
  return exists(ctx, sql`SELECT 1 FROM resource ${raw(r)} WHERE ${raw(r)}.rkey = ${raw(o)}.rkey AND ${condition(r)}`);
}

/** A clause on the resource table's own columns. */
function resourceClause(ctx: BuildContext, condition: (o: string) => Sql, rank: number): Clause {
  return {
    rank,
    probe: (o) => onResource(ctx, o, condition),
    set(types) {
      const s = ctx.alias();
      return sql`SELECT ${raw(s)}.rkey FROM resource ${raw(s)} WHERE ${raw(s)}.tenant = ${ctx.tenant} AND ${typeCondition(`${s}.type`, types)} AND ${raw(s)}.deleted = 0 AND ${condition(s)}`;
    },
  };
}

export function compileFilter(ctx: BuildContext, filter: SearchFilter): Clause {
  switch (filter.kind) {
    case 'param':
      return paramClause(ctx, filter);
    case 'chain':
      return chainClause(ctx, filter);
    case 'has':
      return hasClause(ctx, filter);
    case 'limited':
      return allOfClause(ctx, [compileFilter(ctx, filter.filter), ...accessClauses(ctx, filter.limit)]);
  }
}

function tableOf(param: SearchParamDefinition): string {
  return TABLES[param.type as keyof typeof TABLES] ?? TABLES.token;
}

const iso = (ms: number) => new Date(Math.min(Math.max(ms, -62_167_219_200_000), 253_402_300_799_999)).toISOString();

function paramClause(ctx: BuildContext, f: ParamFilter): Clause {
  const { param, modifier, values } = f;
  const first = values[0];
  if (param.special === 'id') {
    if (first?.type === 'missing') return resourceClause(ctx, () => raw(first.missing ? '1 = 0' : '1 = 1'), first.missing ? 0 : NEGATIVE);
    const ids = values.map((v) => (v.type === 'token' ? (v.code ?? '') : ''));
    if (modifier === 'not') return { rank: NEGATIVE, probe: (o) => sql`NOT ${onResource(ctx, o, (r) => inList(`${r}.id`, ids))}` };
    return resourceClause(ctx, (o) => inList(`${o}.id`, ids), 0);
  }
  if (param.special === 'lastUpdated') {
    if (first?.type === 'missing') return resourceClause(ctx, () => raw(first.missing ? '1 = 0' : '1 = 1'), first.missing ? 0 : NEGATIVE);
    return resourceClause(ctx, (o) => or(values.map((v) => (v.type === 'date' ? dateCondition(v, { low: `${o}.last_updated`, high: `${o}.last_updated` }, iso, ctx.now) : raw('1 = 0')))), 8);
  }
  const fullText = param.special === 'text' || param.special === 'content';
  // The full-text index keeps no row for a resource without text: it cannot tell which have none.
  if (fullText && first?.type === 'missing') throw invalid(`':missing' is not supported on '${param.code}'`, [param.code], 'not-supported');
  const table = tableOf(param);
  if (first?.type === 'missing') {
    return first.missing ? indexClause(ctx, table, param, () => raw('1 = 1'), 0, true) : indexClause(ctx, table, param, () => raw('1 = 1'), 9);
  }
  if (fullText) return textClause(ctx, param.code, values, 7);
  const condition = (x: string) => or(values.map((v) => valueCondition(v, param, modifier, x, ctx)));
  const clause = indexClause(ctx, table, param, condition, rankOf(param, values), modifier === 'not');
  if (values.length === 1 && isOrdered(param, modifier, values[0])) clause.ordered = true;
  return clause;
}

/** Whether the value's condition is one equality per index column, so its rows list in rkey order (see search-schema.ts). */
function isOrdered(param: SearchParamDefinition, modifier: string | undefined, v: SearchValue): boolean {
  if ((param.sharedRows?.params.length ?? 1) > 1) return false;
  switch (v.type) {
    case 'token':
      return !modifier && v.text === undefined && v.typeSystem === undefined && v.code !== undefined && typeof v.system === 'string' && !systemImplied(param);
    case 'reference':
      return (!modifier || /^[A-Z]/.test(modifier)) && !v.identifier && v.url === undefined && v.id !== undefined && (v.targetType !== undefined || modifier !== undefined);
    case 'uri':
      return !modifier;
    default:
      return false;
  }
}

/**
 * Several date clauses on one parameter that holds at most one value per resource (see
 * search/single-valued.ts), as one clause on the same index row: `birthdate=ge1990&birthdate=lt1995`
 * reads one index range instead of testing every candidate of one bound for the other.
 */
export function sameRowDateClause(ctx: BuildContext, filters: readonly ParamFilter[]): Clause {
  const conditions = (x: string) => and(filters.map((f) => valueCondition(f.values[0], f.param, undefined, x, ctx)));
  return indexClause(ctx, TABLES.date, filters[0].param, conditions, 5);
}

function rankOf(param: SearchParamDefinition, values: readonly SearchValue[]): number {
  const v = values[0];
  switch (v?.type) {
    case 'reference':
      return v.id !== undefined || v.identifier ? 1 : 3;
    case 'token':
      return v.text !== undefined ? 7 : v.code === undefined ? 6 : param.code === 'identifier' ? 1 : 2;
    case 'uri':
      return 3;
    case 'string':
      return 4;
    case 'composite':
      return 3;
    default:
      return 5;
  }
}

function valueCondition(v: SearchValue, param: SearchParamDefinition, modifier: string | undefined, x: string, ctx: BuildContext): Sql {
  switch (v.type) {
    case 'string':
      return stringCondition(v, modifier, { value: `${x}.value`, norm: `${x}.norm` });
    case 'token':
      return tokenCondition(v, { system: `${x}.system`, code: `${x}.code`, text: `${x}.text`, typeSystem: `${x}.type_system`, typeCode: `${x}.type_code` }, systemImplied(param));
    case 'reference': {
      const typed = modifier && /^[A-Z]/.test(modifier) && !v.targetType && v.id !== undefined ? { ...v, targetType: modifier } : v;
      return referenceCondition(typed, {
        type: `${x}.target_type`,
        id: `${x}.target_id`,
        version: `${x}.target_version`,
        url: `${x}.url`,
        identifierSystem: `${x}.identifier_system`,
        identifierValue: `${x}.identifier_value`,
      });
    }
    case 'date':
      return dateCondition(v, { low: `${x}.low`, high: `${x}.high` }, undefined, ctx.now);
    case 'number':
      return numberCondition(v, { low: `${x}.value`, high: `${x}.value` });
    case 'quantity':
      return quantityCondition(v, { low: `${x}.low`, high: `${x}.high`, system: `${x}.system`, code: `${x}.code`, unit: `${x}.unit` });
    case 'uri':
      return uriCondition(v, modifier, `${x}.value`);
    case 'composite':
      return and(v.components.map((component, k) => componentCondition(component, k, x)));
    case 'missing':
      return raw('1 = 1');
  }
}

/** Targets whose references a chain counts to estimate how many references each target has. */
const FANOUT_SAMPLE = 20;

/** `SELECT n`: how many targets (live resources matching the rest of the chain) a chain has, up to `cap`. */
export function chainTargetCount(ctx: BuildContext, f: ChainFilter, cap: number): Sql {
  const clauses = f.targets.map((t) => ({ type: t.targetType, clause: compileFilter(ctx, t.filter) }));
  // Index rows exist only for live resources: a clause's own list counts its targets.
  const lists = clauses.map(({ type, clause }) => (clause.set ? clause.set([type]) : matching(ctx, type, [clause], 'rkey')));
  return boundedCount(lists.reduce((all, next) => sql`${all} UNION ALL ${next}`), cap);
}

/**
 * `subject:Patient.name=x`: references whose target is a live resource matching the rest of the
 * chain. Listing them starts from the matching targets. Testing one candidate follows its
 * references to their targets, a constant cost however many targets match; when the targets are
 * few (ctx.fewTargets), it looks its references up in the list of them instead, built once.
 */
function chainClause(ctx: BuildContext, f: ChainFilter): Clause {
  const inner = f.targets.map((t) => ({ type: t.targetType, clause: compileFilter(ctx, t.filter) }));
  const rank = Math.min(...inner.map((t) => t.clause.rank)) + 1;
  const references = (types: readonly string[] | undefined, targets: (x: string, type: string, clause: Clause) => Sql) => {
    const x = ctx.alias();
    const where = or(inner.map((t) => sql`${raw(x)}.target_type = ${t.type} AND ${targets(x, t.type, t.clause)}`));
    return sql`SELECT ${raw(x)}.rkey FROM search_reference ${raw(x)} WHERE ${raw(x)}.tenant = ${ctx.tenant} AND ${typeCondition(`${x}.type`, types)} AND ${paramRows(x, f.param)} AND ${where}`;
  };
  return {
    rank: Math.max(rank, 3),
    cost: FOLLOW_COST + Math.max(...inner.map((t) => t.clause.cost ?? 1)),
    probe(o) {
      const x = ctx.alias();
      if (ctx.fewTargets.has(f)) {
        // `|| ''` keeps SQLite from looking each target of the list up in the reference index.
        const listed = inner.map((t) => sql`${raw(x)}.target_type = ${t.type} AND (${raw(x)}.target_id || '') IN (${matching(ctx, t.type, [t.clause], 'id')})`);
        return exists(ctx, sql`SELECT 1 FROM search_reference ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${paramRows(x, f.param)} AND ${or(listed)}`);
      }
      const targets = inner.map((t) => {
        const r = ctx.alias();
        const target = exists(ctx, sql`SELECT 1 FROM resource ${raw(r)} WHERE ${raw(r)}.tenant = ${ctx.tenant} AND ${raw(r)}.type = ${t.type}
          AND ${raw(r)}.id = ${raw(x)}.target_id AND ${raw(r)}.deleted = 0 AND ${t.clause.probe(r)}`);
        return sql`${raw(x)}.target_type = ${t.type} AND ${target}`;
      });
      return exists(ctx, sql`SELECT 1 FROM search_reference ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${paramRows(x, f.param)} AND ${or(targets)}`);
    },
    set: (types) => references(types, (x, type, clause) => ctx.listed(`${x}.target_id`, matching(ctx, type, [clause], 'id'))),
    size(types, cap) {
      // Targets × references per target, the latter counted for the first few targets only:
      // counting every reference would read each matching target at random.
      if (inner.some((t) => !t.clause.set)) return sql`SELECT ${cap} AS n`;
      const estimates = inner.map((t) => {
        const x = ctx.alias();
        const s = ctx.alias();
        const i = ctx.alias();
        // Counted per target (a scalar sub-query for each), never as a join that a planner
        // without statistics may run the other way round: once per reference.
        const perTarget = sql`SELECT COUNT(*) FROM search_reference ${raw(x)} WHERE ${raw(x)}.tenant = ${ctx.tenant} AND ${typeCondition(`${x}.type`, types)}
          AND ${paramRows(x, f.param)} AND ${raw(x)}.target_type = ${t.type} AND ${raw(x)}.target_id = ${raw(s)}.id`;
        const references = sql`SELECT COALESCE(SUM((${perTarget})), 0) FROM (${matching(ctx, t.type, [t.clause], 'id')} LIMIT ${FANOUT_SAMPLE}) ${raw(s)}`;
        const n = raw(`${i}.n`);
        return sql`(SELECT CASE WHEN ${n} >= ${cap} THEN ${cap} WHEN ${n} = 0 THEN 0
          ELSE ${n} * (${references}) / (CASE WHEN ${n} < ${FANOUT_SAMPLE} THEN ${n} ELSE ${FANOUT_SAMPLE} END) END FROM (${sizeQuery(t.clause, [t.type], cap)}) ${raw(i)})`;
      });
      const e = ctx.alias();
      return sql`SELECT CASE WHEN ${raw(e)}.n >= ${cap} THEN ${cap} ELSE ${raw(e)}.n END AS n FROM (SELECT ${join(estimates, ' + ')} AS n) ${raw(e)}`;
    },
  };
}

/**
 * `_has:Observation:patient:code=x`: resources that a matching Observation refers to through
 * `patient`. Listing them starts from the matching sources; testing one candidate starts from the
 * references to it (the reference index leads with the target), so neither side is listed whole.
 */
function hasClause(ctx: BuildContext, f: HasFilter): Clause {
  const inner = compileFilter(ctx, f.filter);
  return {
    rank: Math.max(inner.rank + 1, 3),
    cost: FOLLOW_COST + (inner.cost ?? 1),
    probe(o) {
      const r = ctx.alias();
      const x = ctx.alias();
      // Reference rows exist only for live resources: x itself stands for a live source.
      return exists(
        ctx,
        sql`SELECT 1 FROM resource ${raw(r)} JOIN search_reference ${raw(x)} ON ${raw(x)}.tenant = ${raw(r)}.tenant AND ${raw(x)}.target_id = ${raw(r)}.id
          AND ${raw(x)}.type = ${f.sourceType} AND ${paramRows(x, f.referenceParam)} AND ${raw(x)}.target_type = ${f.resourceType}
          WHERE ${raw(r)}.rkey = ${raw(o)}.rkey AND ${inner.probe(x)}`,
      );
    },
    // About one target per source through one reference: the sources' count stands for the targets'.
    size: (_types, cap) => (inner.set ? sizeQuery(inner, [f.sourceType], cap) : sql`SELECT ${cap} AS n`),
    set(types) {
      const x = ctx.alias();
      const p = ctx.alias();
      const sources = matching(ctx, f.sourceType, [inner], 'rkey');
      const targets = sql`SELECT ${raw(x)}.target_id FROM search_reference ${raw(x)} WHERE ${raw(x)}.rkey IN (${sources})
        AND ${paramRows(x, f.referenceParam)} AND ${raw(x)}.target_type = ${f.resourceType}`;
      return sql`SELECT ${raw(p)}.rkey FROM resource ${raw(p)} WHERE ${raw(p)}.tenant = ${ctx.tenant} AND ${typeCondition(`${p}.type`, types)}
        AND ${raw(p)}.type = ${f.resourceType} AND ${raw(p)}.deleted = 0 AND ${ctx.listed(`${p}.id`, targets)}`;
    },
  };
}

/** Membership of a compartment (compartment search, $everything): one of `params` of the resource's type refers to it. */
export interface CompartmentScope {
  type: string;
  /** Absent: the compartment of any resource of `type` (type-level $everything). */
  id?: string;
  /** Per resource type, the reference parameters that put a resource in the compartment. */
  params: ReadonlyMap<string, readonly string[]>;
  /** Also the compartment's own resource (`Patient/{id}` itself, for $everything). */
  includeSelf?: boolean;
}

export function compartmentClause(ctx: BuildContext, scope: CompartmentScope): Clause {
  const byType = (x: string, types: readonly string[] | undefined) =>
    or([...scope.params].filter(([type]) => !types || types.includes(type)).map(([type, params]) => sql`${raw(x)}.type = ${type} AND ${inList(`${x}.param`, params)}`));
  const target = (x: string) => (scope.id === undefined ? sql`${raw(x)}.target_type = ${scope.type}` : sql`${raw(x)}.target_id = ${scope.id} AND ${raw(x)}.target_type = ${scope.type}`);
  const self = (o: string) => (scope.id === undefined ? sql`${raw(o)}.type = ${scope.type}` : sql`${raw(o)}.type = ${scope.type} AND ${raw(o)}.id = ${scope.id}`);
  return {
    rank: scope.id === undefined ? 50 : 1,
    probe(o) {
      const x = ctx.alias();
      const member = exists(ctx, sql`SELECT 1 FROM search_reference ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${target(x)} AND ${byType(x, undefined)}`);
      return scope.includeSelf ? or([onResource(ctx, o, self), member]) : member;
    },
    set(types) {
      const x = ctx.alias();
      const members = sql`SELECT ${raw(x)}.rkey FROM search_reference ${raw(x)} WHERE ${raw(x)}.tenant = ${ctx.tenant} AND ${target(x)} AND ${byType(x, types)}`;
      if (!scope.includeSelf || (types && !types.includes(scope.type))) return members;
      const s = ctx.alias();
      return sql`${members} UNION SELECT ${raw(s)}.rkey FROM resource ${raw(s)} WHERE ${raw(s)}.tenant = ${ctx.tenant} AND ${self(s)} AND ${raw(s)}.deleted = 0`;
    },
  };
}
