import type { SqlExecutor } from '../sql/driver.js';
import type { SqliteExecutor } from './connection.js';
import { WriteSession } from './write-session.js';

/** A unit of work waiting for the writer (SqlDatabase.transaction). */
export interface Unit {
  work: (tx: SqlExecutor) => Promise<unknown>;
  /** A single interaction (small journals: WriteSession.begin). */
  small: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs units of work on the writer connection, wherever that connection is: in this thread
 * (LocalWriter), or on the writer thread (writer-thread.ts). Units run one after another, in a
 * transaction shared with others (group commit), each in a savepoint of its own when there are
 * several; each is answered once the transaction that holds it has committed.
 */
export interface GroupWriter {
  /** The executor given to the units' work. */
  readonly executor: SqlExecutor;
  /** Runs the units' work; resolves when the next units may run (not necessarily committed). */
  run(units: readonly Unit[], serving: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Settles units from their outcomes: those that succeeded only if their commit did. */
export function settle(units: readonly Unit[], outcomes: readonly { ok: boolean; value: unknown }[], commitError?: { error: unknown }): void {
  units.forEach((unit, index) => {
    const outcome = outcomes[index];
    if (!outcome.ok) unit.reject(outcome.value);
    else if (commitError) unit.reject(commitError.error);
    else unit.resolve(outcome.value);
  });
}

/**
 * The writer connection in this thread (a database in memory, or before serving starts): the
 * units that arrived together form the group, committed after the last of them.
 */
export class LocalWriter implements GroupWriter {
  private readonly session: WriteSession;
  readonly executor: SqlExecutor;

  constructor(readonly connection: SqliteExecutor) {
    const session = (this.session = new WriteSession(connection));
    this.executor = {
      query: async (sql, params) => session.query(sql, params),
      execute: async (sql, params) => session.execute(sql, params),
      post: (sql, params, lostRace) => session.post(sql, params, lostRace),
    };
  }

  async run(units: readonly Unit[], serving: boolean): Promise<void> {
    // Migrations (large index builds) never keep their journals in memory.
    this.session.begin(serving && units.every((unit) => unit.small));
    const outcomes: { ok: boolean; value: unknown }[] = [];
    for (const unit of units) {
      this.session.startUnit();
      try {
        outcomes.push({ ok: true, value: await unit.work(this.executor) });
      } catch (error) {
        outcomes.push({ ok: false, value: error });
      }
      this.session.endUnit(outcomes[outcomes.length - 1].ok);
    }
    try {
      for (const failure of this.session.commit()) outcomes[failure.unit] = { ok: false, value: failure.error };
    } catch (error) {
      settle(units, outcomes, { error });
      return;
    }
    settle(units, outcomes);
  }

  async close(): Promise<void> {
    this.connection.connection.close();
  }
}
