/**
 * Search index upkeep: `node --import tsx bench/reindex.ts [--resources N] [--backend sqlite|postgres] [--pg-url URL]`.
 * Loads about N synthetic resources at the store level (default 100,000), then times `_content`
 * searches on the full-text index and four rebuilds: a server starting with an added Patient
 * parameter, then with an added Observation parameter (most resources gain a row), `kiln reindex`
 * when nothing changed (every row read and compared, full text rewritten), and a rebuild of an
 * emptied index (every row written).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Resource } from '../src/fhir/types.js';
import { patientRecord, resolveReferences } from '../src/generate/synthetic.js';
import { defaultParameterSet, searchParameterSet, type SearchParameterSet } from '../src/search/parameter-set.js';
import { INDEX_TABLES, TYPED_TABLES } from '../src/store/sql/search-schema.js';
import type { SqlStore } from '../src/store/sql/sql-store.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';

const { values } = parseArgs({ options: { resources: { type: 'string' }, backend: { type: 'string' }, 'pg-url': { type: 'string' } } });
const wanted = Number(values.resources ?? 100_000);
const backend = values.backend ?? 'sqlite';

const dir = mkdtempSync(join(tmpdir(), 'kiln-reindex-bench-'));
let cleanup = async () => {};
let store: SqlStore;
if (backend === 'postgres') {
  const { openPostgresStore } = await import('../src/store/postgres/index.js');
  const pg = (await import('pg')).default;
  const url = values['pg-url'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `kiln_reindex_bench_${process.pid}`;
  store = await openPostgresStore(url, { poolSize: 4, statementTimeoutMs: 0 }, { schema });
  cleanup = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  };
} else {
  store = await openSqliteStore(dir);
}

async function load(): Promise<number> {
  let written = 0;
  let pending: Resource[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    await store.transaction(async (tx) => {
      for (const resource of batch) {
        const json = JSON.stringify(resource);
        await tx.writeVersion('', { resourceType: resource.resourceType, id: resource.id!, versionId: '1', lastUpdated: new Date().toISOString(), deleted: false, method: 'POST', json, resource });
      }
    });
  };
  for (let i = 0; written < wanted; i++) {
    for (const resource of resolveReferences(patientRecord({ patients: 1_000_000, seed: 7 }, i))) {
      if (written >= wanted) break;
      pending.push(resource);
      written++;
    }
    if (pending.length >= 500) await flush();
  }
  if (pending.length > 0) await flush();
  return written;
}

const eyeColour = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/SearchParameter/eye-colour',
  code: 'eye-colour',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.extension.where(url='http://example.org/eye-colour').value",
};

/** p50 and max of 15 runs of a few `_content`/`_text` searches (page of 20, estimated total). */
async function textSearches(): Promise<void> {
  const { parseSearch } = await import('../src/search/parse.js');
  for (const [type, query] of [
    ['Observation', [['_content', 'glucose']]],
    ['Condition', [['_content', 'diab']]],
    ['Patient', [['_content', 'boston']]],
    ['Encounter', [['_content', 'emergency room']]],
    ['Observation', [['_content', 'zzzz']]],
  ] as [string, [string, string][]][]) {
    const search = parseSearch(query, type);
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < 15; i++) {
      const start = performance.now();
      total = (await store.search('', { search, count: 20, total: 'estimate' })).total ?? 0;
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    console.log(`${`${type}?${query.map(([k, v]) => `${k}=${v}`).join('&')}`.padEnd(44)} ~${total} matches: p50 ${times[7].toFixed(2)} ms, max ${times[14].toFixed(2)} ms`);
  }
}

async function timed(label: string, set: SearchParameterSet, run: () => Promise<{ resources: number; changed: number; elapsedMs: number } | undefined>): Promise<void> {
  const result = await run();
  if (!result) throw new Error(`${label}: nothing was rebuilt`);
  const seconds = result.elapsedMs / 1000;
  console.log(`${label.padEnd(44)} ${result.resources} resources, ${result.changed} re-indexed: ${seconds.toFixed(1)} s (${Math.round(result.resources / seconds)} resources/s)`);
  void set;
}

try {
  const started = performance.now();
  const count = await load();
  console.log(`${backend}: loaded ${count} resources in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await textSearches();
  const patientOnly = searchParameterSet([eyeColour]);
  await timed('start-up with an added Patient parameter', patientOnly, () => store.useSearchParameters(patientOnly));
  const added = searchParameterSet([
    eyeColour,
    { resourceType: 'SearchParameter', url: 'http://example.org/SearchParameter/obs-status-string', code: 'status-string', base: ['Observation'], type: 'string', expression: 'Observation.status' },
  ]);
  await timed('start-up with an added Observation parameter', added, () => store.useSearchParameters(added));
  await timed('kiln reindex, nothing changed (full text too)', added, () => store.reindex(added, { fullText: true }));
  const db = (store as unknown as { db: { transaction(work: (tx: { execute(sql: string): Promise<number> }) => Promise<unknown>): Promise<unknown> } }).db;
  await db.transaction(async (tx) => {
    for (const kind of TYPED_TABLES) await tx.execute(`DELETE FROM ${INDEX_TABLES[kind].name}`);
  });
  await timed('rebuild of an emptied index', defaultParameterSet(), () => store.reindex(defaultParameterSet()));
} finally {
  await store.close();
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
}
