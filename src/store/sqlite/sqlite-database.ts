import Database from 'better-sqlite3';
import type { Dialect, SqlDatabase, SqlExecutor, SqlValue } from '../sql/driver.js';
import type { TransactionOptions } from '../types.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { FullTextQueue } from './full-text-queue.js';
import { FULL_TEXT_TABLE, sqliteFullText } from './full-text.js';
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
  isUniqueViolation: (error) => (error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') ?? false,
  isRetryable: (error) => (error as { code?: string }).code === 'SQLITE_BUSY',
};

type Statement = Database.Statement<SqlValue[]>;

/** Executes on one better-sqlite3 connection, caching prepared statements by their text. */
class SqliteExecutor implements SqlExecutor {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly connection: Database.Database) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.connection.prepare<SqlValue[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Set on the writer during a write transaction: full-text writes wait in it (see FullTextQueue). */
  fullText: FullTextQueue | undefined;

  async query<Row>(sql: string, params: SqlValue[] = []): Promise<Row[]> {
    if (this.fullText?.touches(sql)) this.applyFullText();
    return this.prepare(sql).all(...params) as Row[];
  }

  async execute(sql: string, params: SqlValue[] = []): Promise<number> {
    if (this.fullText) {
      if (this.fullText.writes(sql)) {
        this.fullText.queue(sql, params);
        return 0;
      }
      if (this.fullText.touches(sql)) this.applyFullText();
      else this.fullText.follow(sql);
    }
    return this.prepare(sql).run(...params).changes;
  }

  /** Runs a statement without caching it (DDL, BEGIN/COMMIT). */
  exec(sql: string): void {
    if (this.fullText?.touches(sql)) this.applyFullText();
    else this.fullText?.follow(sql);
    this.connection.exec(sql);
  }

  /** Applies the queued full-text writes. */
  applyFullText(): void {
    this.fullText?.apply((statement) => this.prepare(statement.sql).run(...statement.params));
  }
}

function openConnection(file: string, readonly: boolean): Database.Database {
  const connection = new Database(file, { readonly, fileMustExist: readonly });
  connection.pragma('busy_timeout = 5000');
  if (!readonly) {
    connection.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: durable across process crashes; the last commits may be lost on power loss.
    connection.pragma('synchronous = NORMAL');
    // Checkpoint every ~40 MB of WAL rather than every 4 MB: a commit writes every page it
    // dirtied to the WAL (the search indexes' leaves are spread out), and a checkpoint copies
    // each page once however often it was rewritten, so rarer checkpoints copy (and fsync) less.
    connection.pragma('wal_autocheckpoint = 10000');
  }
  connection.pragma('cache_size = -32000');
  // Reads map the file (up to 2 GB, SQLite's limit here) instead of copying pages through the
  // 32 MB cache: searches that probe an index at random ran 3× faster on a 4.5 GB database. The
  // mapped pages are the OS page cache's, shared, not the process's own heap.
  connection.pragma('mmap_size = 2147418112');
  return connection;
}

interface Unit {
  work: (tx: SqlExecutor) => Promise<unknown>;
  small: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Snapshots rarely overlap (SQLite answers in this one thread): a few idle connections suffice. */
const MAX_IDLE_SNAPSHOT_READERS = 2;

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
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = sqliteDialect;
  private readonly writer: SqliteExecutor;
  private reader: SqliteExecutor;
  private pending: Unit[] = [];
  private serving = false;
  private journalsInMemory = false;
  private draining: Promise<void> | undefined;
  private checkpointer: BackgroundCheckpointer | undefined;
  /** Read-only connections for snapshots, idle ones kept for the next (see snapshot). */
  private readonly snapshotReaders: SqliteExecutor[] = [];

  constructor(private readonly file: string) {
    this.writer = new SqliteExecutor(openConnection(file, false));
    this.reader = this.writer;
  }

  /** Readies the database for serving; call once the schema exists and is migrated. */
  startServing(): void {
    // Moves reads to their own connection, so they never see uncommitted writes.
    if (this.file !== ':memory:' && this.reader === this.writer) this.reader = new SqliteExecutor(openConnection(this.file, true));
    if (this.file !== ':memory:') this.checkpointer ??= new BackgroundCheckpointer(this.file);
    this.serving = true;
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
    if (this.reader === this.writer) return work(this.writer);
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
      await this.runGroup(this.pending.splice(0, MAX_GROUP));
    }
    this.draining = undefined;
  }

  /**
   * Savepoints and multi-row statements keep a journal of the pages they change; by default it
   * spills past 64 KiB to a temporary file, created, written and deleted for every group: ~40% of
   * a single create's time. In memory (`temp_store`) single interactions write ~30% faster, but
   * transactions of thousands of entries (the Synthea load) ran 4× slower, so only groups of
   * small units keep their journals in memory; migrations (large index builds) never do.
   */
  private placeJournals(group: readonly Unit[]): void {
    const inMemory = this.serving && group.every((unit) => unit.small);
    if (inMemory === this.journalsInMemory) return;
    this.writer.connection.pragma(`temp_store = ${inMemory ? 'MEMORY' : 'DEFAULT'}`);
    this.journalsInMemory = inMemory;
  }

  private async runGroup(group: Unit[]): Promise<void> {
    try {
      await this.runGroupQueuingFullText(group);
    } finally {
      this.writer.fullText = undefined;
    }
  }

  private async runGroupQueuingFullText(group: Unit[]): Promise<void> {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.placeJournals(group);
      this.writer.exec('BEGIN IMMEDIATE');
      this.writer.fullText = new FullTextQueue(FULL_TEXT_TABLE);
    } catch (error) {
      for (const unit of group) unit.reject(error);
      return;
    }
    const savepoints = group.length > 1;
    for (const unit of group) {
      if (savepoints) this.writer.exec('SAVEPOINT unit');
      try {
        const value = await unit.work(this.writer);
        if (savepoints) this.writer.exec('RELEASE unit');
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (savepoints && this.writer.connection.inTransaction) {
          this.writer.exec('ROLLBACK TO unit');
          this.writer.exec('RELEASE unit');
        }
        outcomes.push({ ok: false, value: error });
      }
    }
    try {
      if (!this.writer.connection.inTransaction) throw new Error('SQLite ended the transaction early');
      if (outcomes.some((outcome) => outcome.ok)) {
        this.writer.applyFullText();
        this.writer.exec('COMMIT');
      } else this.writer.exec('ROLLBACK');
    } catch (error) {
      if (this.writer.connection.inTransaction) this.writer.exec('ROLLBACK');
      group.forEach((unit, index) => (outcomes[index].ok ? unit.reject(error) : unit.reject(outcomes[index].value)));
      return;
    }
    group.forEach((unit, index) => (outcomes[index].ok ? unit.resolve(outcomes[index].value) : unit.reject(outcomes[index].value)));
  }

  async close(): Promise<void> {
    while (this.draining) await this.draining;
    await this.checkpointer?.stop();
    if (this.reader !== this.writer) this.reader.connection.close();
    for (const reader of this.snapshotReaders.splice(0)) reader.connection.close();
    this.writer.connection.close();
  }
}
