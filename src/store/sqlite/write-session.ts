import { lostRaceError, type SqlValue } from '../sql/driver.js';
import type { SqliteExecutor } from './connection.js';
import { FULL_TEXT_TABLE, FullTextQueue } from './full-text-queue.js';

/** A unit of the group that succeeded as far as its caller saw, but whose posted write failed. */
export interface UnitFailure {
  unit: number;
  error: unknown;
}

/**
 * One group commit (see SqliteDatabase), step by step, on the writer's connection: the
 * transaction, a savepoint per unit, the units' statements and the commit. It runs where the
 * writer's connection is: on the writer thread for a database file, in the server's thread for
 * one in memory.
 *
 * Statements come in two kinds. Those the unit awaits (`query`, `execute`) throw to it, as
 * always. Those it posts without waiting (`post`: index rows) cannot: the first that fails is
 * kept, the unit's later statements are refused with it, and its end rolls it back to its
 * savepoint and reports it from `commit`.
 */
export class WriteSession {
  private journalsInMemory = false;
  /** Why the group's transaction could not start: every unit fails with it. */
  private groupError: unknown;
  /** The first error of the current unit's posted writes. */
  private unitError: unknown;
  private savepoint = false;
  private unit = -1;
  /** Units started in the current transaction (a failed first unit begins it again). */
  private unitsInTransaction = 0;
  private committable = false;
  private failures: UnitFailure[] = [];

  constructor(readonly executor: SqliteExecutor) {}

  /**
   * Starts the group's transaction. `inMemoryJournals`: savepoints and multi-row statements keep
   * a journal of the pages they change, by default spilling past 64 KiB to a temporary file
   * created, written and deleted for every group (~40% of a single create's time). In memory
   * single interactions write ~30% faster, but transactions of thousands of entries ran 4×
   * slower: only groups of small units keep their journals in memory.
   */
  begin(inMemoryJournals: boolean): void {
    this.groupError = undefined;
    this.unit = -1;
    this.committable = false;
    this.failures = [];
    try {
      if (inMemoryJournals !== this.journalsInMemory) {
        this.executor.connection.pragma(`temp_store = ${inMemoryJournals ? 'MEMORY' : 'DEFAULT'}`);
        this.journalsInMemory = inMemoryJournals;
      }
      this.beginTransaction();
    } catch (error) {
      this.groupError = error;
    }
  }

  private beginTransaction(): void {
    this.unitsInTransaction = 0;
    this.executor.exec('BEGIN IMMEDIATE');
    this.executor.fullText = new FullTextQueue(FULL_TEXT_TABLE);
  }

  /**
   * Starts the next unit: in a savepoint of its own, except the transaction's first. A savepoint
   * copies every page the unit changes to a journal first (a tenth of the writer's time in a bulk
   * load); the first unit needs none, as rolling back the whole transaction undoes only its work.
   */
  startUnit(): void {
    this.unit++;
    this.unitError = this.groupError;
    const savepoint = (this.savepoint = this.unitsInTransaction++ > 0);
    if (this.unitError === undefined && savepoint) this.guard(() => this.executor.exec('SAVEPOINT unit'));
  }

  query<Row>(sql: string, params?: SqlValue[]): Row[] {
    if (this.unitError !== undefined) throw this.unitError;
    try {
      return this.executor.all<Row>(sql, params);
    } catch (error) {
      this.unlessTransactionEnded(error);
      throw error;
    }
  }

  execute(sql: string, params?: SqlValue[]): number {
    if (this.unitError !== undefined) throw this.unitError;
    try {
      return this.executor.run(sql, params);
    } catch (error) {
      this.unlessTransactionEnded(error);
      throw error;
    }
  }

  post(sql: string, params?: SqlValue[], lostRace?: string): void {
    if (this.unitError !== undefined) return;
    this.guard(() => {
      if (this.executor.run(sql, params) === 0 && lostRace !== undefined) throw lostRaceError(lostRace);
    });
  }

  /** Ends the current unit: kept when its work succeeded (`ok`) and every posted write did, else undone. */
  endUnit(ok: boolean): void {
    if (ok && this.unitError === undefined) {
      if (this.savepoint) this.guard(() => this.executor.exec('RELEASE unit'));
      if (this.unitError === undefined) {
        this.committable = true;
        return;
      }
    }
    if (ok) this.failures.push({ unit: this.unit, error: this.unitError });
    if (this.groupError !== undefined || !this.executor.connection.inTransaction) return;
    if (this.savepoint) {
      this.executor.exec('ROLLBACK TO unit');
      this.executor.exec('RELEASE unit');
      return;
    }
    // The transaction's first unit: nothing else to keep, the units after it start afresh.
    this.executor.exec('ROLLBACK');
    try {
      this.beginTransaction();
    } catch (error) {
      this.groupError = error;
    }
  }

  /**
   * Commits the units kept (rolls back when none was). Throws when the commit failed: then no
   * unit was written. Returns the units that failed here although their work succeeded.
   */
  commit(): UnitFailure[] {
    try {
      if (this.groupError !== undefined) throw this.groupError;
      if (!this.executor.connection.inTransaction) throw new Error('SQLite ended the transaction early');
      if (this.committable) {
        this.executor.applyFullText();
        this.executor.exec('COMMIT');
      } else this.executor.exec('ROLLBACK');
    } catch (error) {
      if (this.executor.connection.inTransaction) this.executor.exec('ROLLBACK');
      throw error;
    } finally {
      this.executor.fullText = undefined;
    }
    return this.failures;
  }

  private guard(step: () => unknown): void {
    try {
      step();
    } catch (error) {
      this.unitError ??= error;
      this.unlessTransactionEnded(error);
    }
  }

  /**
   * After a failed statement: some errors (SQLITE_FULL, I/O errors, out of memory) make SQLite
   * roll back the whole transaction, earlier units' writes included. Then the group has failed:
   * every unit fails with the error, and none may run a statement (a SAVEPOINT would open a new
   * transaction that commits on its own).
   */
  private unlessTransactionEnded(error: unknown): void {
    if (this.groupError !== undefined || this.executor.connection.inTransaction) return;
    this.groupError = error;
    this.unitError ??= error;
  }
}
