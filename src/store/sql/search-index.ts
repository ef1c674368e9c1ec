import type { Resource } from '../../fhir/types.js';
import { extractIndex, type CompositeComponentRows, type IndexRows } from '../../search/extract.js';
import type { SearchParamRegistry } from '../../search/parameters.js';
import { write, type Dialect, type SqlExecutor, type SqlValue } from './driver.js';
import type { FullTextRow } from './full-text.js';
import { INDEX_TABLES, TYPED_TABLES, type IndexTableName } from './search-schema.js';

/**
 * Writes a resource's search index rows in the transaction that writes its version
 * (docs/search.md). An update replaces the rows; a deletion removes them.
 */

const TABLE_NAMES = TYPED_TABLES.map((kind) => INDEX_TABLES[kind].name);
/** Rows per INSERT statement (bounded so that statement texts, and the prepared-statement caches, stay few). */
const ROWS_PER_INSERT = 100;

export interface IndexTarget {
  rkey: number | string;
  tenant: string;
  resourceType: string;
}

/** Removes every index row of a resource (before re-indexing it, or when it is deleted). */
export async function clearIndex(sql: SqlExecutor, dialect: Dialect, rkey: number | string): Promise<void> {
  for (const table of TABLE_NAMES) await write(sql, `DELETE FROM ${table} WHERE rkey = ?`, [rkey as SqlValue]);
  await dialect.fullText.remove(sql, [rkey]);
}

/** The index rows of a new resource. */
export async function writeIndex(sql: SqlExecutor, dialect: Dialect, target: IndexTarget, resource: Resource, baseUrls: readonly string[], registry: SearchParamRegistry): Promise<void> {
  await writeIndexRows(sql, dialect, target, indexRows(resource, baseUrls, registry));
}

/** The rows the index stores for a resource (not those of parameters that share another's: search/shared-rows.ts). */
export function indexRows(resource: Resource, baseUrls: readonly string[], registry: SearchParamRegistry): IndexRows {
  return extractIndex(resource, { baseUrls, registry, sharedRows: false });
}

/** Writes a new resource's extracted rows. */
export async function writeIndexRows(sql: SqlExecutor, dialect: Dialect, target: IndexTarget, rows: IndexRows): Promise<void> {
  for (const [kind, values] of tableValues(rows)) {
    if (values.length > 0) await insertResourceRows(sql, dialect, kind, target, values);
  }
  if (rows.text.length > 0) await dialect.fullText.insert(sql, fullTextRows(target, rows));
}

/**
 * The index rows of an updated resource. An update usually changes a few elements: a table whose
 * rows stay the same is left alone (read, not rewritten), the others are replaced.
 */
export async function rewriteIndex(
  sql: SqlExecutor,
  dialect: Dialect,
  target: IndexTarget,
  resource: Resource,
  baseUrls: readonly string[],
  registry: SearchParamRegistry,
  /** Where the resource's stored rows are read (SoleWriter.committedReader). */
  reader: SqlExecutor = sql,
): Promise<void> {
  const rows = indexRows(resource, baseUrls, registry);
  const storedByTable = await rowsOfResource(reader, dialect, target.rkey);
  for (const [kind, values] of tableValues(rows)) {
    const fresh = values.map((row) => row.map(withoutNul));
    const stored = storedByTable.get(kind);
    if (sameRows(stored, fresh)) continue;
    if (stored) await write(sql, `DELETE FROM ${INDEX_TABLES[kind].name} WHERE rkey = ?`, [target.rkey as SqlValue]);
    if (fresh.length > 0) await insertResourceRows(sql, dialect, kind, target, fresh);
  }
  // Full-text rows cannot be read back: always replaced.
  await dialect.fullText.remove(sql, [target.rkey]);
  if (rows.text.length > 0) await dialect.fullText.insert(sql, fullTextRows(target, rows));
}

/** The `_text`/`_content` rows of a resource for the full-text index. */
export function fullTextRows(target: IndexTarget, rows: IndexRows): FullTextRow[] {
  return rows.text.map((r) => ({ rkey: target.rkey, tenant: target.tenant, type: target.resourceType, param: r.param, words: withoutNul(r.value) as string }));
}

/** Each typed table's rows as arrays of value-column values (param first), in the column order of INDEX_TABLES. */
export function tableValues(rows: IndexRows): [IndexTableName, SqlValue[][]][] {
  return [
    ['string', rows.string.map((r) => [r.param, r.value, r.norm])],
    ['token', rows.token.map((r) => [r.param, r.system, r.code, r.text, r.typeSystem, r.typeCode])],
    ['reference', rows.reference.map((r) => [r.param, r.targetType, r.targetId, r.targetVersion, r.url, r.identifierSystem, r.identifierValue])],
    ['date', rows.date.map((r) => [r.param, r.low, r.high])],
    ['number', rows.number.map((r) => [r.param, r.value, r.low, r.high])],
    ['quantity', rows.quantity.map((r) => [r.param, r.value, ...bounds(r.value, r.low, r.high), r.system, r.code, r.unit])],
    ['uri', rows.uri.map((r) => [r.param, r.value])],
    ['composite', compositeValues(rows)],
  ];
}

/** Inserts rows of `kind`, each `[rkey, tenant, type, param, …value columns]`, several per statement. */
export function insertRows(sql: SqlExecutor, dialect: Dialect, kind: IndexTableName, rows: readonly SqlValue[][]): Promise<void> {
  return insertChunks(sql, dialect, kind, rows.length, (params, i) => {
    for (const value of rows[i]) params.push(withoutNul(value));
  });
}

/** Inserts one resource's rows of `kind`, each its value columns (param first). */
function insertResourceRows(sql: SqlExecutor, dialect: Dialect, kind: IndexTableName, target: IndexTarget, values: readonly SqlValue[][]): Promise<void> {
  return insertChunks(sql, dialect, kind, values.length, (params, i) => {
    params.push(target.rkey as SqlValue, target.tenant, target.resourceType);
    for (const value of values[i]) params.push(withoutNul(value));
  });
}

/** `count` rows, ROWS_PER_INSERT per statement, each row's parameters added by `addRow`. */
async function insertChunks(sql: SqlExecutor, dialect: Dialect, kind: IndexTableName, count: number, addRow: (params: SqlValue[], row: number) => void): Promise<void> {
  for (let start = 0; start < count; start += ROWS_PER_INSERT) {
    const end = Math.min(count, start + ROWS_PER_INSERT);
    const params: SqlValue[] = [];
    for (let row = start; row < end; row++) addRow(params, row);
    await write(sql, insertStatement(dialect, kind, end - start), params);
  }
}

/** Statement texts by dialect, table and number of rows: built once, and the same string each time (cheap to look up). */
const insertStatements = new Map<string, string[]>();

function insertStatement(dialect: Dialect, kind: IndexTableName, rowCount: number): string {
  const key = `${dialect.name} ${kind}`;
  let byCount = insertStatements.get(key);
  if (!byCount) insertStatements.set(key, (byCount = []));
  let statement = byCount[rowCount];
  if (statement === undefined) {
    const table = INDEX_TABLES[kind];
    const columns = `rkey, tenant, type, param, ${table.columns.map(([name]) => name).join(', ')}`;
    const tuple = `(${new Array(4 + table.columns.length).fill('?').join(', ')})`;
    statement = byCount[rowCount] = `${dialect.insertMany} ${table.name} (${columns}) VALUES ${new Array(rowCount).fill(tuple).join(', ')}`;
  }
  return statement;
}

/** Beyond any searched number: the open end of a Range. */
const OPEN = 1e308;

/**
 * The [low, high] a number or quantity is searched by (search/sql/conditions.ts): the value itself
 * when there is one (comparisons are on the value; the searched value carries the precision), else
 * the bounds of a Range, open ends ±1e308.
 */
function bounds(value: number | null, low: number | null, high: number | null): [number, number] {
  return value !== null ? [value, value] : [low ?? -OPEN, high ?? OPEN];
}

/** PostgreSQL text cannot hold U+0000: index values drop it (the stored JSON keeps it, escaped). */
export function withoutNul(value: SqlValue): SqlValue {
  return typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

// ---- composites -------------------------------------------------------------------------------

/** A component value as the generic composite columns (a, b, n, lo, hi). */
type Cell = [SqlValue, SqlValue, SqlValue, SqlValue, SqlValue];

const MAX_COMBINATIONS = 64;

function cells(component: CompositeComponentRows): Cell[] {
  switch (component.type) {
    case 'token':
      return component.rows.map((r) => [r.system, r.code, null, null, null]);
    case 'string':
      return component.rows.map((r) => [null, r.norm, null, null, null]);
    case 'uri':
      return component.rows.map((r) => [null, r.value, null, null, null]);
    case 'reference':
      return component.rows.map((r) => [r.targetType, r.targetId ?? r.url, null, null, null]);
    case 'date':
      return component.rows.map((r) => [null, null, null, r.low, r.high]);
    case 'number':
      return component.rows.map((r) => [null, null, r.value, ...bounds(r.value, r.low, r.high)]);
    case 'quantity':
      return component.rows.map((r) => [r.system, r.code, r.value, ...bounds(r.value, r.low, r.high)]);
  }
}

/** Flattens composites: one row per combination of the components' values, per focus element. */
function compositeValues(rows: IndexRows): SqlValue[][] {
  const out: SqlValue[][] = [];
  const groups = new Map<string, number>();
  for (const composite of rows.composite) {
    const grp = groups.get(composite.param) ?? 0;
    groups.set(composite.param, grp + 1);
    const [first, ...rest] = composite.components.map(cells);
    let combos: SqlValue[][] = first.map((c) => [c[0], c[1]]);
    for (let k = 0; k < 2; k++) {
      const next: SqlValue[][] = [];
      const options = rest[k] ?? [[null, null, null, null, null]];
      for (const combo of combos) for (const cell of options) if (next.length < MAX_COMBINATIONS) next.push([...combo, ...cell]);
      combos = next;
    }
    for (const combo of combos) out.push([composite.param, grp, ...combo]);
  }
  return out;
}

/** Every typed index row of one resource, by table, as value lists (param first), in one statement. */
async function rowsOfResource(sql: SqlExecutor, dialect: Dialect, rkey: number | string): Promise<Map<IndexTableName, SqlValue[][]>> {
  const selects = TYPED_TABLES.map((kind) => {
    const table = INDEX_TABLES[kind];
    return `SELECT '${kind}' AS kind, ${dialect.jsonArray}(param, ${table.columns.map(([name]) => name).join(', ')}) AS v FROM ${table.name} WHERE rkey = ?`;
  });
  const rows = await sql.query<{ kind: IndexTableName; v: string | SqlValue[] }>(selects.join(' UNION ALL '), TYPED_TABLES.map(() => rkey as SqlValue));
  const out = new Map<IndexTableName, SqlValue[][]>();
  for (const row of rows) {
    const values = typeof row.v === 'string' ? (JSON.parse(row.v) as SqlValue[]) : row.v;
    const list = out.get(row.kind);
    if (list) list.push(values);
    else out.set(row.kind, [values]);
  }
  return out;
}

// ---- comparing stored rows -----------------------------------------------------------------

/** The same rows, in any order. */
export function sameRows(a: SqlValue[][] | undefined, b: SqlValue[][] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  if (left.length === 0) return true;
  const x = left.map(rowKey).sort();
  const y = right.map(rowKey).sort();
  return x.every((key, i) => key === y[i]);
}

/** A row as text, each value length-prefixed so that no two rows read alike; `~` is null. */
function rowKey(row: SqlValue[]): string {
  let key = '';
  for (const value of row) {
    if (value === null) key += '~';
    else {
      const text = String(value);
      key += `${text.length}:${text}`;
    }
  }
  return key;
}
