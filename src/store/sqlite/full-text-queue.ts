import type { SqlValue } from '../sql/driver.js';

/**
 * A write transaction's full-text writes, held back and applied together. FTS5 turns the terms
 * it holds in memory into a new index segment (and merges segments) at every savepoint, and group
 * commit opens one per unit of work: written through, every single create paid for a segment of
 * its own, about a fifth of its time. The queue applies its writes, in order, after the last
 * savepoint and before COMMIT, or earlier when a statement reads the full-text table, so reads in
 * the transaction still see every write before them. It follows the transaction's savepoints: a
 * rollback drops the writes queued since, and queues again those it undid.
 */

/** The FTS5 table of `_text` and `_content` (store/sqlite/full-text.ts). */
export const FULL_TEXT_TABLE = 'search_fulltext';

export interface QueuedStatement {
  sql: string;
  params: SqlValue[];
}

interface Mark {
  name: string;
  queued: number;
  applied: number;
}

const SAVEPOINT_STATEMENT = /^\s*(SAVEPOINT|RELEASE|ROLLBACK\s+TO)\s+(?:SAVEPOINT\s+)?(\w+)\s*;?\s*$/i;

export class FullTextQueue {
  private readonly statements: QueuedStatement[] = [];
  private applied = 0;
  private readonly marks: Mark[] = [];

  constructor(private readonly table: string) {}

  /** Whether `sql` writes the full-text table (to be queued). */
  writes(sql: string): boolean {
    return sql.startsWith(`INSERT INTO ${this.table} `) || sql.startsWith(`DELETE FROM ${this.table} `);
  }

  /** Whether `sql` reads or writes the full-text table otherwise (queued writes must be applied first). */
  touches(sql: string): boolean {
    return sql.includes(this.table);
  }

  queue(sql: string, params: SqlValue[]): void {
    this.statements.push({ sql, params });
  }

  /** Applies the writes not applied yet, in order. */
  apply(run: (statement: QueuedStatement) => void): void {
    while (this.applied < this.statements.length) run(this.statements[this.applied++]);
  }

  /** Follows a savepoint statement (SAVEPOINT, RELEASE, ROLLBACK TO) about to run; false for other statements. */
  follow(sql: string): boolean {
    const match = SAVEPOINT_STATEMENT.exec(sql);
    if (!match) return false;
    const verb = match[1].toUpperCase();
    const name = match[2];
    if (verb === 'SAVEPOINT') {
      this.marks.push({ name, queued: this.statements.length, applied: this.applied });
      return true;
    }
    const at = this.marks.map((m) => m.name).lastIndexOf(name);
    if (at < 0) return true;
    if (verb === 'RELEASE') this.marks.length = at;
    else {
      const mark = this.marks[at];
      this.statements.length = mark.queued;
      this.applied = mark.applied;
      this.marks.length = at + 1;
    }
    return true;
  }
}
