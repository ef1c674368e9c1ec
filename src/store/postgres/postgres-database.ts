import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlValue } from '../sql/driver.js';
import { postgresDialect, toPositional } from './dialect.js';
import { withDeferredWrites } from '../sql/deferred-writes.js';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/** Runs statements on a pool (each statement may use a different connection) or on one client. */
class PgExecutor implements SqlExecutor {
  constructor(private readonly target: pg.Pool | pg.PoolClient) {}

  async query<Row>(sql: string, params: SqlValue[] = []): Promise<Row[]> {
    const text = toPositional(sql);
    const result = await this.target.query({ text, values: params, name: statementName(text) });
    return result.rows as Row[];
  }

  async execute(sql: string, params: SqlValue[] = []): Promise<number> {
    const text = toPositional(sql);
    const result = await this.target.query({ text, values: params, name: statementName(text) });
    return result.rowCount ?? 0;
  }
}

/**
 * A name per SQL text, so that each connection parses and plans a statement once and then only
 * binds and executes it. Names are never reused for another text; past the bound (SQL built with
 * values inlined) statements go unnamed, parsed each time.
 */
const statementNames = new Map<string, string>();
const maxStatementNames = 1000;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < maxStatementNames) {
    name = `kiln_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name;
}

/** BIGINT (oid 20) as a number when it fits, as PGlite and SQLite return it; BigInt beyond. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') {
      return (text: string) => {
        const value = Number(text);
        return Number.isSafeInteger(value) ? value : BigInt(text);
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * PostgreSQL behind the SqlDatabase seam, over a pg.Pool. Reads outside transactions go to any
 * pooled connection; a transaction holds one connection from BEGIN to COMMIT.
 */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = postgresDialect;
  private readonly direct: PgExecutor;
  private closed?: Promise<void>;

  constructor(
    readonly pool: pg.Pool,
    /** The isolation level of `transaction()` unless the caller asks for another. */
    private readonly isolation: IsolationLevel = 'READ COMMITTED',
  ) {
    this.direct = new PgExecutor(pool);
    // An idle pooled connection that the server drops emits 'error' on the pool; without a
    // listener that would crash the process. The pool discards the connection by itself.
    pool.on('error', () => undefined);
  }

  query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.direct.query<Row>(sql, params);
  }

  execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transactionAt(work, this.isolation);
  }

  /**
   * A read-only REPEATABLE READ transaction: one snapshot for all its statements. Its end has
   * nothing to make durable, so the answer does not wait for it: the connection goes back to the
   * pool once COMMIT (or, after an error, ROLLBACK) is done.
   */
  async snapshot<T>(work: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const finish = (statement: string) => void client.query(statement).then(() => client.release(), (error: Error) => client.release(error));
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const value = await work(new PgExecutor(client));
      finish('COMMIT');
      return value;
    } catch (error) {
      finish('ROLLBACK');
      throw error;
    }
  }

  /** A transaction at another isolation level than the database's own. */
  async transactionAt<T>(work: (tx: SqlExecutor) => Promise<T>, isolation: IsolationLevel): Promise<T> {
    const client = await this.pool.connect();
    const outcome = await runTransaction(client, isolation, work);
    // A connection whose ROLLBACK failed is in an unknown state: destroy it, don't reuse it.
    client.release(outcome.broken);
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  /**
   * Holds a session advisory lock on `key` (scoped to the search_path, as migrations are) on one
   * connection, and runs `work` with that connection. No statement timeout while waiting for it:
   * another process may hold it for as long as a reindex takes.
   */
  async exclusive<T>(key: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('SET statement_timeout = 0');
      await client.query(`SELECT pg_advisory_lock(hashtextextended($1 || ' ' || current_setting('search_path'), 0))`, [key]);
      try {
        return await work(new PostgresSession(client, this.dialect, this.isolation));
      } finally {
        await client.query('SELECT pg_advisory_unlock_all()').catch((error: Error) => (broken = error));
        await client.query('RESET statement_timeout').catch((error: Error) => (broken = error));
      }
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }
}

type Outcome<T> = ({ value: T } | { error: unknown }) & { broken?: Error };

type TransactionAccess = 'READ WRITE' | 'READ ONLY';

async function runTransaction<T>(client: pg.PoolClient, isolation: IsolationLevel, work: (tx: SqlExecutor) => Promise<T>, access: TransactionAccess = 'READ WRITE'): Promise<Outcome<T>> {
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation} ${access}`);
    // Posted writes wait and go together (store/sql/deferred-writes.ts): a round trip each was half a bulk load's time.
    const value = await withDeferredWrites(new PgExecutor(client), work);
    await client.query('COMMIT');
    return { value };
  } catch (error) {
    let broken: Error | undefined;
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    return { error, broken };
  }
}

/** One checked-out connection as a SqlDatabase (the connection holding an exclusive lock). */
class PostgresSession implements SqlDatabase {
  private readonly direct: PgExecutor;

  constructor(
    private readonly client: pg.PoolClient,
    readonly dialect: SqlDatabase['dialect'],
    private readonly isolation: IsolationLevel,
  ) {
    this.direct = new PgExecutor(client);
  }

  query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    return this.direct.query<Row>(sql, params);
  }

  execute(sql: string, params?: SqlValue[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const outcome = await runTransaction(this.client, this.isolation, work);
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  async snapshot<T>(work: (reader: SqlExecutor) => Promise<T>): Promise<T> {
    const outcome = await runTransaction(this.client, 'REPEATABLE READ', work, 'READ ONLY');
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  }

  exclusive<T>(_key: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
    return work(this);
  }

  /** The connection goes back to the pool when the exclusive section ends. */
  async close(): Promise<void> {}
}

export interface PoolSettings {
  poolSize: number;
  /** 0 = no timeout. */
  statementTimeoutMs: number;
}

/** A pool for `url`; `schema`, when given, becomes the connections' search_path. */
export function createPool(url: string, settings: PoolSettings, schema?: string): pg.Pool {
  const config: pg.PoolConfig = {
    connectionString: withSearchPath(url, schema),
    max: settings.poolSize,
    connectionTimeoutMillis: 10_000,
    application_name: 'kiln',
    types,
  };
  if (settings.statementTimeoutMs > 0) {
    config.statement_timeout = settings.statementTimeoutMs;
    // A transaction idle for longer than any statement may run is stuck (its process paused or
    // lost): end it so that the row locks it holds do not block the other servers.
    config.idle_in_transaction_session_timeout = settings.statementTimeoutMs;
  }
  return new pg.Pool(config);
}

// Lower case only: search_path folds unquoted names to lower case, so `MySchema` would be created
// under one name and looked up under another.
const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!identifier.test(schema)) throw new Error(`Invalid schema name '${schema}': use lower-case letters, digits and _`);
}

/**
 * Sets search_path through the connection's startup `options`, appended to any the URL already
 * has (settings in the URL override pg's other config, so the URL is the one place to put it).
 */
function withSearchPath(url: string, schema: string | undefined): string {
  if (!schema) return url;
  assertSchemaName(schema);
  const parsed = new URL(url);
  const options = [parsed.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' ');
  parsed.searchParams.set('options', options);
  return parsed.toString();
}
