import type { Dialect, SqlExecutor } from './driver.js';
import { copyFullText } from './full-text-migration.js';
import { recordNewIndex } from './index-state.js';
import { searchIndexStatements } from './search-schema.js';

/**
 * Versioned migrations shared by every SQL backend. Each is a list of statements built from
 * the dialect's column types; a migration, once released, never changes: add a new one.
 */
export interface Migration {
  version: number;
  name: string;
  statements: (dialect: Dialect) => string[];
  /** Moves existing data, after the statements, in the same transaction. */
  data?: (tx: SqlExecutor, dialect: Dialect) => Promise<void>;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'resources and history',
    statements: (d) => [
      // Every version of every resource; `seq` orders history across the whole server.
      `CREATE TABLE resource_version (
        seq ${d.autoKey},
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        last_updated TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        method TEXT NOT NULL,
        json TEXT
      )`,
      `CREATE UNIQUE INDEX resource_version_identity ON resource_version (tenant, type, id, version)`,
      `CREATE INDEX resource_version_type_seq ON resource_version (tenant, type, seq)`,
      `CREATE INDEX resource_version_tenant_seq ON resource_version (tenant, seq)`,
      // One row per logical resource, pointing at its current version. `rkey` is the key that
      // search index tables will reference.
      `CREATE TABLE resource (
        rkey ${d.autoKey},
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        seq ${d.bigint} NOT NULL,
        last_updated TEXT NOT NULL,
        deleted INTEGER NOT NULL
      )`,
      `CREATE UNIQUE INDEX resource_identity ON resource (tenant, type, id)`,
    ],
  },
  {
    version: 2,
    name: 'search index',
    statements: searchIndexStatements,
  },
  {
    version: 3,
    name: 'settings',
    // Server-wide state kept in the database, e.g. the fingerprint of the search parameters the
    // index was built with (store/sql/index-state.ts).
    statements: () => [`CREATE TABLE kiln_setting (name TEXT PRIMARY KEY, value TEXT NOT NULL)`],
  },
  {
    version: 4,
    name: 'full-text index',
    // SQLite FTS5 / PostgreSQL tsvector with GIN, filled from migration 2's search_text (dropped by migration 7).
    statements: (d) => [...d.fullText.create],
    data: copyFullText,
  },
  {
    version: 5,
    name: 'date index by upper bound',
    // `ge`, `gt` and `eb` bound a date's upper end: without this index they read every row of the parameter.
    statements: () => ['CREATE INDEX search_date_high ON search_date (tenant, type, param, high, low, rkey)'],
  },
  {
    version: 6,
    name: 'binary-collated resource ids',
    // References hold target ids binary-collated (COLLATE "C" on PostgreSQL): ids must compare the
    // same way, or no index serves a chain's or _has's join between them. SQLite is binary already.
    statements: (d) => (d.name === 'postgres' ? [`ALTER TABLE resource ALTER COLUMN id TYPE ${d.binaryText}`] : []),
  },
  {
    version: 7,
    name: 'drop the retired text table',
    // Migration 4 moved search_text's rows into the full-text index; releases since neither read
    // nor write it. IF EXISTS: an operator may have dropped it by hand already.
    statements: () => ['DROP TABLE IF EXISTS search_text'],
  },
];

const ledger = `CREATE TABLE IF NOT EXISTS kiln_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;

/** Applies the migrations (of `list`, default all) not yet recorded, in one transaction. Returns how many ran. */
export async function migrate(
  db: { transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>; dialect: Dialect },
  beforeEach?: (tx: SqlExecutor) => Promise<void>,
  list: readonly Migration[] = migrations,
): Promise<number> {
  return db.transaction(async (tx) => {
    if (beforeEach) await beforeEach(tx);
    await tx.execute(ledger);
    const applied = new Set((await tx.query<{ version: number }>('SELECT version FROM kiln_migration')).map((r) => Number(r.version)));
    let count = 0;
    for (const migration of list) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(db.dialect)) await tx.execute(statement);
      if (migration.data) await migration.data(tx, db.dialect);
      await tx.execute('INSERT INTO kiln_migration (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, new Date().toISOString()]);
      count++;
    }
    if (applied.size === 0 && list === migrations) await recordNewIndex(tx);
    return count;
  });
}
