import type { SearchValue } from '../parse.js';
import { textWords } from '../values.js';
import type { BuildContext, Clause } from './clauses.js';
import { raw, type Sql } from './fragment.js';

/**
 * `_text` and `_content` on a backend's full-text index (SQLite FTS5, PostgreSQL tsvector): every
 * word of a value starts a word of the text (case- and accent-insensitive), comma-separated values
 * are alternatives. The backend builds the SQL (store/sqlite/full-text.ts, store/postgres/full-text.ts).
 */

/** Alternatives (ORed), each a list of word prefixes (ANDed); words are as `textWords` gives them. */
export type TextQuery = readonly (readonly string[])[];

export interface TextSearch {
  /** The rkeys of the resources of the tenant, among `types` (all when undefined), whose `param` text matches. */
  set(ctx: BuildContext, param: string, query: TextQuery, types: readonly string[] | undefined): Sql;
  /** Whether resource `o` (a `resource` row alias) matches. */
  probe(ctx: BuildContext, o: string, param: string, query: TextQuery): Sql;
}

export function textQuery(values: readonly SearchValue[]): TextQuery {
  return values.map((v) => (v.type === 'string' ? textWords(v.value) : [])).filter((words) => words.length > 0);
}

/** A clause for `_text`/`_content`; a value without words (only punctuation) matches nothing. */
export function textClause(ctx: BuildContext, param: string, values: readonly SearchValue[], rank: number): Clause {
  const query = textQuery(values);
  if (query.length === 0) return { rank: 0, probe: () => raw('1 = 0'), set: () => raw('SELECT rkey FROM resource WHERE 1 = 0') };
  return { rank, probe: (o) => ctx.text.probe(ctx, o, param, query), set: (types) => ctx.text.set(ctx, param, query, types) };
}
