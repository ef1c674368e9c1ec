import { invalid } from '../../fhir/errors.js';
import type { DateValue, NumberValue, Prefix, QuantityValue, ReferenceValue, SearchValue, StringValue, TokenValue, UriValue } from '../parse.js';
import { and, inList, raw, type Sql, type SqlParam, sql } from './fragment.js';

/**
 * Conditions on one index row, per value type (FHIR R4 search.html §3.1.1.4). Column names are
 * passed in, so that the same rules serve the typed tables, the composite table and the resource
 * table's own columns (`_lastUpdated`).
 */

const c = raw;

/** Above every character a normalised string may hold: `[p, p + MAX)` is "starts with p". */
const MAX_CHAR = '\u{10FFFF}';

export function startsWith(column: string, prefix: string): Sql {
  return sql`${c(column)} >= ${prefix} AND ${c(column)} < ${prefix + MAX_CHAR}`;
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

export function contains(column: string, text: string): Sql {
  return sql`${c(column)} LIKE ${`%${likeEscape(text)}%`} ESCAPE '\\'`;
}

// ---- string -----------------------------------------------------------------------------------

export function stringCondition(value: StringValue, modifier: string | undefined, cols: { value?: string; norm: string }): Sql {
  if (modifier === 'exact') return sql`${c(cols.value ?? cols.norm)} = ${cols.value ? value.value : value.norm}`;
  if (modifier === 'contains') return contains(cols.norm, value.norm);
  return startsWith(cols.norm, value.norm);
}

// ---- token ------------------------------------------------------------------------------------

export interface TokenColumns {
  system: string;
  code: string;
  text?: string;
  typeSystem?: string;
  typeCode?: string;
}

/**
 * `systemImplied`: the parameter indexes `code` elements (gender, status, …), which carry no
 * system in the resource, their system being implied by the binding: a searched system then
 * also matches a code indexed without one.
 */
export function tokenCondition(value: TokenValue, cols: TokenColumns, systemImplied = false): Sql {
  if (value.text !== undefined) {
    if (!cols.text) return raw('1 = 0');
    return sql`(${startsWith(cols.text, value.text)} OR ${c(cols.text)} LIKE ${`% ${likeEscape(value.text)}%`} ESCAPE '\\')`;
  }
  const parts: Sql[] = [];
  if (value.code !== undefined) parts.push(sql`${c(cols.code)} = ${value.code}`);
  if (value.typeSystem !== undefined && cols.typeSystem && cols.typeCode) {
    parts.push(sql`${c(cols.typeSystem)} = ${value.typeSystem!} AND ${c(cols.typeCode)} = ${value.typeCode ?? null}`);
  }
  if (value.system === null) parts.push(sql`${c(cols.system)} IS NULL`);
  else if (value.system !== undefined) {
    parts.push(value.code !== undefined && systemImplied ? sql`(${c(cols.system)} = ${value.system} OR ${c(cols.system)} IS NULL)` : sql`${c(cols.system)} = ${value.system}`);
  }
  return and(parts);
}

// ---- reference --------------------------------------------------------------------------------

export interface ReferenceColumns {
  type: string;
  id: string;
  version?: string;
  url?: string;
  identifierSystem?: string;
  identifierValue?: string;
}

export function referenceCondition(value: ReferenceValue, cols: ReferenceColumns): Sql {
  if (value.identifier) {
    if (!cols.identifierValue || !cols.identifierSystem) return raw('1 = 0');
    const parts: Sql[] = [];
    if (value.identifier.value !== undefined) parts.push(sql`${c(cols.identifierValue)} = ${value.identifier.value}`);
    if (value.identifier.system === null) parts.push(sql`${c(cols.identifierSystem)} IS NULL`);
    else if (value.identifier.system !== undefined) parts.push(sql`${c(cols.identifierSystem)} = ${value.identifier.system}`);
    return and(parts);
  }
  if (value.url !== undefined) {
    const column = cols.url ?? cols.id;
    const match = sql`${c(column)} = ${value.url}`;
    return value.version && cols.version ? sql`${match} AND ${c(cols.version)} = ${value.version}` : match;
  }
  const parts = [sql`${c(cols.id)} = ${value.id ?? null}`];
  if (value.targetType) parts.push(sql`${c(cols.type)} = ${value.targetType}`);
  return and(parts);
}

// ---- date -------------------------------------------------------------------------------------

/**
 * Prefix comparisons between the search range [sl, sh] and the indexed range [low, high]
 * (docs/search.md, "Ranges"). `encode` turns epoch ms into the columns' representation.
 */
export function dateCondition(value: DateValue, cols: { low: string; high: string }, encode: (ms: number) => SqlParam = (ms) => ms, now = Date.now()): Sql {
  const low = c(cols.low);
  const high = c(cols.high);
  const sl = encode(value.low);
  const sh = encode(value.high);
  const within = sql`(${low} >= ${sl} AND ${high} <= ${sh})`;
  // Each prefix also states the bound its matches must have on low or high alone (low <= high),
  // which an index on (…, low) or (…, high) can seek to.
  switch (value.prefix) {
    case 'eq':
      return sql`(${low} >= ${sl} AND ${low} <= ${sh} AND ${high} <= ${sh})`;
    case 'ne':
      return sql`NOT ${within}`;
    case 'gt':
      return sql`${high} > ${sh}`;
    case 'lt':
      return sql`${low} < ${sl}`;
    case 'ge':
      return sql`(${high} >= ${sl} AND (${high} > ${sh} OR ${within}))`;
    case 'le':
      return sql`(${low} <= ${sh} AND (${low} < ${sl} OR ${within}))`;
    case 'sa':
      return sql`${low} > ${sh}`;
    case 'eb':
      return sql`${high} < ${sl}`;
    case 'ap': {
      // 10 % of the distance from now, at least the value's own precision.
      const gap = Math.max(Math.abs(now - value.low) * 0.1, value.high - value.low);
      return sql`(${low} <= ${encode(Math.round(value.high + gap))} AND ${high} >= ${encode(Math.round(value.low - gap))})`;
    }
  }
}

// ---- number and quantity ----------------------------------------------------------------------

/**
 * Numbers and quantities compare the searched value with an indexed [low, high]: a single value
 * is stored as low = high = value, a Range (or a quantity with a `<`/`>` comparator… see
 * store/sql/search-index.ts) as its bounds, open ends as ±1e308 — so every prefix is a plain
 * range condition the index can serve. `eq` uses the searched value's precision ([99.5, 100.5)
 * for `100`).
 */
export function numberCondition(value: NumberValue | QuantityValue, cols: { low: string; high: string }): Sql {
  const lo = c(cols.low);
  const hi = c(cols.high);
  const x = value.value;
  const eq = sql`(${lo} >= ${value.low} AND ${hi} < ${value.high})`;
  switch (value.prefix as Prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return sql`NOT ${eq}`;
    case 'gt':
      return sql`${hi} > ${x}`;
    case 'ge':
      return sql`${hi} >= ${x}`;
    case 'lt':
      return sql`${lo} < ${x}`;
    case 'le':
      return sql`${lo} <= ${x}`;
    case 'sa':
      return sql`${lo} > ${value.high}`;
    case 'eb':
      return sql`${hi} < ${value.low}`;
    case 'ap': {
      const gap = Math.max(Math.abs(x) * 0.1, value.high - value.low);
      return sql`(${lo} <= ${x + gap} AND ${hi} >= ${x - gap})`;
    }
  }
}

export function quantityCondition(value: QuantityValue, cols: { low: string; high: string; system: string; code: string; unit?: string }): Sql {
  const parts = [numberCondition(value, cols)];
  if (value.system !== undefined) parts.push(sql`${c(cols.system)} = ${value.system} AND ${c(cols.code)} = ${value.code ?? null}`);
  else if (value.code !== undefined) parts.push(cols.unit ? sql`(${c(cols.code)} = ${value.code} OR ${c(cols.unit)} = ${value.code})` : sql`${c(cols.code)} = ${value.code}`);
  return and(parts);
}

// ---- uri --------------------------------------------------------------------------------------

export function uriCondition(value: UriValue, modifier: string | undefined, column: string): Sql {
  if (modifier === 'below') {
    const base = value.value.replace(/\/+$/, '');
    return sql`(${c(column)} = ${base} OR ${startsWith(column, `${base}/`)})`;
  }
  if (modifier === 'above') {
    const prefixes: string[] = [];
    let current = value.value.replace(/\/+$/, '');
    while (current.length > 0 && !/^[a-z][a-z0-9+.-]*:\/*$/i.test(current)) {
      prefixes.push(current);
      const slash = current.lastIndexOf('/');
      if (slash < 0) break;
      current = current.slice(0, slash);
    }
    return inList(column, prefixes);
  }
  return sql`${c(column)} = ${value.value}`;
}

// ---- composite components ---------------------------------------------------------------------

/** Condition on component `k` of a row of search_composite (see store/sql/search-schema.ts). */
export function componentCondition(value: SearchValue, k: number, alias: string): Sql {
  const a = `${alias}.a${k}`;
  const b = `${alias}.b${k}`;
  const lo = `${alias}.lo${k}`;
  const hi = `${alias}.hi${k}`;
  switch (value.type) {
    case 'token':
      return tokenCondition(value, { system: a, code: b });
    case 'reference':
      return referenceCondition(value, { type: a, id: b });
    case 'string':
      return startsWith(b, value.norm);
    case 'uri':
      return sql`${c(b)} = ${value.value}`;
    case 'date':
      if (k === 0) break;
      return dateCondition(value, { low: lo, high: hi });
    case 'number':
      if (k === 0) break;
      return numberCondition(value, { low: lo, high: hi });
    case 'quantity':
      if (k === 0) break;
      return quantityCondition(value, { low: lo, high: hi, system: a, code: b });
  }
  throw invalid(`A ${value.type} cannot be the first component of a composite search`);
}

