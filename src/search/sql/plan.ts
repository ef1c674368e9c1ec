import { invalid } from '../../fhir/errors.js';
import type { ChainFilter, ParamFilter, ParsedSearch, SearchFilter, SortKey } from '../parse.js';
import { isSingleValued } from '../single-valued.js';
import { type BuildContext, buildContext, chainTargetCount, chooseDriver, type Clause, compartmentClause, type CompartmentScope, compileFilter, liveResource, paramRows, probeCost, sameRowDateClause, sizeQuery, TABLES } from './clauses.js';
import { and, join, or, raw, type Sql, type SqlParam, sql } from './fragment.js';
import { type AccessLimit, accessClauses } from './access.js';
import type { TextSearch } from './text.js';

/**
 * The SQL of one search page and of its total (one builder for every SQL backend). Pages are
 * cut by keyset: the cursor holds the last row's sort values and rkey, so a page costs the same
 * however deep it is and stays correct while others write.
 */

export type { CompartmentScope } from './clauses.js';
export type { AccessAlternative, AccessCondition, AccessLimit } from './access.js';

export interface PlanInput {
  tenant: string;
  search: ParsedSearch;
  /** The backend's full-text index (`_text`, `_content`). */
  textSearch: TextSearch;
  /** Dialect.probeFence (none when absent). */
  probeFence?: string;
  /** Dialect.listed (`IN (…)` when absent). */
  listed?: (column: string, list: Sql) => Sql;
  compartment?: CompartmentScope;
  /** Authorization's limit (SMART scopes): ANDed with the search. */
  limit?: AccessLimit;
  now?: number;
  /** Which clause drives (an index into the clauses, as chosen with `driverProbes`). */
  driver?: number;
  /**
   * Sort the driving clause's candidates by rkey first, then test them in that order until the
   * page is full, rather than testing every candidate (chosen by the store when testing is costly).
   */
  stream?: boolean;
  /** Chains with few targets (see `chainTargetQueries`). */
  fewTargets?: ReadonlySet<SearchFilter>;
}

/** A position in the result order: the sort values and rkey of a row, and which way to read. */
export interface Position {
  /** 'after' for next pages, 'before' for previous ones. */
  direction: 'after' | 'before';
  values: SqlParam[];
  rkey: number;
  /** Carried from the first page to the next: its estimated total and the clause that drove it. */
  total?: number;
  driver?: number;
}

interface Key {
  expr: (o: string) => Sql;
  descending: boolean;
  /** The type of its values, to check a cursor's before binding them. */
  kind: 'number' | 'string';
}

/** The types searched: undefined means every type (system search without _type). */
function typesOf(search: ParsedSearch): string[] | undefined {
  return search.types.length > 0 ? search.types : undefined;
}

function clausesOf(ctx: BuildContext, input: PlanInput): Clause[] {
  const merged = sameRowDates(input.search);
  const clauses: Clause[] = [...merged.values()].map((group) => sameRowDateClause(ctx, group));
  const inGroups = new Set<SearchFilter>([...merged.values()].flat());
  for (const { filter } of input.search.clauses) if (!inGroups.has(filter)) clauses.push(compileFilter(ctx, filter));
  if (input.compartment) clauses.push(compartmentClause(ctx, input.compartment));
  if (input.limit) clauses.push(...accessClauses(ctx, input.limit));
  return clauses;
}

/** Date clauses of one type that share a single-valued parameter, by parameter (two or more each). */
function sameRowDates(search: ParsedSearch): Map<string, ParamFilter[]> {
  const groups = new Map<string, ParamFilter[]>();
  if (search.types.length !== 1) return groups;
  for (const { filter } of search.clauses) {
    if (filter.kind !== 'param' || filter.param.type !== 'date' || filter.param.special || filter.modifier) continue;
    if (filter.values.length !== 1 || filter.values[0].type !== 'date' || !isSingleValued(filter.param)) continue;
    groups.set(filter.param.code, [...(groups.get(filter.param.code) ?? []), filter]);
  }
  for (const [code, group] of groups) if (group.length < 2) groups.delete(code);
  return groups;
}

/**
 * The rows a query reads, aliased `d` (each with an `rkey`), and the tests on them. With a driving
 * clause, its index rows: they exist only for live resources, so the resource table is not read
 * at all, and one equality on an index lists rkeys in order, so a page streams from its cursor.
 * A resource may own several matching rows: `distinct` says to group by rkey. Without one, the
 * live resources of the types.
 */
function sourceOf(ctx: BuildContext, input: PlanInput): { from: Sql; where: Sql; distinct: boolean; ordered: boolean } {
  const types = typesOf(input.search);
  const { driver, probes } = chooseDriver(clausesOf(ctx, input), input.driver);
  const tests = probes.map((clause) => clause.probe('d'));
  // Index rows are in rkey order within one type only.
  const oneType = types?.length === 1;
  const ordered = oneType && driver?.ordered === true;
  if (driver && !ordered && input.stream) {
    // The LIMIT keeps the sorted candidates a step of their own on both backends: neither pushes
    // the tests into it (SQLite) nor pulls it up into the outer query (PostgreSQL).
    const c = ctx.alias();
    return { from: sql`(SELECT DISTINCT ${raw(c)}.rkey FROM (${driver.set!(types)}) ${raw(c)} ORDER BY ${raw(c)}.rkey LIMIT ${ALL_ROWS}) d`, where: and(tests), distinct: false, ordered: true };
  }
  if (driver) return { from: sql`(${driver.set!(types)}) d`, where: and(tests), distinct: true, ordered };
  return { from: raw('resource d'), where: and([liveResource(ctx, 'd', types), ...tests]), distinct: false, ordered: oneType };
}

const SORT_COLUMN: Record<string, [string, string]> = {
  string: ['norm', 'norm'],
  token: ['code', 'code'],
  reference: ['target_id', 'target_id'],
  date: ['low', 'high'],
  number: ['value', 'value'],
  quantity: ['value', 'value'],
  uri: ['value', 'value'],
};

/** Multi-valued elements sort by their lowest value ascending and their highest descending. */
function sortKey(ctx: BuildContext, key: SortKey): Key {
  const { param, descending } = key;
  const ofResource = (column: string) => (o: string) => {
    const r = ctx.alias();
    return sql`(SELECT ${raw(`${r}.${column}`)} FROM resource ${raw(r)} WHERE ${raw(r)}.rkey = ${raw(o)}.rkey)`;
  };
  if (param.special === 'id') return { expr: ofResource('id'), descending, kind: 'string' };
  if (param.special === 'lastUpdated') return { expr: ofResource('last_updated'), descending, kind: 'string' };
  const columns = SORT_COLUMN[param.type];
  if (!columns) throw invalid(`Sorting by '${param.code}' is not supported`, ['_sort'], 'not-supported');
  const table = TABLES[param.type as keyof typeof TABLES];
  const column = descending ? columns[1] : columns[0];
  return {
    descending,
    kind: param.type === 'date' || param.type === 'number' || param.type === 'quantity' ? 'number' : 'string',
    expr: (o) => {
      const x = ctx.alias();
      return sql`(SELECT ${raw(descending ? 'MAX' : 'MIN')}(${raw(`${x}.${column}`)}) FROM ${raw(table)} ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${paramRows(x, param)})`;
    },
  };
}

/** Rows strictly after `position` in the order of `keys` (then rkey), nulls last. */
function keyset(columns: readonly string[], keys: readonly Key[], position: Position, rkeyColumn: string): Sql {
  const backwards = position.direction === 'before';
  const fits = position.values.length === keys.length && keys.every((key, i) => position.values[i] === null || typeof position.values[i] === key.kind);
  if (!fits) throw invalid('The paging cursor does not belong to this search', ['_cursor']);
  const alternatives: Sql[] = [];
  const equal: Sql[] = [];
  keys.forEach((key, i) => {
    const col = raw(columns[i]);
    const value = position.values[i];
    const descending = key.descending !== backwards;
    const nullsLast = !backwards;
    let after: Sql;
    if (value === null) after = nullsLast ? raw('1 = 0') : sql`${col} IS NOT NULL`;
    else {
      const beyond = descending ? sql`${col} < ${value}` : sql`${col} > ${value}`;
      after = nullsLast ? sql`(${beyond} OR ${col} IS NULL)` : beyond;
    }
    alternatives.push(and([...equal, after]));
    equal.push(value === null ? sql`${col} IS NULL` : sql`${col} = ${value}`);
  });
  alternatives.push(and([...equal, backwards ? sql`${raw(rkeyColumn)} < ${position.rkey}` : sql`${raw(rkeyColumn)} > ${position.rkey}`]));
  return or(alternatives);
}

function orderBy(columns: readonly string[], keys: readonly Key[], backwards: boolean, rkeyColumn: string): Sql {
  const parts = keys.map((key, i) => raw(`${columns[i]} ${key.descending !== backwards ? 'DESC' : 'ASC'} NULLS ${backwards ? 'FIRST' : 'LAST'}`));
  parts.push(raw(`${rkeyColumn} ${backwards ? 'DESC' : 'ASC'}`));
  return join(parts, ', ');
}

/**
 * One page: rows of `rkey` and the sort values `k0…` in result order (reversed when reading
 * backwards). Fetches `limit` rows; the caller asks one more than the page size to learn
 * whether another page follows. With `counted`, a first page that has to read every match
 * anyway (sorted, or driven by rows not in rkey order) also counts them: column `total_count`
 * (absent when the page streams and stops early, leaving the total to countQuery or estimates).
 */
export function pageQuery(input: PlanInput, limit: number, position?: Position, offset = 0, counted = false): { sql: Sql; keyCount: number } {
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  const keys = input.search.sort.map((key) => sortKey(ctx, key));
  const backwards = position?.direction === 'before';
  const tail = offset > 0 && !position ? sql` LIMIT ${limit} OFFSET ${offset}` : sql` LIMIT ${limit}`;
  const { from, where, distinct, ordered } = sourceOf(ctx, input);
  const group = raw(distinct ? ' GROUP BY d.rkey' : '');
  const total = raw(counted && !position && (keys.length > 0 || !ordered) ? ', COUNT(*) OVER () AS total_count' : '');
  if (keys.length === 0) {
    const seek = position ? sql` AND ${raw(backwards ? 'd.rkey < ' : 'd.rkey > ')}${position.rkey}` : raw('');
    const page = sql`SELECT d.rkey AS rkey${total} FROM ${from} WHERE ${where}${seek}${group} ORDER BY d.rkey ${raw(backwards ? 'DESC' : 'ASC')}${tail}`;
    return { keyCount: 0, sql: withCurrentVersions(page, raw(`p.rkey ${backwards ? 'DESC' : 'ASC'}`)) };
  }
  const columns = keys.map((_, i) => `q.k${i}`);
  const selected = join(keys.map((key, i) => sql`${key.expr('d')} AS ${raw(`k${i}`)}`), ', ');
  const inner = sql`SELECT d.rkey AS rkey, ${selected} FROM ${from} WHERE ${where}${group}`;
  const seek = position ? sql` WHERE ${keyset(columns, keys, position, 'q.rkey')}` : raw('');
  const page = sql`SELECT q.*${total} FROM (${inner}) q${seek} ORDER BY ${orderBy(columns, keys, backwards, 'q.rkey')}${tail}`;
  return {
    keyCount: keys.length,
    sql: withCurrentVersions(page, orderBy(keys.map((_, i) => `p.k${i}`), keys, backwards, 'p.rkey')),
  };
}

/**
 * The page's rows with the current version of each resource (columns type, id, version,
 * last_updated, method, json), in the page's order: one statement, not a second one by rkey.
 * The page's LIMIT keeps it a step of its own, joined to the resources it found only.
 */
function withCurrentVersions(page: Sql, order: Sql): Sql {
  return sql`SELECT p.*, v.type, v.id, v.version, v.last_updated, v.method, v.json
    FROM (${page}) p JOIN resource o ON o.rkey = p.rkey JOIN resource_version v ON v.seq = o.seq ORDER BY ${order}`;
}

/** A LIMIT no result reaches. */
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

/**
 * The work of testing one candidate of the query's driving clause against its other clauses
 * (Clause.cost: 1 per index lookup, more for clauses that follow references).
 */
export function candidateCost(input: PlanInput): number {
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  return probeCost(chooseDriver(clausesOf(ctx, input), input.driver).probes);
}

/**
 * How many candidates the driving clause lists up to `rkey` inclusive (every live resource of
 * the types without one): with the matches a page found among them, an estimate of the share of
 * candidates that match.
 */
export function scanQuery(input: PlanInput, rkey: number): Sql {
  const types = typesOf(input.search);
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  const { driver } = chooseDriver(clausesOf(ctx, input), input.driver);
  const candidates = driver
    ? sql`SELECT DISTINCT c.rkey FROM (${driver.set!(types)}) c WHERE c.rkey <= ${rkey}`
    : sql`SELECT c.rkey FROM resource c WHERE ${liveResource(ctx, 'c', types)} AND c.rkey <= ${rkey}`;
  return sql`SELECT COUNT(*) AS n FROM (${candidates}) p`;
}

/** The number of matches (all pages). */
export function countQuery(input: PlanInput): Sql {
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  const { from, where, distinct } = sourceOf(ctx, input);
  return sql`SELECT COUNT(${raw(distinct ? 'DISTINCT d.rkey' : '*')}) AS n FROM ${from} WHERE ${where}`;
}

/**
 * An estimate of the number of matches that costs a bounded amount of work however many there
 * are. `population` counts the candidates the driving clause lists (every live resource of the
 * types without one), up to `bound` + 1, with the lowest and highest rkey among them (columns
 * `n`, `first`, `kth`; `bound` is smaller when they come in rkey order); `allCandidates` counts
 * all of them (from the index alone). When the candidates come in rkey order, `last` (the type's
 * highest rkey) extrapolates a larger population from how far into the type's rkeys the counted
 * ones reach. `sample` tests the first `size`
 * candidates against the other clauses (columns `sampled`, `hits`). The estimate is
 * population × hits / sampled.
 */
export function estimateQueries(input: PlanInput, size: number, bounds: { ordered: number; unordered: number }): { population: Sql; allCandidates: Sql; sample: Sql; last?: Sql; bound: number } {
  const types = typesOf(input.search);
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  const { driver, probes } = chooseDriver(clausesOf(ctx, input), input.driver);
  const candidates = () =>
    driver ? sql`SELECT DISTINCT c.rkey FROM (${driver.set!(types)}) c ORDER BY c.rkey` : sql`SELECT c.rkey FROM resource c WHERE ${liveResource(ctx, 'c', types)} ORDER BY c.rkey`;
  const pass = and(probes.map((p) => p.probe('s')));
  const ordered = types?.length === 1 && (driver ? driver.ordered === true : true);
  // Ordered candidates extrapolate well from fewer of them; unordered ones are all read anyway.
  const bound = ordered ? bounds.ordered : bounds.unordered;
  const queries: { population: Sql; allCandidates: Sql; sample: Sql; last?: Sql; bound: number } = {
    bound,
    population: sql`SELECT COUNT(*) AS n, MIN(p.rkey) AS first, MAX(p.rkey) AS kth FROM (${candidates()} LIMIT ${bound + 1}) p`,
    allCandidates: sql`SELECT COUNT(*) AS n FROM (${candidates()}) p`,
    sample: sql`SELECT COUNT(*) AS sampled, SUM(CASE WHEN ${pass} THEN 1 ELSE 0 END) AS hits FROM (${candidates()} LIMIT ${size}) s`,
  };
  if (ordered) {
    const r = ctx.alias();
    queries.last = sql`SELECT MAX(${raw(r)}.rkey) AS last FROM resource ${raw(r)} WHERE ${liveResource(ctx, r, types)}`;
  }
  return queries;
}

/**
 * Bounded counts (at most `cap`) of what each positive clause lists, to choose the driving
 * clause by data rather than by kind: one query per candidate, none when there is no choice or
 * the choice is plain (a clause on one id, identifier or target always drives).
 */
export function driverProbes(input: PlanInput, cap: number): { clause: number; sql: Sql }[] {
  const ctx = buildContext(input.tenant, input.now, input, input.fewTargets);
  const clauses = clausesOf(ctx, input);
  const candidates = clauses.map((clause, index) => ({ clause, index })).filter(({ clause }) => clause.set && clause.rank < 100);
  if (candidates.length < 2 || Math.min(...candidates.map(({ clause }) => clause.rank)) <= 1) return [];
  const types = typesOf(input.search);
  return candidates.map(({ clause, index }) => ({ clause: index, sql: sizeQuery(clause, types, cap) }));
}

/**
 * Bounded counts (at most `cap`) of the targets of each chain the query tests candidates with:
 * a chain with few targets tests a candidate's references against the list of them, built once.
 */
export function chainTargetQueries(input: PlanInput, cap: number): { filter: ChainFilter; sql: Sql }[] {
  if (input.search.clauses.length < 2) return [];
  const ctx = buildContext(input.tenant, input.now, input);
  return input.search.clauses.flatMap(({ filter }) => (filter.kind === 'chain' ? [{ filter, sql: chainTargetCount(ctx, filter, cap) }] : []));
}

// ---- cursors ----------------------------------------------------------------------------------

export function encodeCursor(position: Position): string {
  const { direction, rkey, values, total, driver } = position;
  return Buffer.from(JSON.stringify({ d: direction === 'after' ? 'a' : 'b', k: rkey, v: values, ...(total !== undefined ? { t: total } : {}), ...(driver !== undefined ? { p: driver } : {}) })).toString(
    'base64url',
  );
}

const isCount = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);

export function decodeCursor(cursor: string): Position {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { d, k, v, t, p } = parsed;
    if ((d === 'a' || d === 'b') && Number.isSafeInteger(k) && Array.isArray(v) && isCount(t) && isCount(p)) {
      if (v.every((x) => x === null || typeof x === 'string' || typeof x === 'number')) {
        const position: Position = { direction: d === 'a' ? 'after' : 'before', rkey: k as number, values: v as SqlParam[] };
        if (t !== undefined) position.total = t as number;
        if (p !== undefined) position.driver = p as number;
        return position;
      }
    }
  } catch {
    // fall through
  }
  throw invalid(`Invalid paging cursor '${cursor}'`, ['_cursor']);
}
