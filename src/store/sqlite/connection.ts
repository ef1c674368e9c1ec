import Database from 'better-sqlite3';
import type { SqlExecutor, SqlValue } from '../sql/driver.js';
import type { FullTextQueue } from './full-text-queue.js';

type Statement = Database.Statement<SqlValue[]>;

/** Executes on one better-sqlite3 connection, caching prepared statements by their text. */
export class SqliteExecutor implements SqlExecutor {
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

  /** Runs a statement that returns rows, now. */
  all<Row>(sql: string, params: SqlValue[] = []): Row[] {
    if (this.fullText?.touches(sql)) this.applyFullText();
    return this.prepare(sql).all(...params) as Row[];
  }

  /** Runs a statement for its effect, now (or queues it: full-text writes in a write transaction). */
  run(sql: string, params: SqlValue[] = []): number {
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

  async query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.all<Row>(sql, params);
  }

  async execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.run(sql, params);
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

/** The WAL size at which the writer checkpoints by itself (the checkpoint worker usually has already). */
const WAL_CHECKPOINT_BYTES = 40 * 1024 * 1024;

export function openConnection(file: string, readonly: boolean): Database.Database {
  const connection = new Database(file, { readonly, fileMustExist: readonly });
  connection.pragma('busy_timeout = 5000');
  if (!readonly) {
    // 8 KiB pages for a new database (an existing one keeps its own): the writer's share of a bulk
    // load (92,000 Synthea resources replayed) fell by ~12%, fewer and fuller pages per commit.
    connection.pragma('page_size = 8192');
    connection.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: durable across process crashes; the last commits may be lost on power loss.
    connection.pragma('synchronous = NORMAL');
    // Checkpoint every ~40 MB of WAL rather than every 1,000 pages: a commit writes every page it
    // dirtied to the WAL (the search indexes' leaves are spread out), and a checkpoint copies
    // each page once however often it was rewritten, so rarer checkpoints copy (and fsync) less.
    const pageSize = Number(connection.pragma('page_size', { simple: true }));
    connection.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / pageSize)}`);
  }
  connection.pragma('cache_size = -32000');
  // Reads map the file (up to 2 GB, SQLite's limit here) instead of copying pages through the
  // 32 MB cache: searches that probe an index at random ran 3× faster on a 4.5 GB database. The
  // mapped pages are the OS page cache's, shared, not the process's own heap.
  connection.pragma('mmap_size = 2147418112');
  return connection;
}
