import type { Dialect, SqlDatabase, SqlExecutor, SqlValue } from '../sql/driver.js';
import type { TransactionOptions } from '../types.js';
import { CommittedCache } from '../sql/committed-cache.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { openConnection, SqliteExecutor } from './connection.js';
import { sqliteFullText } from './full-text.js';
import { LocalWriter, type GroupWriter, type Unit } from './group-writer.js';
import { WriterThread } from './writer-thread.js';
import { raw, sql } from '../../search/sql/fragment.js';

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  autoKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bigint: 'INTEGER',
  double: 'REAL',
  binaryText: 'TEXT',
  // SQLite has one writer at a time (BEGIN IMMEDIATE), so selected rows need no lock.
  forUpdate: '',
  jsonArray: 'json_array',
  fullText: sqliteFullText,
  probeFence: '',
  listsChainTargets: true,
  listed: (column, list) => sql`${raw(column)} IN (${list})`,
  insertMany: 'INSERT OR FAIL INTO',
  isUniqueViolation: (error) => (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') ?? false,
  isRetryable: (error) => (error as { code?: string }).code === 'SQLITE_BUSY',
};

/** Snapshots rarely overlap (SQLite answers in this one thread): a few idle connections suffice. */
const MAX_IDLE_SNAPSHOT_READERS = 2;

/** The cache of current versions read (SqlDatabase.committedCache), by default. */
export const DEFAULT_READ_CACHE_BYTES = 32 * 1024 * 1024;

/** Most units of work committed together (group commit). */
const MAX_GROUP = 64;

/**
 * SQLite behind the SqlDatabase seam. Writes go through one connection; reads outside
 * transactions use a second connection so they never see uncommitted writes.
 *
 * Group commit: units of work that arrive while the event loop is busy are run one after another
 * inside one database transaction, each in its own savepoint, and committed together. A unit that
 * fails rolls back to its savepoint alone; each caller is answered only after the commit. This
 * writes shared index pages once per group instead of once per request.
 *
 * Once serving, the writer connection of a database file is on a thread of its own
 * (writer-thread.ts); before (migrations) and for a database in memory it is in this thread.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = sqliteDialect;
  /** The writer connection in this thread, until serving starts (for good in memory). */
  private local: SqliteExecutor | undefined;
  private writer: GroupWriter;
  /** Plain reads: the local writer until serving starts, then a read-only connection. */
  private reader: SqliteExecutor;
  private pending: Unit[] = [];
  private serving = false;
  private draining: Promise<void> | undefined;
  private checkpointer: BackgroundCheckpointer | undefined;
  /** Read-only connections for snapshots, idle ones kept for the next (see snapshot). */
  private readonly snapshotReaders: SqliteExecutor[] = [];

  /** Kept once the writer thread reports commits (see committedCache). */
  private readonly cache: CommittedCache | undefined;

  /**
   * `writerThread: false` keeps the writer in this thread (tests); `readCacheBytes` bounds the
   * cache of current versions (0: none).
   */
  constructor(
    private readonly file: string,
    private readonly options: { writerThread?: boolean; readCacheBytes?: number } = {},
  ) {
    const cacheBytes = options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES;
    this.cache = cacheBytes > 0 ? new CommittedCache(cacheBytes) : undefined;
    this.local = new SqliteExecutor(openConnection(file, false));
    this.writer = new LocalWriter(this.local);
    this.reader = this.local;
  }

  /** Readies the database for serving; call once the schema exists and is migrated. */
  startServing(): void {
    if (this.serving) return;
    if (this.pending.length > 0 || this.draining) throw new Error('startServing: writes are in progress');
    if (this.file !== ':memory:') {
      // Reads move to their own connection, so they never see uncommitted writes.
      this.reader = new SqliteExecutor(openConnection(this.file, true));
      this.checkpointer = new BackgroundCheckpointer(this.file);
      if (this.options.writerThread !== false) {
        this.local!.connection.close();
        this.local = undefined;
        this.writer = new WriterThread(this.file, this.reader, this.cache);
      }
    }
    this.serving = true;
  }

  /** Only with the writer thread: it reports every commit as it happens, and this process is the only writer. */
  get committedCache(): CommittedCache | undefined {
    return this.writer instanceof WriterThread ? this.cache : undefined;
  }

  query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.reader.query<Row>(sql, params);
  }

  execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.transaction((tx) => tx.execute(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, small: options.small === true, resolve: resolve as (value: unknown) => void, reject });
      // Wait one turn of the event loop so that requests already received can join the group.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /**
   * A read transaction on a read-only connection of its own (WAL readers keep the snapshot of
   * their first read until they end). Not the shared reader: plain reads on it must see every
   * commit at once. A database in memory has a single connection, which is its snapshot.
   */
  async snapshot<T>(work: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.reader === this.local) return work(this.local);
    const reader = this.snapshotReaders.pop() ?? new SqliteExecutor(openConnection(this.file, true));
    reader.exec('BEGIN');
    try {
      return await work(reader);
    } finally {
      reader.exec('COMMIT');
      if (this.snapshotReaders.length < MAX_IDLE_SNAPSHOT_READERS) this.snapshotReaders.push(reader);
      else reader.connection.close();
    }
  }

  exclusive<T>(_key: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
    return work(this);
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      await this.writer.run(this.pending.splice(0, MAX_GROUP), this.serving);
    }
    this.draining = undefined;
  }

  async close(): Promise<void> {
    while (this.draining) await this.draining;
    // The writer first: units waiting for their commit are answered, and their callers may read.
    await this.writer.close();
    await this.checkpointer?.stop();
    if (this.reader !== this.local) this.reader.connection.close();
    for (const reader of this.snapshotReaders.splice(0)) reader.connection.close();
  }
}
