import type { Sql } from '../../search/sql/fragment.js';
import type { FullTextIndex } from './full-text.js';
import type { TransactionOptions } from '../types.js';
import type { CommittedCache } from './committed-cache.js';

/**
 * The seam between the shared SQL store and a database engine. A backend folder (store/sqlite,
 * store/postgres) provides a SqlDatabase and a Dialect; everything else is shared.
 * SQL is written once with `?` placeholders; the dialect rewrites it for its engine.
 */
export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqlExecutor {
  /** Runs a statement that returns rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<Row[]>;
  /** Runs a statement for its effect; returns the number of rows changed. */
  execute(sql: string, params?: SqlValue[]): Promise<number>;
  /**
   * Runs a statement for its effect without waiting for it, where the backend can (SQLite's
   * writer connection): the caller goes on while the database works. Should it fail, the unit of
   * work fails with its error at its next awaited statement or at its end. Use `write` (below).
   * `lostRace`: the statement must change a row; when it changes none, the unit fails with a
   * LostRaceError of that message (another writer came first: the store runs the unit again).
   */
  post?(sql: string, params?: SqlValue[], lostRace?: string): void;
  /** Present where this executor is the database's only writer, working beside the caller (see SoleWriter). */
  readonly soleWriter?: SoleWriter;
}

/**
 * What an executor offers when it is the only writer of its database and writes on a thread of
 * its own (SQLite's writer thread): it hears of every write and every commit, so it can number
 * new rows before inserting them, and knows which reads committed data still answers. The store
 * uses all of it together, to post a resource's rows without waiting (sql-store.ts); the
 * database's `committedCache` comes from the same fact.
 */
export interface SoleWriter {
  /** SqlExecutor.post. */
  post(sql: string, params?: SqlValue[], lostRace?: string): void;
  /** The next value of an auto-assigned key (`resource_version.seq`, `resource.rkey`), so a new resource's rows can be posted at once. */
  nextKey(key: 'seq' | 'rkey'): number;
  /**
   * An executor reading committed data, for a read of data that only writes of these keys
   * change, when none of them has a write not yet committed; else undefined. Writes declare
   * their key with `writing`; while a write of no declared key is in flight, there is none.
   */
  committedReader(keys: readonly string[]): SqlExecutor | undefined;
  /** Declares the keys of the writes that follow (`undefined`: of none) (see committedReader). */
  writing(keys: readonly string[] | undefined): void;
}

/** `code` of the error a unit fails with when a posted statement lost a race (SqlExecutor.post). */
export const LOST_RACE = 'KILN_LOST_RACE';

export function lostRaceError(message: string): Error {
  return Object.assign(new Error(message), { code: LOST_RACE });
}

export function isLostRace(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === LOST_RACE;
}

/** Runs a statement for its effect, handing it over without waiting where the executor can. */
export async function write(sql: SqlExecutor, text: string, params?: SqlValue[]): Promise<void> {
  if (sql.post) sql.post(text, params);
  else await sql.execute(text, params);
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: Dialect;
  /** Runs `work` in one database transaction on one connection, committing on success. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs read-only `work` on one consistent snapshot: every statement sees the database as it was
   * at the snapshot's first read, whatever commits meanwhile (a search's page, total and includes).
   */
  snapshot<T>(work: (reader: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `work` (which may run several transactions) holding a lock on `key` that other processes
   * sharing the database wait for: a session advisory lock on PostgreSQL, where `work` is given
   * the locked connection to use. Where one process owns the database (PGlite) or writers are
   * serialised anyway (SQLite), `work` just runs on this database.
   */
  exclusive<T>(key: string, work: (db: SqlDatabase) => Promise<T>): Promise<T>;
  /**
   * Where this process learns of every commit to the database as it happens (its executor is a
   * SoleWriter: SQLite's writer thread), a cache of current versions that commits keep true; the
   * store reads through it outside transactions. Absent where other processes may write
   * (PostgreSQL) or commits are not reported (SQLite in memory, before serving).
   */
  readonly committedCache?: CommittedCache;
  close(): Promise<void>;
}

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of an auto-assigned 64-bit integer primary key. */
  readonly autoKey: string;
  /** Column type for 64-bit integers. */
  readonly bigint: string;
  /** Column type for 64-bit floating point numbers (PostgreSQL's REAL is only 32-bit). */
  readonly double: string;
  /**
   * Column type for text compared and sorted byte by byte, so that prefix ranges
   * (`norm >= 'ab' AND norm < 'ac'`) match starts-with and sort orders agree across backends.
   */
  readonly binaryText: string;
  /** Suffix that locks selected rows until the transaction ends ('' where writers are serialised). */
  readonly forUpdate: string;
  /** The function building a JSON array of its arguments (`json_array`, `json_build_array`). */
  readonly jsonArray: string;
  /**
   * SQL refreshing the planner's statistics of these tables, for engines whose plans depend on
   * them (PostgreSQL); absent where the search SQL is planned well without (SQLite).
   */
  readonly analyze?: (tables: readonly string[]) => string;
  /**
   * SQL run after `analyze`, outside any transaction, that lets index-only scans skip the table
   * for rows just written (PostgreSQL's VACUUM sets the visibility map).
   */
  readonly vacuum?: (tables: readonly string[]) => string;
  /**
   * A statement taking one text parameter that holds a lock on that key until the transaction
   * ends; absent where write transactions are serialised anyway (SQLite).
   */
  readonly advisoryLock?: string;
  /** The full-text index of `_text` and `_content` (SQLite FTS5, PostgreSQL tsvector). */
  readonly fullText: FullTextIndex;
  /**
   * Appended inside the EXISTS sub-queries that test one search candidate, so that they run per
   * candidate as planned (search/sql/plan.ts) instead of being turned into joins: PostgreSQL's
   * `OFFSET 0` (its planner misjudges chained conditions and hashes whole index tables).
   */
  readonly probeFence: string;
  /**
   * Whether a chain with few targets tests candidates against the list of them (search/sql
   * clauses.ts chainClause): SQLite builds the list once per query; PostgreSQL would turn it into
   * a join run per candidate, and follows each candidate's references through an index instead.
   */
  readonly listsChainTargets: boolean;
  /**
   * `column` is one of the values `list` (a SELECT of one column) gives, computed once:
   * PostgreSQL's `= ANY(ARRAY(…))`, which its planner cannot turn into a join that re-runs the
   * list for every row when its statistics are missing or stale.
   */
  listed(column: string, list: Sql): Sql;
  /**
   * How an INSERT of many index rows begins. SQLite's `INSERT OR FAIL`: a plain multi-row INSERT
   * journals every page it changes to a statement journal, so that a failure part-way can undo
   * the statement alone; a failed index write fails its whole unit of work anyway, and the
   * journal was ~30% of the writer's time in a bulk load.
   */
  readonly insertMany: string;
  /** Whether an error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /** Whether an error means "the transaction lost a race; running it again may succeed". */
  isRetryable(error: unknown): boolean;
}
