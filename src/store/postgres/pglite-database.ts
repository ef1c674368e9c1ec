import type { PGlite, Transaction } from '@electric-sql/pglite';
import { migrate } from '../sql/schema.js';
import { SqlStore, type SqlStoreOptions } from '../sql/sql-store.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from '../sql/driver.js';
import { postgresDialect, toPositional } from './dialect.js';
import { withDeferredWrites } from '../sql/deferred-writes.js';

class PgliteExecutor implements SqlExecutor {
  constructor(private readonly target: PGlite | Transaction) {}

  async query<Row>(sql: string, params: SqlValue[] = []): Promise<Row[]> {
    return (await this.target.query<Row>(toPositional(sql), params)).rows;
  }

  async execute(sql: string, params: SqlValue[] = []): Promise<number> {
    return (await this.target.query(toPositional(sql), params)).affectedRows ?? 0;
  }
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly, in this process) behind the SqlDatabase seam.
 * It has one connection, and PGlite queues every query behind an open transaction, so
 * transactions run one at a time and reads never see uncommitted writes.
 */
export class PgliteDatabase implements SqlDatabase {
  readonly dialect = postgresDialect;
  private readonly direct: PgliteExecutor;
  private closed?: Promise<void>;

  constructor(readonly pglite: PGlite) {
    this.direct = new PgliteExecutor(pglite);
  }

  query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.direct.query<Row>(sql, params);
  }

  execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.pglite.transaction((tx) => withDeferredWrites(new PgliteExecutor(tx), work));
  }

  /** PGlite queues every other query behind an open transaction: nothing commits meanwhile. */
  snapshot<T>(work: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(work);
  }

  /** PGlite belongs to this process alone: nothing else can be indexing it at the same time. */
  exclusive<T>(_key: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
    return work(this);
  }

  close(): Promise<void> {
    this.closed ??= this.pglite.close();
    return this.closed;
  }
}

export interface PgliteStoreOptions extends SqlStoreOptions {
  /** A directory to keep the database in; in memory when absent. */
  dataDir?: string;
}

/**
 * An embedded PostgreSQL store on PGlite: for tests, and for anyone who wants PostgreSQL
 * semantics without a server. @electric-sql/pglite is loaded only when this is called, so
 * deployments that never call it need not install it.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<SqlStore> {
  const { dataDir, ...storeOptions } = options;
  let module: typeof import('@electric-sql/pglite');
  try {
    module = await import('@electric-sql/pglite');
  } catch (error) {
    throw new Error(`openPgliteStore needs the @electric-sql/pglite package (npm install @electric-sql/pglite): ${(error as Error).message}`);
  }
  const db = new PgliteDatabase(await module.PGlite.create(dataDir ? { dataDir } : {}));
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return new SqlStore(db, storeOptions);
}
