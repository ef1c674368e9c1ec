import { invalid } from '../../fhir/errors.js';
import type { ParsedSearch, SortKey } from '../parse.js';
import { type BuildContext, buildContext, chooseDriver, type Clause, compartmentClause, type CompartmentScope, compileFilter, liveResource, matchConditions, TABLES } from './clauses.js';
import { and, join, or, raw, type Sql, type SqlParam, sql } from './fragment.js';
import type { TextSearch } from './text.js';

/**
 * The SQL of one search page and of its total (one builder for every SQL backend). Pages are
 * cut by keyset: the cursor holds the last row's sort values and rkey, so a page costs the same
 * however deep it is and stays correct while others write.
 */

export type { CompartmentScope } from './clauses.js';

export interface PlanInput {
  tenant: string;
  search: ParsedSearch;
  /** The backend's full-text index (`_text`, `_content`). */
  textSearch: TextSearch;
  compartment?: CompartmentScope;
  now?: number;
}

/** A position in the result order: the sort values and rkey of a row, and which way to read. */
export interface Position {
  /** 'after' for next pages, 'before' for previous ones. */
  direction: 'after' | 'before';
  values: SqlParam[];
  rkey: number;
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
  const clauses: Clause[] = input.search.clauses.map((c) => compileFilter(ctx, c.filter));
  if (input.compartment) clauses.push(compartmentClause(ctx, input.compartment));
  return clauses;
}

function whereOf(ctx: BuildContext, input: PlanInput, o: string): Sql {
  return matchConditions(ctx, o, typesOf(input.search), clausesOf(ctx, input));
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
  if (param.special === 'id') return { expr: (o) => raw(`${o}.id`), descending, kind: 'string' };
  if (param.special === 'lastUpdated') return { expr: (o) => raw(`${o}.last_updated`), descending, kind: 'string' };
  const columns = SORT_COLUMN[param.type];
  if (!columns) throw invalid(`Sorting by '${param.code}' is not supported`, ['_sort'], 'not-supported');
  const table = TABLES[param.type as keyof typeof TABLES];
  const column = descending ? columns[1] : columns[0];
  return {
    descending,
    kind: param.type === 'date' || param.type === 'number' || param.type === 'quantity' ? 'number' : 'string',
    expr: (o) => {
      const x = ctx.alias();
      return sql`(SELECT ${raw(descending ? 'MAX' : 'MIN')}(${raw(`${x}.${column}`)}) FROM ${raw(table)} ${raw(x)} WHERE ${raw(x)}.rkey = ${raw(o)}.rkey AND ${raw(x)}.param = ${param.code})`;
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
 * whether another page follows.
 */
export function pageQuery(input: PlanInput, limit: number, position?: Position, offset = 0): { sql: Sql; keyCount: number } {
  const ctx = buildContext(input.tenant, input.now, input.textSearch);
  const keys = input.search.sort.map((key) => sortKey(ctx, key));
  const backwards = position?.direction === 'before';
  const tail = offset > 0 && !position ? sql` LIMIT ${limit} OFFSET ${offset}` : sql` LIMIT ${limit}`;
  if (keys.length === 0) {
    const seek = position ? sql` AND ${raw(backwards ? 'o.rkey < ' : 'o.rkey > ')}${position.rkey}` : raw('');
    return { keyCount: 0, sql: sql`SELECT o.rkey AS rkey FROM resource o WHERE ${whereOf(ctx, input, 'o')}${seek} ORDER BY o.rkey ${raw(backwards ? 'DESC' : 'ASC')}${tail}` };
  }
  const columns = keys.map((_, i) => `q.k${i}`);
  const selected = join(keys.map((key, i) => sql`${key.expr('o')} AS ${raw(`k${i}`)}`), ', ');
  const inner = sql`SELECT o.rkey AS rkey, ${selected} FROM resource o WHERE ${whereOf(ctx, input, 'o')}`;
  const seek = position ? sql` WHERE ${keyset(columns, keys, position, 'q.rkey')}` : raw('');
  return {
    keyCount: keys.length,
    sql: sql`SELECT q.* FROM (${inner}) q${seek} ORDER BY ${orderBy(columns, keys, backwards, 'q.rkey')}${tail}`,
  };
}

/** The number of matches (all pages). */
export function countQuery(input: PlanInput): Sql {
  const ctx = buildContext(input.tenant, input.now, input.textSearch);
  return sql`SELECT COUNT(*) AS n FROM resource o WHERE ${whereOf(ctx, input, 'o')}`;
}

/**
 * An estimate of the number of matches that costs a bounded amount of work however many there
 * are: `population` counts the candidates the driving clause lists (index only; every live
 * resource of the types without one), `sample` tests the first `size` of them against the other
 * clauses (columns `sampled`, `hits`). The estimate is population × hits / sampled; when the
 * population is no larger than the sample, the caller counts exactly instead.
 */
export function estimateQueries(input: PlanInput, size: number): { population: Sql; sample: Sql } {
  const types = typesOf(input.search);
  const candidates = () => {
    const ctx = buildContext(input.tenant, input.now, input.textSearch);
    const { driver } = chooseDriver(clausesOf(ctx, input));
    if (driver) return driver.set!(types);
    return sql`SELECT c.rkey FROM resource c WHERE ${liveResource(ctx, 'c', types)}`;
  };
  const ctx = buildContext(input.tenant, input.now, input.textSearch);
  const { probes } = chooseDriver(clausesOf(ctx, input));
  const pass = probes.length > 0 ? and(probes.map((p) => p.probe('o'))) : raw('1 = 1');
  return {
    population: sql`SELECT COUNT(*) AS n FROM (${candidates()}) p`,
    sample: sql`SELECT COUNT(*) AS sampled, SUM(CASE WHEN ${pass} THEN 1 ELSE 0 END) AS hits FROM resource o
      WHERE o.rkey IN (SELECT s.rkey FROM (${candidates()}) s LIMIT ${size}) AND ${liveResource(ctx, 'o', types)}`,
  };
}

// ---- cursors ----------------------------------------------------------------------------------

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.direction === 'after' ? 'a' : 'b', position.rkey, ...position.values])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && (parsed[0] === 'a' || parsed[0] === 'b') && Number.isSafeInteger(parsed[1])) {
      const values = parsed.slice(2) as unknown[];
      if (values.every((v) => v === null || typeof v === 'string' || typeof v === 'number')) {
        return { direction: parsed[0] === 'a' ? 'after' : 'before', rkey: parsed[1] as number, values: values as SqlParam[] };
      }
    }
  } catch {
    // fall through
  }
  throw invalid(`Invalid paging cursor '${cursor}'`, ['_cursor']);
}
