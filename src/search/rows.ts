import type { Resource } from '../fhir/types.js';
import type { PathNode } from './path.js';
import { referencedType } from './path.js';
import { DATE_MAX, DATE_MIN, type NumberRange, dateRange, exactRange, normalizeText, numberRange, parseReference } from './values.js';

/**
 * Index rows: one array per index table, every row keyed by its parameter code. The store adds
 * the resource key. Nullable columns are `null` (never undefined) so rows bind straight to SQL.
 * Layout and intended queries: docs/search.md.
 */

export interface StringRow {
  param: string;
  /** As written in the resource. */
  value: string;
  /** Lower-case, accents removed (what `name=eric` compares against with starts-with). */
  norm: string;
}

export interface TokenRow {
  param: string;
  system: string | null;
  code: string | null;
  /** Normalised Coding.display / CodeableConcept.text / Identifier.type.text, for `:text`. */
  text: string | null;
  /** Identifier.type coding, for `:of-type`. */
  typeSystem: string | null;
  typeCode: string | null;
}

export interface ReferenceRow {
  param: string;
  targetType: string | null;
  /** Local id; null for references to other servers, canonicals and identifier-only references. */
  targetId: string | null;
  targetVersion: string | null;
  /** Absolute URL kept as is (another server, `urn:uuid:`, canonical without `|version`). */
  url: string | null;
  identifierSystem: string | null;
  identifierValue: string | null;
}

/** An inclusive [low, high] range in epoch ms; open ends are DATE_MIN / DATE_MAX. */
export interface DateRow {
  param: string;
  low: number;
  high: number;
}

export interface NumberRow {
  param: string;
  value: number;
  low: number;
  high: number;
}

/** `value` is null for a Range (only low/high); low/high null means unbounded. */
export interface QuantityRow {
  param: string;
  value: number | null;
  low: number | null;
  high: number | null;
  system: string | null;
  code: string | null;
  unit: string | null;
}

export interface UriRow {
  param: string;
  value: string;
}

export type CompositeComponentRows =
  | { type: 'string'; rows: StringRow[] }
  | { type: 'token'; rows: TokenRow[] }
  | { type: 'reference'; rows: ReferenceRow[] }
  | { type: 'date'; rows: DateRow[] }
  | { type: 'number'; rows: NumberRow[] }
  | { type: 'quantity'; rows: QuantityRow[] }
  | { type: 'uri'; rows: UriRow[] };

/** One focus element of a composite (e.g. one Observation.component) with each component's values. */
export interface CompositeRow {
  param: string;
  components: CompositeComponentRows[];
}

/** Full-text content for `_text` (narrative) and `_content` (all text): its words (values.ts textWords), space-separated. */
export interface TextRow {
  param: '_text' | '_content';
  value: string;
}

export interface IndexRows {
  string: StringRow[];
  token: TokenRow[];
  reference: ReferenceRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
  composite: CompositeRow[];
  text: TextRow[];
}

export function emptyRows(): IndexRows {
  return { string: [], token: [], reference: [], date: [], number: [], quantity: [], uri: [], composite: [], text: [] };
}

export interface RowContext {
  resource: Resource;
  baseUrls: readonly string[];
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

// ---- string -----------------------------------------------------------------------------------

const STRING_PARTS: Record<string, readonly string[]> = {
  HumanName: ['text', 'family', 'given', 'prefix', 'suffix'],
  Address: ['text', 'line', 'city', 'district', 'state', 'postalCode', 'country'],
  CodeableConcept: ['text'],
  Coding: ['display'],
  ContactPoint: ['value'],
  Identifier: ['value'],
  Reference: ['display'],
  Annotation: ['text'],
  Attachment: ['title'],
  Quantity: ['unit'],
};

export function stringRows(param: string, node: PathNode, out: StringRow[]): void {
  if (typeof node.value === 'string') {
    out.push({ param, value: node.value, norm: normalizeText(node.value) });
    return;
  }
  const parts = STRING_PARTS[node.type];
  if (!parts || typeof node.value !== 'object' || node.value === null) return;
  for (const key of parts) {
    for (const v of arr((node.value as Obj)[key])) {
      if (typeof v === 'string' && v.length > 0) out.push({ param, value: v, norm: normalizeText(v) });
    }
  }
  if (node.type === 'CodeableConcept') {
    for (const coding of arr((node.value as Obj).coding)) {
      const display = str((coding as Obj)?.display);
      if (display) out.push({ param, value: display, norm: normalizeText(display) });
    }
  }
}

// ---- token ------------------------------------------------------------------------------------

function token(param: string, system: string | null, code: string | null, text: string | null = null): TokenRow {
  return { param, system, code, text, typeSystem: null, typeCode: null };
}

export function tokenRows(param: string, node: PathNode, out: TokenRow[]): void {
  const v = node.value;
  if (typeof v === 'string') {
    out.push(token(param, null, v));
    return;
  }
  if (typeof v === 'boolean' || typeof v === 'number') {
    out.push(token(param, null, String(v)));
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Obj;
  switch (node.type) {
    case 'Coding':
      codingRow(param, o, out);
      return;
    case 'CodeableConcept': {
      const first = out.length;
      for (const coding of arr(o.coding)) if (coding && typeof coding === 'object') codingRow(param, coding as Obj, out);
      const text = str(o.text);
      if (!text) return;
      // A row of its own only for a text no coding's display already reads (`:text` matches either).
      const norm = normalizeText(text);
      for (let i = first; i < out.length; i++) if (out[i].text === norm) return;
      out.push(token(param, null, null, norm));
      return;
    }
    case 'Identifier': {
      const type = o.type as Obj | undefined;
      const typeText = str(type?.text);
      const base = token(param, str(o.system), str(o.value), typeText ? normalizeText(typeText) : null);
      const typeCodings = arr(type?.coding) as Obj[];
      if (typeCodings.length === 0) out.push(base);
      for (const c of typeCodings) out.push({ ...base, typeSystem: str(c?.system), typeCode: str(c?.code) });
      return;
    }
    case 'ContactPoint':
      // ContactPoint.system (phone, email, …) is not a URI, but matching `email|a@b` is useful.
      if (str(o.value)) out.push(token(param, str(o.system), str(o.value)));
      return;
    default:
      if (node.type === 'Quantity' || node.type === 'Age' || node.type === 'Duration') {
        if (str(o.code)) out.push(token(param, str(o.system), str(o.code)));
      }
  }
}

function codingRow(param: string, coding: Obj, out: TokenRow[]): void {
  const display = str(coding.display);
  const system = str(coding.system);
  const code = str(coding.code);
  if (system || code || display) out.push(token(param, system, code, display ? normalizeText(display) : null));
}

// ---- reference --------------------------------------------------------------------------------

export function referenceRows(param: string, node: PathNode, ctx: RowContext, out: ReferenceRow[]): void {
  const v = node.value;
  if (typeof v === 'string') {
    // canonical / uri elements searched as references
    const bar = v.indexOf('|');
    const url = bar < 0 ? v : v.slice(0, bar);
    const parsed = parseReference(url, ctx.baseUrls);
    if (!parsed) return;
    out.push({ param, targetType: parsed.type, targetId: parsed.id, targetVersion: bar < 0 ? null : v.slice(bar + 1), url: parsed.url, identifierSystem: null, identifierValue: null });
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Obj;
  if (node.type !== 'Reference') {
    // a resource in place of a reference (Bundle.entry[0].resource)
    const id = str(o.id);
    if (typeof o.resourceType === 'string' && id) out.push({ param, targetType: o.resourceType, targetId: id, targetVersion: null, url: null, identifierSystem: null, identifierValue: null });
    return;
  }
  const identifier = o.identifier as Obj | undefined;
  const identifierSystem = str(identifier?.system);
  const identifierValue = str(identifier?.value);
  const text = str(o.reference);
  const parsed = text ? parseReference(text, ctx.baseUrls) : undefined;
  if (!parsed && !identifierValue) return;
  out.push({
    param,
    targetType: referencedType(o, ctx.resource) ?? null,
    targetId: parsed?.id ?? null,
    targetVersion: parsed?.version ?? null,
    url: parsed?.url ?? null,
    identifierSystem,
    identifierValue,
  });
}

// ---- date -------------------------------------------------------------------------------------

export function dateRows(param: string, node: PathNode, out: DateRow[]): void {
  const v = node.value;
  if (typeof v === 'string') {
    const r = dateRange(v);
    if (r) out.push({ param, low: r.low, high: r.high });
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Obj;
  if (node.type === 'Period') {
    const start = typeof o.start === 'string' ? dateRange(o.start) : undefined;
    const end = typeof o.end === 'string' ? dateRange(o.end) : undefined;
    if (start || end) out.push({ param, low: start?.low ?? DATE_MIN, high: end?.high ?? DATE_MAX });
  } else if (node.type === 'Timing') {
    // Only the outer limits of a schedule are searchable: its events and bounds.
    let low = Infinity;
    let high = -Infinity;
    const widen = (text: unknown, open: 'low' | 'high' | null) => {
      const r = typeof text === 'string' ? dateRange(text) : undefined;
      if (r) {
        low = Math.min(low, r.low);
        high = Math.max(high, r.high);
      } else if (open === 'low') low = DATE_MIN;
      else if (open === 'high') high = DATE_MAX;
    };
    for (const event of arr(o.event)) widen(event, null);
    const bounds = (o.repeat as Obj | undefined)?.boundsPeriod as Obj | undefined;
    if (bounds) {
      widen(bounds.start, 'low');
      widen(bounds.end, 'high');
    }
    if (low <= high) out.push({ param, low, high });
  }
}

// ---- number and quantity ----------------------------------------------------------------------

const INTEGER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt']);
const QUANTITY_TYPES = new Set(['Quantity', 'Age', 'Duration', 'Count', 'Distance', 'SimpleQuantity', 'MoneyQuantity']);

function rangeOf(value: number, type: string): NumberRange {
  return INTEGER_TYPES.has(type) ? exactRange(value) : numberRange(value);
}

export function numberRows(param: string, node: PathNode, out: NumberRow[]): void {
  const v = node.value;
  const n = typeof v === 'number' ? v : typeof (v as Obj | null)?.value === 'number' ? ((v as Obj).value as number) : undefined;
  if (n === undefined || !Number.isFinite(n)) return;
  const r = rangeOf(n, node.type);
  out.push({ param, value: r.value, low: r.low, high: r.high });
}

export function quantityRows(param: string, node: PathNode, out: QuantityRow[]): void {
  const v = node.value;
  if (typeof v === 'number') {
    const r = rangeOf(v, node.type);
    out.push({ param, value: v, low: r.low, high: r.high, system: null, code: null, unit: null });
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Obj;
  if (QUANTITY_TYPES.has(node.type) || node.type === 'Money') {
    if (typeof o.value !== 'number') return;
    const r = numberRange(o.value);
    let low: number | null = r.low;
    let high: number | null = r.high;
    if (o.comparator === '<' || o.comparator === '<=') low = null;
    else if (o.comparator === '>' || o.comparator === '>=') high = null;
    const money = node.type === 'Money';
    out.push({
      param,
      value: o.value,
      low,
      high,
      system: money ? (str(o.currency) ? 'urn:iso:std:iso:4217' : null) : str(o.system),
      code: money ? str(o.currency) : str(o.code),
      unit: money ? str(o.currency) : (str(o.unit) ?? str(o.code)),
    });
  } else if (node.type === 'Range') {
    const lowQ = o.low as Obj | undefined;
    const highQ = o.high as Obj | undefined;
    const lowV = typeof lowQ?.value === 'number' ? numberRange(lowQ.value).low : null;
    const highV = typeof highQ?.value === 'number' ? numberRange(highQ.value).high : null;
    if (lowV === null && highV === null) return;
    const unitQ = lowQ ?? highQ ?? {};
    out.push({ param, value: null, low: lowV, high: highV, system: str(unitQ.system), code: str(unitQ.code), unit: str(unitQ.unit) ?? str(unitQ.code) });
  }
}

// ---- uri --------------------------------------------------------------------------------------

export function uriRows(param: string, node: PathNode, out: UriRow[]): void {
  if (typeof node.value === 'string' && node.value.length > 0) out.push({ param, value: node.value });
}
