import { raw, sql, type Sql } from '../../search/sql/fragment.js';
import type { TextQuery } from '../../search/sql/text.js';
import { typeCondition } from '../../search/sql/clauses.js';
import { write, type SqlValue } from '../sql/driver.js';
import { FULL_TEXT_TABLE } from './full-text-queue.js';
import type { FullTextIndex } from '../sql/full-text.js';

/**
 * `_text`/`_content` in an FTS5 table without content of its own (the words are only indexed):
 * a resource's `_text` row is rowid 2·rkey, its `_content` row 2·rkey + 1, so that the rows of a
 * resource are found, and removed, by rowid. No positions (`detail=none`): only word prefixes are
 * searched; prefix indexes make short prefixes cheap.
 */

const TABLE = FULL_TEXT_TABLE;
const INSERT_ROW = `INSERT INTO ${TABLE} (rowid, words) VALUES (?, ?)`;
const DELETE_ROW = `DELETE FROM ${TABLE} WHERE rowid = ?`;

function rowid(rkey: number, param: string): number {
  return rkey * 2 + (param === '_content' ? 1 : 0);
}

/** FTS5 query syntax: `("w1"* "w2"*) OR ("w3"*)`. */
function match(query: TextQuery): string {
  return query.map((words) => `(${words.map((w) => `"${w.replaceAll('"', '""')}"*`).join(' ')})`).join(' OR ');
}

export const sqliteFullText: FullTextIndex = {
  create: [`CREATE VIRTUAL TABLE ${TABLE} USING fts5(words, content='', contentless_delete=1, detail='none', prefix='2 3')`],

  // One row per statement: a statement writing several rows of an FTS5 table opens a statement
  // savepoint, and FTS5 turns the terms it holds into a new index segment at every savepoint. Row
  // by row, a transaction's terms stay in memory until its commit writes them as one segment (a
  // bulk load's full-text writes took 3x as long in multi-row statements).
  async insert(executor, rows) {
    for (const row of rows) await write(executor, INSERT_ROW, [rowid(Number(row.rkey), row.param), row.words]);
  },

  async remove(executor, rkeys) {
    for (const rkey of rkeys) {
      await write(executor, DELETE_ROW, [Number(rkey) * 2]);
      await write(executor, DELETE_ROW, [Number(rkey) * 2 + 1]);
    }
  },

  // The index knows no tenant or type: matches are joined to `resource` (by rowid) for those.
  set(ctx, param, query, types): Sql {
    const f = ctx.alias();
    const r = ctx.alias();
    return sql`SELECT ${raw(r)}.rkey FROM ${raw(TABLE)} ${raw(f)} JOIN resource ${raw(r)} ON ${raw(r)}.rkey = ${raw(f)}.rowid / 2
      WHERE ${raw(`${f}.${TABLE}`)} MATCH ${match(query)} AND ${raw(f)}.rowid % 2 = ${param === '_content' ? 1 : 0}
      AND ${raw(r)}.tenant = ${ctx.tenant} AND ${typeCondition(`${r}.type`, types)}`;
  },

  probe(ctx, o, param, query): Sql {
    return sql`${raw(o)}.rkey * 2 + ${param === '_content' ? 1 : 0} IN (SELECT rowid FROM ${raw(TABLE)} WHERE ${raw(TABLE)} MATCH ${match(query)})`;
  },
};
