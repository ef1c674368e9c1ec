import type { Dialect } from '../sql/driver.js';
import { raw, sql } from '../../search/sql/fragment.js';
import { postgresFullText } from './full-text.js';

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const postgresDialect: Dialect = {
  name: 'postgres',
  autoKey: 'BIGSERIAL PRIMARY KEY',
  bigint: 'BIGINT',
  double: 'DOUBLE PRECISION',
  binaryText: 'TEXT COLLATE "C"',
  analyze: (tables) => `ANALYZE ${tables.join(', ')}`,
  // Rows a bulk load just inserted are not yet marked all-visible, so an index-only scan (a count
  // over 90,000 index rows, say) visits the table for each: 250 ms instead of 33 ms at 1M
  // resources, until autovacuum gets to the table.
  vacuum: (tables) => `VACUUM ${tables.join(', ')}`,
  advisoryLock: 'SELECT pg_advisory_xact_lock(hashtextextended(?, 0))',
  forUpdate: ' FOR UPDATE',
  jsonArray: 'json_build_array',
  fullText: postgresFullText,
  probeFence: ' OFFSET 0',
  listsChainTargets: false,
  listed: (column, list) => sql`${raw(column)} = ANY(ARRAY(${list}))`,
  insertMany: 'INSERT INTO',
  isUniqueViolation: (error) => sqlState(error) === '23505',
  // serialization_failure, deadlock_detected: PostgreSQL rolled the transaction back, and
  // running it again from the start may succeed.
  isRetryable: (error) => {
    const code = sqlState(error);
    return code === '40001' || code === '40P01';
  },
};

const positional = new Map<string, string>();
const positionalCacheLimit = 2000;

/**
 * Rewrites the shared SQL's `?` placeholders to PostgreSQL's `$1..$n`, once per SQL text.
 *
 * The rule for SQL written for the shared store: `?` is only ever a placeholder. A `?` inside a
 * '…' string literal, a "…" quoted identifier or a -- comment is left alone, but the jsonb
 * operators `?`, `?|` and `?&` must not be used (write jsonb_exists(), jsonb_exists_any() …
 * instead), and dollar-quoted strings are not understood.
 */
export function toPositional(sql: string): string {
  let rewritten = positional.get(sql);
  if (rewritten === undefined) {
    rewritten = rewritePlaceholders(sql);
    // The shared SQL is a small, fixed set of texts; the bound only guards against a caller
    // that builds SQL with values inlined.
    if (positional.size >= positionalCacheLimit) positional.clear();
    positional.set(sql, rewritten);
  }
  return rewritten;
}

function rewritePlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      // Copy the quoted run; a doubled quote inside it is an escaped quote and stays inside.
      let end = i + 1;
      while (end < sql.length && !(sql[end] === c && sql[end + 1] !== c)) end += sql[end] === c ? 2 : 1;
      out += sql.slice(i, end + 1);
      i = end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
