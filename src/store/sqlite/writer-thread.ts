import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { CommittedCache } from '../sql/committed-cache.js';
import type { SqlExecutor, SqlValue } from '../sql/driver.js';
import type { SqliteExecutor } from './connection.js';
import type { GroupWriter, Unit } from './group-writer.js';

/**
 * The writer connection of a database file on a thread of its own (writer-worker.ts), beside the
 * server's thread instead of inside it: while the writer inserts one unit's rows, the server
 * validates and extracts the next request's. A written resource's rows are posted, not waited
 * for (WriteSession says what becomes of their errors); a statement whose answer the unit needs
 * blocks the server's thread until the writer has answered it, and reads that committed data
 * can answer (committedReader) do not wait at all. Messages go in batches: at an awaited
 * statement, at the end of each unit, every 32, or when the event loop turns. The writer commits
 * whenever it has caught up; each unit is answered once its commit is done.
 */

export type WriterMessage =
  | ['start', number, boolean]
  /** id, whether the unit's work succeeded here. */
  | ['end', number, boolean]
  /** A statement's text, or the number `name` gave it. */
  | ['post', string | number, SqlValue[] | undefined, string | undefined]
  /** From now on, `number` stands for this statement text in posts. */
  | ['name', number, string]
  | ['query' | 'execute', number, string, SqlValue[] | undefined]
  | ['close', number];

/** Through the event loop: which units a commit wrote (or why it failed), and close's answer. */
export type WriterNotice = { committed: number[]; failures: { unit: number; error: WireError }[]; error?: WireError } | { closed: number };

export interface WireError {
  message: string;
  code?: string;
}

export type WriterReply = { id: number; value: unknown } | { id: number; error: WireError };

/** An error from the writer thread as the caller can test it (`code`: SQLITE_BUSY, SQLITE_CONSTRAINT…). */
export function fromWire(error: WireError): Error {
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

export function toWire(error: unknown): WireError {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  return { message: String(message ?? error), code: typeof code === 'string' ? code : undefined };
}

/** Slots of the shared signal: messages sent to the thread, answers sent back, the thread's end. */
export const TO_THREAD = 0;
export const TO_CALLER = 1;
export const THREAD_ENDED = 2;
/** The id of the answer that tells why the thread failed (no statement has it). */
export const THREAD_FAILED = 0;

/**
 * Starts the worker from dist/ (or, when Kiln runs from its TypeScript sources under tsx, from
 * src/ with tsx registered in the worker): a module URL beside this one.
 */
const BOOT = `(async () => {
  const { workerData } = await import('node:worker_threads');
  try {
    if (workerData.tsx) (await import(workerData.tsx)).register();
    await import(workerData.entry);
  } catch (error) {
    // Whatever stopped it (a module that does not load, say), callers blocked on an answer must hear of it.
    workerData.port.postMessage({ id: ${THREAD_FAILED}, error: { message: 'The SQLite writer thread could not start: ' + (error && error.message) } });
    Atomics.store(workerData.signal, ${THREAD_ENDED}, 1);
    Atomics.notify(workerData.signal, ${TO_CALLER});
    throw error;
  }
})();`;

function workerEntry(): { entry: string; tsx?: string } {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSources ? './writer-worker.ts' : './writer-worker.js', import.meta.url).href;
  return fromSources ? { entry, tsx: import.meta.resolve('tsx/esm/api') } : { entry };
}

/** Statements that only read (any other may write). */
const READ = /^\s*(SELECT|WITH)\b/i;

interface Written {
  keys: Set<string>;
  undeclared: boolean;
}

/** Units whose work is done here but whose commit is not, at most: then new units wait. */
const MAX_UNCOMMITTED = 256;

/** Statement texts given numbers at most (posts of others send their text). */
const MAX_NAMED = 4096;

/** Messages sent in one batch at most. */
const FLUSH_AT = 32;


export class WriterThread implements GroupWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private outbox: WriterMessage[] = [];
  private flushing = false;
  private nextId = 1;
  /** Units whose work is done here, waiting for the thread to commit them, by id. */
  private readonly uncommitted = new Map<number, { unit: Unit; value: unknown }>();
  private closing: (() => void) | undefined;
  /** Resolved when a commit notice arrives (run waits for one when too many units are uncommitted). */
  private caughtUp: (() => void) | undefined;
  /** Why the thread ended, once it has: every unit and statement from then on fails with it. */
  private gone: Error | undefined;
  /** The last `seq` and `rkey` given out (nextKey), read from the database at the first. */
  private keys: Record<'seq' | 'rkey', number> | undefined;
  /** What the unit running here has written: declared keys, and whether anything else. */
  private current: Written | undefined;
  private writingKeys: readonly string[] | undefined;
  /** What units sent but not yet committed wrote: keys (with how many units), and units with undeclared writes. */
  private readonly inFlight = new Map<string, number>();
  private undeclaredInFlight = 0;
  private readonly writtenBy = new Map<number, Written>();
  /** Numbers standing for statement texts posted before (the thread keeps the same list). */
  private readonly named = new Map<string, number>();
  readonly executor: SqlExecutor;

  /**
   * `committed`: a connection of this thread reading committed data (see committedReader).
   * `cache`: told of each unit's commit before the unit's caller is answered.
   */
  constructor(
    file: string,
    private readonly committed: SqliteExecutor,
    private readonly cache?: CommittedCache,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(BOOT, { eval: true, workerData: { file, port: port2, signal: this.signal, ...workerEntry() }, transferList: [port2] });
    // Kept alive only while units wait for their commit.
    this.worker.unref();
    this.worker.on('message', (notice: WriterNotice) => this.noticed(notice));
    this.worker.on('error', (error) => this.ended(error));
    this.worker.on('exit', (code) => this.ended(new Error(`The SQLite writer thread exited (code ${code})`)));
    const post = (sql: string, params?: SqlValue[], lostRace?: string) => {
      this.wrote();
      this.send(['post', this.statementName(sql), params, lostRace]);
    };
    this.executor = {
      query: (sql, params) => {
        if (!READ.test(sql)) this.wrote();
        return this.call(['query', this.nextId++, sql, params]) as Promise<never[]>;
      },
      execute: (sql, params) => {
        this.wrote();
        return this.call(['execute', this.nextId++, sql, params]) as Promise<number>;
      },
      post,
      soleWriter: {
        post,
        nextKey: (key) => this.nextKey(key),
        committedReader: (keys) => this.committedReader(keys),
        writing: (keys) => (this.writingKeys = keys),
      },
    };
  }

  /**
   * Reads that only writes of `keys` change need not wait for the thread when no such write is
   * in flight: the data committed is the data. Reads take no lock, and this process is the
   * database's only writer, so nothing else changes it meanwhile.
   */
  private committedReader(keys: readonly string[]): SqlExecutor | undefined {
    if (this.current?.undeclared || this.undeclaredInFlight > 0) return undefined;
    for (const key of keys) if (this.inFlight.has(key) || this.current?.keys.has(key)) return undefined;
    return this.committed;
  }

  private wrote(): void {
    if (!this.current) return;
    if (this.writingKeys === undefined) this.current.undeclared = true;
    else for (const key of this.writingKeys) this.current.keys.add(key);
  }

  /** A unit's writes are in flight from its end here until the thread reports its commit. */
  private inFlightFrom(id: number, written: Written): void {
    for (const key of written.keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    if (written.undeclared) this.undeclaredInFlight++;
    this.writtenBy.set(id, written);
  }

  private committedOf(id: number): void {
    const written = this.writtenBy.get(id);
    if (!written) return;
    this.writtenBy.delete(id);
    this.cache?.committed(written.undeclared ? undefined : written.keys);
    for (const key of written.keys) {
      const units = this.inFlight.get(key)! - 1;
      if (units === 0) this.inFlight.delete(key);
      else this.inFlight.set(key, units);
    }
    if (written.undeclared) this.undeclaredInFlight--;
  }

  /**
   * Sends each unit's statements as its work runs here. The thread decides where transactions
   * end: it commits whenever it has caught up with this thread between two units (or after 64),
   * so a busy writer commits large groups and an idle one answers at once.
   */
  async run(units: readonly Unit[]): Promise<void> {
    for (const unit of units) {
      // A writer that falls behind holds the next units back here rather than in its queue.
      while (this.uncommitted.size >= MAX_UNCOMMITTED && !this.gone) await new Promise<void>((resolve) => (this.caughtUp = resolve));
      const id = this.nextId++;
      this.send(['start', id, unit.small]);
      const written: Written = (this.current = { keys: new Set(), undeclared: false });
      this.writingKeys = undefined;
      let ok = true;
      let value: unknown;
      try {
        value = await unit.work(this.executor);
      } catch (error) {
        ok = false;
        value = error;
      }
      this.current = undefined;
      this.writingKeys = undefined;
      // A unit that failed here is rolled back: the data committed stays the data.
      if (ok) this.inFlightFrom(id, written);
      this.send(['end', id, ok]);
      // The thread gets on with this unit's posted rows while the next unit's work runs here.
      this.flush();
      if (!ok) unit.reject(value);
      else if (this.gone) unit.reject(this.gone);
      else {
        if (this.uncommitted.size === 0) this.worker.ref();
        this.uncommitted.set(id, { unit, value });
      }
    }
  }

  async close(): Promise<void> {
    if (Atomics.load(this.signal, THREAD_ENDED) === 0 && !this.gone) {
      const exited = new Promise((resolve) => this.worker.once('exit', resolve));
      this.worker.ref();
      await new Promise<void>((resolve) => {
        this.closing = resolve;
        this.send(['close', this.nextId++]);
        this.flush();
      });
      await exited;
    }
    this.port.close();
  }

  /**
   * The writer thread is the database's only writer, so it can number new rows ahead of inserting
   * them; a unit that rolls back leaves a gap. Every insert must take its number from here once
   * one has (the store's inserts do, when the executor is a SoleWriter).
   */
  private nextKey(key: 'seq' | 'rkey'): number {
    if (!this.keys) {
      // AUTOINCREMENT's high-water marks: never below any key ever used, deleted rows' included.
      // Read from committed data: until the first key is given, every insert that took a number
      // of its own (before serving) has committed.
      const rows = this.committed.all<{ name: string; seq: number }>(`SELECT name, seq FROM sqlite_sequence WHERE name IN ('resource_version', 'resource')`);
      const keys = { seq: 0, rkey: 0 };
      for (const row of rows) keys[row.name === 'resource' ? 'rkey' : 'seq'] = Number(row.seq);
      this.keys = keys;
    }
    return ++this.keys[key];
  }

  /** A number for a statement text posted often (index inserts: kilobytes of text each), sent once. */
  private statementName(sql: string): string | number {
    let name = this.named.get(sql);
    if (name === undefined) {
      if (this.named.size >= MAX_NAMED) return sql;
      name = this.named.size;
      this.named.set(sql, name);
      this.send(['name', name, sql]);
    }
    return name;
  }

  private send(message: WriterMessage): void {
    this.outbox.push(message);
    // A large unit (a Bundle) sends as it goes, so the thread writes while this one works on.
    if (this.outbox.length >= FLUSH_AT) this.flush();
    else if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private call(message: Extract<WriterMessage, ['query' | 'execute', ...unknown[]]>): Promise<unknown> {
    try {
      return Promise.resolve(this.callNow(message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends `message` and waits for its answer, blocking this thread: the statements a unit awaits
   * are short (a lookup, an update's insert), and a wait through the event loop cost ~70 µs.
   */
  private callNow(message: Extract<WriterMessage, ['query' | 'execute', ...unknown[]]>): unknown {
    this.outbox.push(message);
    this.flush();
    const id = message[1];
    for (;;) {
      const seen = Atomics.load(this.signal, TO_CALLER);
      const received = receiveMessageOnPort(this.port);
      if (received) {
        const reply = received.message as WriterReply;
        if (reply.id === THREAD_FAILED && 'error' in reply) this.gone ??= fromWire(reply.error);
        else if (reply.id !== id) continue;
        else if ('error' in reply) throw fromWire(reply.error);
        else return reply.value;
      }
      if (this.gone) throw this.gone;
      if (Atomics.load(this.signal, THREAD_ENDED) !== 0) throw (this.gone = new Error('The SQLite writer thread has ended'));
      Atomics.wait(this.signal, TO_CALLER, seen, 1000);
    }
  }

  private flush(): void {
    this.flushing = false;
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    this.outbox = [];
    this.port.postMessage(batch);
    Atomics.add(this.signal, TO_THREAD, 1);
    Atomics.notify(this.signal, TO_THREAD);
  }

  private noticed(notice: WriterNotice): void {
    if ('closed' in notice) {
      this.closing?.();
      return;
    }
    const failed = new Map(notice.failures.map(({ unit, error }) => [unit, fromWire(error)]));
    for (const id of notice.committed) {
      this.committedOf(id);
      const waiting = this.uncommitted.get(id);
      if (!waiting) continue;
      this.uncommitted.delete(id);
      const error = notice.error ? fromWire(notice.error) : failed.get(id);
      if (error) waiting.unit.reject(error);
      else waiting.unit.resolve(waiting.value);
    }
    if (this.uncommitted.size === 0) this.worker.unref();
    this.caughtUp?.();
    this.caughtUp = undefined;
  }

  /** The thread is gone: units waiting for their commit fail (awaited answers see the signal). */
  private ended(error: Error): void {
    this.gone ??= error;
    this.cache?.committed(undefined);
    this.caughtUp?.();
    for (const { unit } of this.uncommitted.values()) unit.reject(error);
    this.uncommitted.clear();
    this.closing?.();
  }
}
