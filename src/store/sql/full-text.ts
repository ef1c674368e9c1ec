import type { TextSearch } from '../../search/sql/text.js';
import type { SqlExecutor } from './driver.js';

/**
 * The full-text index of `_text` and `_content` (migration 4): each backend keeps it its own way
 * (SQLite FTS5, PostgreSQL tsvector with a GIN index) and searches it through `TextSearch`.
 * Rows hold a resource's words (search/values.ts textWords), space-separated.
 */
export interface FullTextRow {
  rkey: number | string;
  tenant: string;
  type: string;
  param: '_text' | '_content';
  words: string;
}

export interface FullTextIndex extends TextSearch {
  /** Statements creating the index's table(s). */
  readonly create: readonly string[];
  /** Writes rows; a resource's rows are removed first when it had any. */
  insert(sql: SqlExecutor, rows: readonly FullTextRow[]): Promise<void>;
  /** Removes every row of these resources. */
  remove(sql: SqlExecutor, rkeys: readonly (number | string)[]): Promise<void>;
}

/** Rows per INSERT, and keys per DELETE. */
export const FULL_TEXT_CHUNK = 100;

export function chunked<T>(items: readonly T[], size = FULL_TEXT_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function placeholders(n: number, each = '?'): string {
  return new Array(n).fill(each).join(', ');
}
