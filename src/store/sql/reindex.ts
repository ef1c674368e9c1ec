import type { Resource } from '../../fhir/types.js';
import { extractIndex } from '../../search/extract.js';
import type { ParameterChanges } from '../../search/parameter-changes.js';
import type { SearchParamRegistry } from '../../search/parameters.js';
import type { Dialect, SqlDatabase, SqlExecutor, SqlValue } from './driver.js';
import type { FullTextRow } from './full-text.js';
import { fullTextRows, insertRows, sameRows, tableValues, withoutNul } from './search-index.js';
import { INDEX_TABLES, TYPED_TABLES, type IndexTableName } from './search-schema.js';

/**
 * Rebuilds the search index rows of every current resource from its stored JSON, in batches of
 * resources (by rkey), each batch in its own transaction. A batch reads the rows the resources
 * have, compares them with the rows the parameters give now, and rewrites only the tables of the
 * resources whose rows differ: adding one parameter writes only that parameter's rows.
 */

export interface ReindexOptions {
  registry: SearchParamRegistry;
  /** The base URLs under which absolute references point at this server, per tenant. */
  baseUrls?: (tenant: string) => readonly string[];
  /** Rewrite the `_text`/`_content` rows too (they depend on the resource alone, not on the parameters). */
  fullText?: boolean;
  /** Only these parameters' rows, of these types' resources (default: every row of every resource). */
  only?: ParameterChanges;
  /** Resources per batch (default 1000). */
  batchSize?: number;
  /** Called after each batch, and once more when done (`finished`). */
  onProgress?: (progress: ReindexProgress) => void;
}

export interface ReindexProgress {
  /** Resources read so far, and in all (live resources when the reindex started). */
  resources: number;
  total: number;
  /** Resources whose rows changed. */
  changed: number;
  elapsedMs: number;
  finished: boolean;
}

export type ReindexResult = ReindexProgress;

const CHUNK = 500;

interface Current {
  rkey: number;
  tenant: string;
  type: string;
  seq: number;
}

export async function reindex(db: SqlDatabase, options: ReindexOptions): Promise<ReindexResult> {
  const started = performance.now();
  const types = options.only?.types;
  if (types?.length === 0 || options.only?.codes.size === 0) return { resources: 0, total: 0, changed: 0, elapsedMs: 0, finished: true };
  const [{ n }] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM resource WHERE deleted = 0${typeFilter(types)}`, [...(types ?? [])]);
  const progress: ReindexProgress = { resources: 0, total: Number(n), changed: 0, elapsedMs: 0, finished: false };
  let after = 0;
  for (;;) {
    const batch = await db.transaction((tx) => reindexBatch(tx, db.dialect, after, options));
    if (!batch) break;
    after = batch.last;
    progress.resources += batch.count;
    progress.changed += batch.changed;
    progress.elapsedMs = performance.now() - started;
    options.onProgress?.({ ...progress });
    // A rebuild can run for minutes of synchronous SQLite calls: without a turn of the event loop
    // between batches, the progress it logs would reach the log only once it is done.
    await new Promise((resolve) => setImmediate(resolve));
  }
  progress.elapsedMs = performance.now() - started;
  progress.finished = true;
  options.onProgress?.({ ...progress });
  return progress;
}

async function reindexBatch(
  tx: SqlExecutor,
  dialect: Dialect,
  after: number,
  options: ReindexOptions,
): Promise<{ last: number; count: number; changed: number } | undefined> {
  const types = options.only?.types;
  const params = options.only ? [...options.only.codes] : undefined;
  // Locked (PostgreSQL) until the batch commits: a concurrent write of one of these resources
  // waits, and then indexes its own new version after this batch.
  const resources = (
    await tx.query<Current>(`SELECT rkey, tenant, type, seq FROM resource WHERE rkey > ? AND deleted = 0${typeFilter(types)} ORDER BY rkey LIMIT ?${dialect.forUpdate}`, [
      after,
      ...(types ?? []),
      options.batchSize ?? 1000,
    ])
  ).map((r) => ({ ...r, rkey: Number(r.rkey), seq: Number(r.seq) }));
  if (resources.length === 0) return undefined;
  const json = await versionJson(tx, resources.map((r) => r.seq));
  const fresh = new Map<IndexTableName, Map<number, SqlValue[][]>>(TYPED_TABLES.map((kind) => [kind, new Map()]));
  const fullText: FullTextRow[] = [];
  for (const r of resources) {
    const text = json.get(r.seq);
    if (text === undefined) continue;
    const rows = extractIndex(JSON.parse(text) as Resource, {
      registry: options.registry,
      baseUrls: options.baseUrls?.(r.tenant) ?? [],
      fullText: options.fullText ?? false,
      sharedRows: false,
      ...(options.only ? { params: options.only.codes } : {}),
    });
    for (const [kind, values] of tableValues(rows)) fresh.get(kind)?.set(r.rkey, values.map((row) => row.map(withoutNul)));
    fullText.push(...fullTextRows({ rkey: r.rkey, tenant: r.tenant, resourceType: r.type }, rows));
  }
  const low = resources[0].rkey;
  const high = resources[resources.length - 1].rkey;
  const changed = new Set<number>();
  for (const kind of TYPED_TABLES) {
    const wanted = fresh.get(kind)!;
    const stored = await storedRows(tx, kind, low, high, params);
    const stale = resources.map((r) => r.rkey).filter((rkey) => !sameRows(stored.get(rkey), wanted.get(rkey)));
    if (stale.length === 0) continue;
    const holding = stale.filter((rkey) => stored.has(rkey));
    for (let i = 0; i < holding.length; i += CHUNK) {
      const part = holding.slice(i, i + CHUNK);
      await tx.execute(`DELETE FROM ${INDEX_TABLES[kind].name} WHERE rkey IN (${placeholders(part.length)})${paramFilter(params)}`, [...part, ...(params ?? [])]);
    }
    const byKey = new Map(resources.map((r) => [r.rkey, r]));
    const inserts: SqlValue[][] = [];
    for (const rkey of stale) {
      const r = byKey.get(rkey)!;
      for (const row of wanted.get(rkey) ?? []) inserts.push([rkey, r.tenant, r.type, ...row]);
      changed.add(rkey);
    }
    await insertRows(tx, dialect, kind, inserts);
  }
  // Full-text rows depend on the resource alone: rewritten, not compared (the index cannot be read back).
  if (options.fullText) {
    await dialect.fullText.remove(tx, resources.map((r) => r.rkey));
    await dialect.fullText.insert(tx, fullText);
  }
  return { last: high, count: resources.length, changed: changed.size };
}

async function versionJson(tx: SqlExecutor, seqs: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < seqs.length; i += CHUNK) {
    const part = seqs.slice(i, i + CHUNK);
    const rows = await tx.query<{ seq: number | string; json: string | null }>(`SELECT seq, json FROM resource_version WHERE seq IN (${placeholders(part.length)})`, part);
    for (const row of rows) if (row.json !== null) out.set(Number(row.seq), row.json);
  }
  return out;
}

/** The rows a table holds for the resources in [low, high], by rkey, as value lists (param first). */
async function storedRows(tx: SqlExecutor, kind: IndexTableName, low: number, high: number, params: readonly string[] | undefined): Promise<Map<number, SqlValue[][]>> {
  const table = INDEX_TABLES[kind];
  const columns = ['rkey', 'param', ...table.columns.map(([name]) => name)];
  const rows = await tx.query<Record<string, SqlValue>>(`SELECT ${columns.join(', ')} FROM ${table.name} WHERE rkey >= ? AND rkey <= ?${paramFilter(params)}`, [
    low,
    high,
    ...(params ?? []),
  ]);
  const out = new Map<number, SqlValue[][]>();
  for (const row of rows) {
    const rkey = Number(row.rkey);
    let list = out.get(rkey);
    if (!list) out.set(rkey, (list = []));
    list.push(columns.slice(1).map((column) => row[column]));
  }
  return out;
}

function typeFilter(types: readonly string[] | undefined): string {
  return types ? ` AND type IN (${placeholders(types.length)})` : '';
}

function paramFilter(params: readonly string[] | undefined): string {
  return params ? ` AND param IN (${placeholders(params.length)})` : '';
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ');
}
