import { lostRaceError, type SqlExecutor, type SqlValue } from './driver.js';

/**
 * A write transaction's posted statements (SqlExecutor.post), held back and sent together: for a
 * database reached over a connection (PostgreSQL), where every statement is a round trip. Index
 * rows are posted as multi-row INSERTs, a few per resource; held back, those into one table with
 * the same columns are merged into a few large INSERTs for many resources.
 *
 * The queue is flushed, in order, before a statement that names a table it holds writes for (so
 * reads in the transaction see them), before a SAVEPOINT (a rollback to it must undo only what
 * came after it) or any other statement that is not a read or write of rows, and by `flush`
 * before COMMIT. `ROLLBACK TO SAVEPOINT` drops the queue instead: everything in it was posted
 * after the latest savepoint, so the rollback undoes it, and sending it first would fail in a
 * transaction an error has aborted (the error the rollback recovers from would be lost).
 * A posted statement that fails fails the statement that flushed it, or the commit: the unit
 * fails, as `post` promises.
 */

/** PostgreSQL takes at most 65,535 parameters in a statement. */
const MAX_PARAMS = 65_535;
/** Rows per merged INSERT at most; counts are powers of two, so few statement texts are prepared. */
const MAX_ROWS = 1024;

interface Queued {
  sql: string;
  params: SqlValue[];
  lostRace?: string;
  /** A multi-row INSERT whose rows may join others of the same shape. */
  shape?: InsertShape;
}

/** `INSERT INTO t (columns) VALUES` + the same tuple repeated: `key` is the prefix and the tuple. */
interface InsertShape {
  key: string;
  prefix: string;
  tuple: string;
  width: number;
  /** Statement texts of `count` tuples, made once per count. */
  texts: Map<number, string>;
}

/** The table a write names (its last part when schema-qualified: reads may name it without the schema). */
const TABLE_OF = /^\s*(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+(?:\w+\.)?(\w+)/i;
const INSERT_PREFIX = /^INSERT INTO \w+ \([\w, ]+\) VALUES /;
/** Statements that only read or write rows; any other (SAVEPOINT, …) sends the queue first. */
const DATA_STATEMENT = /^\s*(?:SELECT|WITH|INSERT|UPDATE|DELETE)\b/i;
const ROLLBACK_TO = /^\s*ROLLBACK\s+TO\b/i;
const RELEASE = /^\s*RELEASE\b/i;

/** Shapes by statement text (the store's statement texts repeat); bounded. */
const shapes = new Map<string, InsertShape | null>();
const MAX_SHAPES = 2000;

/** The shape of `sql` when it is a plain multi-row INSERT of `params` (`?` placeholders only in its tuples). */
function insertShape(sql: string, params: readonly SqlValue[]): InsertShape | undefined {
  let shape = shapes.get(sql);
  if (shape === undefined) {
    shape = parseInsert(sql);
    if (shapes.size < MAX_SHAPES) shapes.set(sql, shape);
  }
  if (!shape || params.length === 0 || params.length % shape.width !== 0) return undefined;
  return shape;
}

function parseInsert(sql: string): InsertShape | null {
  const prefix = INSERT_PREFIX.exec(sql)?.[0];
  if (!prefix || sql.indexOf('?') < prefix.length || sql[prefix.length] !== '(') return null;
  // The first tuple, from its '(' to the matching ')', and its placeholders (quoted text skipped).
  let depth = 0;
  let width = 0;
  let end = -1;
  for (let i = prefix.length; i < sql.length && end < 0; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const close = sql.indexOf(c, i + 1);
      if (close < 0) return null;
      i = close;
    } else if (c === '?') width++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) end = i + 1;
  }
  if (end < 0 || width === 0) return null;
  const tuple = sql.slice(prefix.length, end);
  const rest = sql.slice(prefix.length);
  const count = (rest.length + 2) / (tuple.length + 2);
  if (!Number.isInteger(count) || rest !== new Array(count).fill(tuple).join(', ')) return null;
  return { key: `${prefix}${tuple}`, prefix, tuple, width, texts: new Map() };
}

export class DeferredWrites implements SqlExecutor {
  private queue: Queued[] = [];
  /** Tables the queue writes; `undefined` when a queued statement's table is not known. */
  private tables: Set<string> | undefined = new Set();

  constructor(private readonly inner: SqlExecutor) {}

  // An own property: executors are wrapped by spreading them (sql-store.ts noticingLostRaces).
  readonly post = (sql: string, params: SqlValue[] = [], lostRace?: string): void => {
    const queued: Queued = { sql, params, lostRace };
    if (lostRace === undefined) queued.shape = insertShape(sql, params);
    this.queue.push(queued);
    const table = TABLE_OF.exec(sql)?.[1];
    if (table === undefined) this.tables = undefined;
    else this.tables?.add(table);
  };

  async query<Row>(sql: string, params?: SqlValue[]): Promise<Row[]> {
    if (this.mustFlushFor(sql)) await this.flush();
    return this.inner.query<Row>(sql, params);
  }

  async execute(sql: string, params?: SqlValue[]): Promise<number> {
    if (ROLLBACK_TO.test(sql)) this.drop();
    else if (this.mustFlushFor(sql)) await this.flush();
    return this.inner.execute(sql, params);
  }

  private drop(): void {
    this.queue = [];
    this.tables = new Set();
  }

  /** Sends every queued statement, in order, merging INSERTs of one shape between other statements. */
  async flush(): Promise<void> {
    const queue = this.queue;
    this.drop();
    let merged = new Map<string, { shape: InsertShape; params: SqlValue[] }>();
    const sendMerged = async () => {
      for (const { shape, params } of merged.values()) await this.insertMerged(shape, params);
      merged = new Map();
    };
    for (const statement of queue) {
      if (statement.shape) {
        let batch = merged.get(statement.shape.key);
        if (!batch) merged.set(statement.shape.key, (batch = { shape: statement.shape, params: [] }));
        for (const value of statement.params) batch.params.push(value);
        continue;
      }
      await sendMerged();
      const changed = await this.inner.execute(statement.sql, statement.params);
      if (statement.lostRace !== undefined && changed === 0) throw lostRaceError(statement.lostRace);
    }
    await sendMerged();
  }

  private mustFlushFor(sql: string): boolean {
    if (this.queue.length === 0) return false;
    // A savepoint's release undoes nothing: what waits can go later.
    if (RELEASE.test(sql)) return false;
    if (!this.tables || !DATA_STATEMENT.test(sql)) return true;
    for (const table of this.tables) if (sql.includes(table)) return true;
    return false;
  }

  private async insertMerged(shape: InsertShape, params: SqlValue[]): Promise<void> {
    const rows = params.length / shape.width;
    const most = Math.min(MAX_ROWS, 2 ** Math.floor(Math.log2(MAX_PARAMS / shape.width)));
    for (let start = 0; start < rows; ) {
      const count = Math.min(most, 2 ** Math.floor(Math.log2(rows - start)));
      let text = shape.texts.get(count);
      if (text === undefined) shape.texts.set(count, (text = shape.prefix + new Array(count).fill(shape.tuple).join(', ')));
      await this.inner.execute(text, params.slice(start * shape.width, (start + count) * shape.width));
      start += count;
    }
  }
}

/** Runs a write transaction's `work` with its posted writes deferred, and sends what is left before it commits. */
export async function withDeferredWrites<T>(executor: SqlExecutor, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  const tx = new DeferredWrites(executor);
  const value = await work(tx);
  await tx.flush();
  return value;
}
