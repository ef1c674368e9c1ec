/**
 * Value helpers shared by index extraction (resource → rows) and query parsing (URL → AST), so
 * that a value written and a value searched are normalised and ranged the same way.
 */

/** Open ends of date ranges (the limits of a JS Date), so SQL needs no NULL handling. */
export const DATE_MIN = -8_640_000_000_000_000;
export const DATE_MAX = 8_640_000_000_000_000;

/** An inclusive range in epoch milliseconds (UTC). */
export interface DateRange {
  low: number;
  high: number;
}

/** A number with the inclusive range implied by its precision (`5.4` → 5.35 … 5.45). */
export interface NumberRange {
  value: number;
  low: number;
  high: number;
}

const NON_ASCII = /[^\x00-\x7f]/;
const COMBINING_MARKS = /\p{M}/gu;

/** Lower-case, accents removed: the form string search compares (`Éric` → `eric`). */
export function normalizeText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase();
}

const NOT_WORD = /[^\p{L}\p{N}\p{Co}]+/u;

/**
 * The words of a text for `_text` and `_content`, as indexed and as searched: normalised, then
 * split on every character that is not a letter or a digit (the token characters of SQLite FTS5's
 * unicode61 tokenizer), so that both backends' full-text indexes see the same words.
 */
export function textWords(text: string): string[] {
  const words: string[] = [];
  forEachTextWord(text, (word) => words.push(word));
  return words;
}

/** Calls `take` with each word of `text`, in order, as `textWords` lists them. */
export function forEachTextWord(text: string, take: (word: string) => void): void {
  if (NON_ASCII.test(text)) {
    for (const word of normalizeText(text).split(NOT_WORD)) if (word) take(word);
    return;
  }
  // ASCII text (nearly all of it): the letters and digits of the lower-cased text, found by a scan
  // rather than a Unicode-aware split (a third of the cost of indexing a resource's full text).
  const lower = text.toLowerCase();
  let start = -1;
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 0;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      take(lower.slice(start, i));
      start = -1;
    }
  }
}

// FHIR date, dateTime and instant, plus the search forms (time without seconds, no zone).
const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * The range a date/dateTime/instant covers at its precision: `2020-03` is
 * 2020-03-01T00:00:00.000Z … 2020-03-31T23:59:59.999Z. Times without a zone are taken as UTC.
 * Returns undefined for text that is not a valid FHIR date.
 */
export function dateRange(text: string): DateRange | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const year = +m[1];
  if (m[2] === undefined) return { low: utc(year, 1, 1), high: utc(year + 1, 1, 1) - 1 };
  const month = +m[2];
  if (month < 1 || month > 12) return undefined;
  if (m[3] === undefined) {
    const low = utc(year, month, 1);
    return { low, high: utc(year, month, 1 + monthLength(year, month)) - 1 };
  }
  const day = +m[3];
  if (day < 1 || day > monthLength(year, month)) return undefined;
  if (m[4] === undefined) {
    const low = utc(year, month, day);
    return { low, high: low + 86_400_000 - 1 };
  }
  const hour = +m[4];
  const minute = +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const zh = +zone.slice(1, 3);
    const zm = +zone.slice(4, 6);
    if (zh > 14 || zm > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000;
  }
  let width: number;
  let ms = 0;
  if (m[6] === undefined) width = 60_000;
  else if (m[7] === undefined) width = 1000;
  else {
    const digits = m[7].slice(0, 3);
    ms = +digits.padEnd(3, '0');
    width = 10 ** (3 - digits.length);
  }
  const low = utc(year, month, day, hour, minute, second, ms) - offset;
  return { low, high: low + width - 1 };
}

function monthLength(year: number, month: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses decimal text and computes the range of its implicit precision: half a unit of the last
 * written digit either side (`100` → 99.5 … 100.5, `5.40` → 5.395 … 5.405, `1e2` → 50 … 150).
 */
export function decimalRange(text: string): NumberRange | undefined {
  const m = DECIMAL_PATTERN.exec(text);
  if (!m) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const decimals = (m[3]?.length ?? 0) - (m[4] ? Number(m[4]) : 0);
  return withHalfUnit(value, decimals);
}

/** Range of a number parsed from JSON (its written precision is what String() gives back). */
export function numberRange(value: number): NumberRange {
  const text = String(value);
  const r = text.includes('e') || text.includes('E') ? decimalRange(text) : undefined;
  if (r) return r;
  const dot = text.indexOf('.');
  return withHalfUnit(value, dot < 0 ? 0 : text.length - dot - 1);
}

function withHalfUnit(value: number, decimals: number): NumberRange {
  if (decimals === 0) return { value, low: value - 0.5, high: value + 0.5 };
  const half = 5 * 10 ** -(decimals + 1);
  if (decimals + 1 > 0 && decimals + 1 <= 100) {
    // toFixed removes binary noise (5.4 - 0.05 = 5.3500000000000005).
    return { value, low: Number((value - half).toFixed(decimals + 1)), high: Number((value + half).toFixed(decimals + 1)) };
  }
  return { value, low: value - half, high: value + half };
}

/** The exact range of an integer value (integers carry no implied imprecision). */
export function exactRange(value: number): NumberRange {
  return { value, low: value, high: value };
}

/** Splits on an unescaped separator (`\,` `\|` `\$` `\\` escapes, as in FHIR search values). */
export function splitEscaped(text: string, separator: string): string[] {
  return splitRaw(text, separator).map(unescapeValue);
}

/** Splits without unescaping (for a first split whose parts are split again). */
export function splitRaw(text: string, separator: string): string[] {
  if (!text.includes(separator)) return [text];
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function unescapeValue(text: string): string {
  return text.includes('\\') ? text.replace(/\\([\\,$|])/g, '$1') : text;
}

/** A reference split into what the index stores. */
export interface ParsedReference {
  type: string | null;
  id: string | null;
  version: string | null;
  /** Set for references that stay absolute (another server, `urn:uuid:`, canonical URLs). */
  url: string | null;
}

const RELATIVE_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const TRAILING_TYPE_ID = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/**
 * `Patient/1`, `Patient/1/_history/2`, or an absolute URL. An absolute URL under one of
 * `baseUrls` (this server) is made relative; other absolute URLs keep `url` and, when they end in
 * `Type/id`, also give the type (for `:Type` matching) but no local id. Contained (`#x`) → undefined.
 */
export function parseReference(text: string, baseUrls: readonly string[] = []): ParsedReference | undefined {
  if (text.length === 0 || text.startsWith('#')) return undefined;
  let m = RELATIVE_REFERENCE.exec(text);
  if (m) return { type: m[1], id: m[2], version: m[3] ?? null, url: null };
  for (const base of baseUrls) {
    if (text.length > base.length + 1 && text.startsWith(base) && text[base.length] === '/') {
      m = RELATIVE_REFERENCE.exec(text.slice(base.length + 1));
      if (m) return { type: m[1], id: m[2], version: m[3] ?? null, url: null };
    }
  }
  m = TRAILING_TYPE_ID.exec(text);
  const url = m?.[3] ? text.slice(0, text.lastIndexOf('/_history/')) : text;
  return { type: m?.[1] ?? null, id: null, version: m?.[3] ?? null, url };
}
