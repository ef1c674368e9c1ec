import Database from 'better-sqlite3';
import type { Dialect, SqlDatabase, SqlExecutor, SqlValue } from '../sql/driver.js';

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  autoKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bigint: 'INTEGER',
  double: 'REAL',
  binaryText: 'TEXT',
  // SQLite has one writer at a time (BEGIN IMMEDIATE), so selected rows need no lock.
  forUpdate: '',
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

  async query<Row>(sql: string, params: SqlValue[] = []): Promise<Row[]> {
    return this.prepare(sql).all(...params) as Row[];
  }

  async execute(sql: string, params: SqlValue[] = []): Promise<number> {
    return this.prepare(sql).run(...params).changes;
  }

  /** Runs a statement without caching it (DDL, BEGIN/COMMIT). */
  exec(sql: string): void {
    this.connection.exec(sql);
  }
}

function openConnection(file: string, readonly: boolean): Database.Database {
  const connection = new Database(file, { readonly, fileMustExist: readonly });
  connection.pragma('busy_timeout = 5000');
  if (!readonly) {
    connection.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: durable across process crashes; the last commits may be lost on power loss.
    connection.pragma('synchronous = NORMAL');
  }
  connection.pragma('cache_size = -32000');
  return connection;
}

/**
 * SQLite behind the SqlDatabase seam. Writes go through one connection, one transaction at a
 * time (queued here, since work inside a transaction is asynchronous); reads outside
 * transactions use a second connection so they never see uncommitted writes.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = sqliteDialect;
  private readonly writer: SqliteExecutor;
  private reader: SqliteExecutor;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {
    this.writer = new SqliteExecutor(openConnection(file, false));
    this.reader = this.writer;
  }

  /** Moves reads to their own connection; call once the schema exists. */
  openReader(): void {
    if (this.file !== ':memory:' && this.reader === this.writer) this.reader = new SqliteExecutor(openConnection(this.file, true));
  }

  query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.reader.query<Row>(sql, params);
  }

  execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.transaction((tx) => tx.execute(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const run = async () => {
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.writer);
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.connection.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.reader !== this.writer) this.reader.connection.close();
    this.writer.connection.close();
  }
}
