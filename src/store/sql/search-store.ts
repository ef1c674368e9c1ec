import type { IncludeSpec, SearchFilter } from '../../search/parse.js';
import { paramRows } from '../../search/sql/clauses.js';
import { type SqlParam } from '../../search/sql/fragment.js';
import { candidateCost, chainTargetQueries, countQuery, decodeCursor, driverProbes, encodeCursor, estimateQueries, pageQuery, type PlanInput, type Position, scanQuery } from '../../search/sql/plan.js';
import type { SearchPage, SearchQuery, StoredVersion, WriteMethod } from '../types.js';
import type { Dialect, SqlExecutor, SqlValue } from './driver.js';

/** Runs searches on the SQL built by search/sql/plan.ts: the page, its total, and its includes. */

interface Found extends StoredVersion {
  rkey: number;
}

interface FoundRow {
  rkey: number | string;
  type: string;
  id: string;
  version: number;
  last_updated: string;
  method: string;
  json: string | null;
}

/** Bound lists (`IN (?, …)`) are cut to this size. */
const CHUNK = 500;

const num = (v: unknown): number => Number(v);

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}

function toFound(row: FoundRow): Found {
  const found: Found = {
    rkey: num(row.rkey),
    resourceType: row.type,
    id: row.id,
    versionId: String(row.version),
    lastUpdated: row.last_updated,
    deleted: false,
    method: row.method as WriteMethod,
  };
  if (row.json !== null) found.json = row.json;
  return found;
}

const SELECT_CURRENT = `SELECT o.rkey, v.type, v.id, v.version, v.last_updated, v.method, v.json
  FROM resource o JOIN resource_version v ON v.seq = o.seq`;

/** Current versions of live resources by rkey, in the order given. */
async function byKeys(sql: SqlExecutor, rkeys: readonly number[]): Promise<Found[]> {
  const found = new Map<number, Found>();
  for (const part of chunks(rkeys)) {
    const rows = await sql.query<FoundRow>(`${SELECT_CURRENT} WHERE o.rkey IN (${placeholders(part.length)}) AND o.deleted = 0`, part);
    for (const row of rows) found.set(num(row.rkey), toFound(row));
  }
  return rkeys.map((k) => found.get(k)).filter((f): f is Found => f !== undefined);
}

/** Search values bound as parameters; PostgreSQL text cannot hold U+0000 (nor can the index). */
function bound(params: SqlParam[]): SqlValue[] {
  return params.map((p) => (typeof p === 'string' && p.includes('\u0000') ? p.replaceAll('\u0000', '') : p));
}

function sqlValue(v: unknown): SqlParam {
  if (typeof v === 'bigint') return Number(v);
  return v === undefined ? null : (v as SqlParam);
}

export async function runSearch(sql: SqlExecutor, dialect: Dialect, tenant: string, query: SearchQuery): Promise<SearchPage> {
  const input: PlanInput = { tenant, search: query.search, textSearch: dialect.fullText, probeFence: dialect.probeFence, listed: dialect.listed, ...(query.compartment ? { compartment: query.compartment } : {}), ...(query.limit ? { limit: query.limit } : {}) };
  const position = query.cursor ? decodeCursor(query.cursor) : undefined;
  // Later pages keep the first page's plan (and estimate): no counting again on every page.
  const choice: { clause?: number; n?: number } | undefined = position ? { clause: position.driver } : await chooseDriverByCounts(sql, input);
  const driver = choice?.clause;
  if (driver !== undefined) input.driver = driver;
  // Candidates are tested in rkey order until the page is full, unless testing all of them is
  // cheap: then the page counts them too (an exact total for free).
  const cost = Math.max(1, candidateCost(input));
  input.stream = cost >= COSTLY && !(choice?.n !== undefined && choice.n * cost <= EXACT_WORK);
  if (cost >= COSTLY && dialect.listsChainTargets) input.fewTargets = await chainsWithFewTargets(sql, input);
  const page: SearchPage = { matches: [], included: [] };
  let exactTotal: number | undefined;
  let pageScan: PageScan | undefined;
  let cursorRows: { first: Record<string, unknown>; last: Record<string, unknown>; more: boolean; keyCount: number } | undefined;
  const offset = position ? 0 : (query.offset ?? 0);

  if (query.count > 0) {
    const { sql: statement, keyCount } = pageQuery(input, query.count + 1, position, offset, query.total !== 'none');
    let rows = await sql.query<FoundRow & Record<string, unknown>>(statement.text, bound(statement.params));
    const more = rows.length > query.count;
    if (rows.length > 0 && rows[0].total_count !== undefined && rows[0].total_count !== null) exactTotal = num(rows[0].total_count);
    // The candidates up to the row after the page held offset + count + 1 matches.
    if (more && !position && keyCount === 0) pageScan = { rkey: num(rows[query.count].rkey), matches: offset + query.count + 1 };
    rows = rows.slice(0, query.count);
    if (position?.direction === 'before') rows.reverse();
    if (rows.length > 0) cursorRows = { first: rows[0], last: rows[rows.length - 1], more, keyCount };
    const matches = rows.map(toFound);
    page.matches = matches;
    if (!position && offset === 0 && !more) exactTotal = rows.length;
    if (query.includes !== false && (query.search.include.length > 0 || query.search.revinclude.length > 0)) {
      page.included = await resolveIncludes(sql, tenant, matches, query.search.include, query.search.revinclude);
    }
  }
  if (query.total === 'estimate') page.total = exactTotal ?? position?.total ?? (await estimate(sql, input, cost, pageScan));
  else if (query.total === 'accurate') page.total = exactTotal ?? (await count(sql, input));

  if (cursorRows) {
    const { first, last, more, keyCount } = cursorRows;
    const carried = { ...(query.total === 'estimate' && page.total !== undefined ? { total: page.total } : {}), ...(driver !== undefined ? { driver } : {}) };
    const at = (row: Record<string, unknown>, direction: Position['direction']): string =>
      encodeCursor({ direction, rkey: num(row.rkey), values: Array.from({ length: keyCount }, (_, i) => sqlValue(row[`k${i}`])), ...carried });
    const backwards = position?.direction === 'before';
    if (backwards ? true : more) page.nextCursor = at(last, 'after');
    if (backwards ? more : position !== undefined || offset > 0) page.previousCursor = at(first, 'before');
  }
  return page;
}

/** Clauses listing fewer rows than this are told apart by their bounded counts. */
const DRIVER_PROBE_CAP = 2000;

/** The clause listing the fewest rows, and how many, when a bounded count of each tells (see driverProbes). */
async function chooseDriverByCounts(sql: SqlExecutor, input: PlanInput): Promise<{ clause: number; n: number } | undefined> {
  let best: { clause: number; n: number } | undefined;
  for (const probe of driverProbes(input, DRIVER_PROBE_CAP)) {
    const n = await countOf(sql, probe.sql);
    if (n < DRIVER_PROBE_CAP && (!best || n < best.n)) best = { clause: probe.clause, n };
  }
  return best;
}

/** Column `n` of a one-row statement. */
async function countOf(sql: SqlExecutor, statement: { text: string; params: SqlParam[] }): Promise<number> {
  const [row] = await sql.query<{ n: number | string }>(statement.text, bound(statement.params));
  return num(row.n);
}

/** Chains with fewer targets than this test candidates against the list of their targets. */
const FEW_TARGETS = 2000;

async function chainsWithFewTargets(sql: SqlExecutor, input: PlanInput): Promise<Set<SearchFilter>> {
  const few = new Set<SearchFilter>();
  for (const { filter, sql: statement } of chainTargetQueries(input, FEW_TARGETS)) if ((await countOf(sql, statement)) < FEW_TARGETS) few.add(filter);
  return few;
}

/**
 * Testing candidates this costly (search/sql/plan.ts candidateCost: clauses that follow
 * references) is worth avoiding: pages stream, estimates come from what the page tested.
 */
const COSTLY = 4;
/** Testing every candidate for an exact count is cheap enough below this much work. */
const EXACT_WORK = 500;

/** Where a first page stopped: the candidates up to `rkey` held `matches` matches. */
interface PageScan {
  rkey: number;
  matches: number;
}

function count(sql: SqlExecutor, input: PlanInput): Promise<number> {
  return countOf(sql, countQuery(input));
}

/** Candidates tested to estimate a total: exact below this many. */
const SAMPLE = 500;
/**
 * Candidates counted one by one; beyond, their number is extrapolated from how far into the
 * type's rkeys the counted ones reach (when they come in rkey order; else all are counted).
 */
const COUNTED = { ordered: 2_000, unordered: 10_000 };

/**
 * `_total=estimate` (search/sql/plan.ts estimateQueries): bounded work, exact for small results.
 * The share of candidates that match comes from a sample of them, or, when testing one is
 * costly, from the first page (`scan`), which tested candidates in rkey order anyway.
 */
async function estimate(sql: SqlExecutor, input: PlanInput, cost: number, scan?: PageScan): Promise<number> {
  const { population, allCandidates, sample, last, bound: counting } = estimateQueries(input, SAMPLE, COUNTED);
  const one = async <T>(statement: { text: string; params: SqlParam[] }) => (await sql.query<T>(statement.text, bound(statement.params)))[0];
  const counted = await one<{ n: number | string; first: number | string | null; kth: number | string | null }>(population);
  let candidates = num(counted.n);
  if (candidates * cost <= EXACT_WORK) return count(sql, input);
  if (candidates > counting) {
    const top = last ? (await one<{ last: number | string | null }>(last)).last : null;
    const [first, kth, end] = [counted.first, counted.kth, top].map((v) => (v === null || v === undefined ? NaN : num(v)));
    // A concurrent delete can leave the type's last rkey below the counted ones: count them all then.
    candidates = kth > first && end >= kth ? Math.round((candidates * (end - first + 1)) / (kth - first + 1)) : await countOf(sql, allCandidates);
  }
  if (scan && cost >= COSTLY) {
    const scanned = await countOf(sql, scanQuery(input, scan.rkey));
    // (k − 1) / (n − 1): unbiased when testing stops at the k-th match.
    if (scanned > 1) return Math.min(candidates, Math.round((candidates * (scan.matches - 1)) / (scanned - 1)));
  }
  const row = await one<{ sampled: number | string; hits: number | string | null }>(sample);
  const sampled = num(row.sampled);
  return sampled === 0 ? 0 : Math.round((candidates * num(row.hits ?? 0)) / sampled);
}

// ---- _include and _revinclude -----------------------------------------------------------------

interface RefRow {
  rkey: number | string;
  target_type: string;
  target_id: string;
}

/**
 * Includes of the page: every spec on the matches, then `:iterate` specs on what each round added,
 * until a round adds nothing. Each resource appears once, and never when it is already a match.
 */
async function resolveIncludes(sql: SqlExecutor, tenant: string, matches: Found[], include: IncludeSpec[], revinclude: IncludeSpec[]): Promise<Found[]> {
  const seen = new Set(matches.map((m) => m.rkey));
  const included: Found[] = [];
  let round = matches;
  for (let first = true; round.length > 0; first = false) {
    const added: Found[] = [];
    const add = (found: Found[]) => {
      for (const f of found) if (!seen.has(f.rkey)) (seen.add(f.rkey), added.push(f));
    };
    for (const spec of include) if (first || spec.iterate) add(await forwardInclude(sql, tenant, round, spec));
    for (const spec of revinclude) if (first || spec.iterate) add(await reverseInclude(sql, tenant, round, spec));
    included.push(...added);
    round = added;
    if (!include.some((s) => s.iterate) && !revinclude.some((s) => s.iterate)) break;
  }
  return included;
}

/** ` AND …` keeping the reference rows `x` of the include's parameter (all for `*`), its values added to `params`. */
function includedRows(spec: IncludeSpec, params: SqlValue[]): string {
  if (spec.code === '*') return '';
  const rows = spec.param ? paramRows('x', spec.param) : { text: 'x.param = ?', params: [spec.code] };
  params.push(...(rows.params as SqlValue[]));
  return ` AND ${rows.text}`;
}

async function forwardInclude(sql: SqlExecutor, tenant: string, from: Found[], spec: IncludeSpec): Promise<Found[]> {
  const sources = spec.sourceType === '*' ? from : from.filter((f) => f.resourceType === spec.sourceType);
  const targets = new Map<string, Set<string>>();
  for (const part of chunks(sources.map((s) => s.rkey))) {
    const params: SqlValue[] = [...part];
    let filter = '';
    filter += includedRows(spec, params);
    if (spec.targetType) (filter += ' AND x.target_type = ?', params.push(spec.targetType));
    const rows = await sql.query<RefRow>(
      `SELECT x.rkey, x.target_type, x.target_id FROM search_reference x WHERE x.rkey IN (${placeholders(part.length)})${filter} AND x.target_id IS NOT NULL`,
      params,
    );
    for (const row of rows) {
      if (!row.target_type) continue;
      let ids = targets.get(row.target_type);
      if (!ids) targets.set(row.target_type, (ids = new Set()));
      ids.add(row.target_id);
    }
  }
  const found: Found[] = [];
  for (const [type, ids] of targets) {
    for (const part of chunks([...ids])) {
      const rows = await sql.query<FoundRow>(`${SELECT_CURRENT} WHERE o.tenant = ? AND o.type = ? AND o.id IN (${placeholders(part.length)}) AND o.deleted = 0`, [tenant, type, ...part]);
      found.push(...rows.map(toFound));
    }
  }
  return found;
}

async function reverseInclude(sql: SqlExecutor, tenant: string, from: Found[], spec: IncludeSpec): Promise<Found[]> {
  const targetTypes = spec.targetType ? [spec.targetType] : spec.param?.targets.length ? spec.param.targets : undefined;
  const byType = new Map<string, string[]>();
  for (const f of from) {
    if (targetTypes && !targetTypes.includes(f.resourceType)) continue;
    byType.set(f.resourceType, [...(byType.get(f.resourceType) ?? []), f.id]);
  }
  const rkeys = new Set<number>();
  for (const [type, ids] of byType) {
    for (const part of chunks(ids)) {
      const params: SqlValue[] = [tenant, ...part, type];
      let filter = '';
      if (spec.sourceType !== '*') (filter += ' AND x.type = ?', params.push(spec.sourceType));
      filter += includedRows(spec, params);
      const rows = await sql.query<{ rkey: number | string }>(
        `SELECT DISTINCT x.rkey FROM search_reference x WHERE x.tenant = ? AND x.target_id IN (${placeholders(part.length)}) AND x.target_type = ?${filter}`,
        params,
      );
      for (const row of rows) rkeys.add(num(row.rkey));
    }
  }
  return byKeys(sql, [...rkeys].sort((a, b) => a - b));
}
