import { invalid } from '../fhir/errors.js';
import type { SearchParamDefinition, SearchParamType } from './parameters.js';
import { dateRange, decimalRange, normalizeText, parseReference, splitEscaped, splitRaw, unescapeValue } from './values.js';

/** Typed search values, one per comma-separated alternative of a parameter. */

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface StringValue {
  type: 'string';
  value: string;
  /** Normalised like indexed strings (lower-case, accents removed). */
  norm: string;
}

/**
 * `code` → system undefined (any); `|code` → system null (none); `sys|code`; `sys|` → code
 * undefined. With `:of-type`, typeSystem/typeCode come first (`type-sys|type-code|value`).
 * With `:text`, only `text` (normalised) is set.
 */
export interface TokenValue {
  type: 'token';
  system?: string | null;
  code?: string;
  text?: string;
  typeSystem?: string;
  typeCode?: string;
}

/** `Type/id`, a bare `id` (type from a `:Type` modifier if any), an absolute `url`, or `:identifier`. */
export interface ReferenceValue {
  type: 'reference';
  targetType?: string;
  id?: string;
  version?: string;
  url?: string;
  identifier?: { system?: string | null; value?: string };
}

/** The searched value's range at its precision, in epoch ms (inclusive). */
export interface DateValue {
  type: 'date';
  prefix: Prefix;
  raw: string;
  low: number;
  high: number;
}

export interface NumberValue {
  type: 'number';
  prefix: Prefix;
  raw: string;
  value: number;
  low: number;
  high: number;
}

/** `5.4|http://unitsofmeasure.org|mg`: system undefined = any; `5.4||mg` leaves system undefined too. */
export interface QuantityValue {
  type: 'quantity';
  prefix: Prefix;
  raw: string;
  value: number;
  low: number;
  high: number;
  system?: string;
  code?: string;
}

export interface UriValue {
  type: 'uri';
  value: string;
}

export interface CompositeValue {
  type: 'composite';
  components: SearchValue[];
}

export interface MissingValue {
  type: 'missing';
  missing: boolean;
}

export type SearchValue = StringValue | TokenValue | ReferenceValue | DateValue | NumberValue | QuantityValue | UriValue | CompositeValue | MissingValue;

export interface ValueContext {
  /** The parameter name as written (used in error messages). */
  name: string;
  modifier?: string;
  resourceTypes: ReadonlySet<string>;
  baseUrls: readonly string[];
}

const PREFIX = /^([a-z]{2})(.*)$/s;

const PREFIXES = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

function prefixed(raw: string, kind: string, def: Pick<SearchParamDefinition, 'comparators'>, ctx: ValueContext): [Prefix, string] {
  const m = PREFIX.exec(raw);
  if (!m) return ['eq', raw];
  if (!PREFIXES.has(m[1])) fail(kind, raw, ctx);
  if (!def.comparators.includes(m[1])) {
    throw invalid(`Prefix '${m[1]}' is not allowed for search parameter '${ctx.name}'`, [ctx.name]);
  }
  return [m[1] as Prefix, m[2]];
}

function fail(kind: string, raw: string, ctx: ValueContext, hint?: string): never {
  throw invalid(`Invalid ${kind} value '${raw}' for search parameter '${ctx.name}'${hint ? ` (${hint})` : ''}`, [ctx.name]);
}

/** Parses one (comma-free) value of a parameter of type `type`; `raw` is still escaped. */
export function parseValue(raw: string, type: SearchParamType, def: SearchParamDefinition, ctx: ValueContext): SearchValue {
  if (ctx.modifier === 'missing') {
    if (raw !== 'true' && raw !== 'false') fail(':missing', raw, ctx);
    return { type: 'missing', missing: raw === 'true' };
  }
  switch (type) {
    case 'string': {
      const value = unescapeValue(raw);
      return { type: 'string', value, norm: normalizeText(value) };
    }
    case 'token':
      return parseToken(raw, def, ctx);
    case 'reference':
      return parseReferenceValue(raw, def, ctx);
    case 'date': {
      const [prefix, text] = prefixed(raw, 'date', def, ctx);
      // a '+' zone offset arrives as a space when the client did not percent-encode it
      const range = dateRange(text) ?? (text.includes(' ') ? dateRange(text.replace(' ', '+')) : undefined);
      if (!range) fail('date', raw, ctx);
      return { type: 'date', prefix, raw, low: range.low, high: range.high };
    }
    case 'number': {
      const [prefix, text] = prefixed(raw, 'number', def, ctx);
      const range = decimalRange(text);
      if (!range) fail('number', raw, ctx);
      return { type: 'number', prefix, raw, ...range };
    }
    case 'quantity':
      return parseQuantity(raw, def, ctx);
    case 'uri':
      return { type: 'uri', value: unescapeValue(raw) };
    case 'composite':
      return parseComposite(raw, def, ctx);
    default:
      throw invalid(`Search parameter '${ctx.name}' of type '${type}' is not supported`, [ctx.name], 'not-supported');
  }
}

function parseToken(raw: string, def: SearchParamDefinition, ctx: ValueContext): TokenValue {
  if (ctx.modifier === 'text') return { type: 'token', text: normalizeText(unescapeValue(raw)) };
  if (def.special === 'id') {
    const code = unescapeValue(raw);
    return { type: 'token', code };
  }
  const parts = splitEscaped(raw, '|');
  if (ctx.modifier === 'of-type') {
    if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2]) fail(':of-type', raw, ctx, 'expected type-system|type-code|value');
    return { type: 'token', typeSystem: parts[0], typeCode: parts[1], code: parts[2] };
  }
  if (parts.length === 1) return { type: 'token', code: parts[0] };
  if (parts.length !== 2) fail('token', raw, ctx);
  const [system, code] = parts;
  if (!system && !code) fail('token', raw, ctx);
  const value: TokenValue = { type: 'token', system: system === '' ? null : system };
  if (code !== '') value.code = code;
  return value;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function parseReferenceValue(raw: string, def: SearchParamDefinition, ctx: ValueContext): ReferenceValue {
  if (ctx.modifier === 'identifier') {
    const parts = splitEscaped(raw, '|');
    if (parts.length === 1) return { type: 'reference', identifier: { value: parts[0] } };
    if (parts.length !== 2 || (!parts[0] && !parts[1])) fail('identifier', raw, ctx);
    const identifier: { system?: string | null; value?: string } = { system: parts[0] === '' ? null : parts[0] };
    if (parts[1]) identifier.value = parts[1];
    return { type: 'reference', identifier };
  }
  const text = unescapeValue(raw);
  const typeModifier = ctx.modifier && /^[A-Z]/.test(ctx.modifier) ? ctx.modifier : undefined;
  if (ID.test(text)) {
    return typeModifier ? { type: 'reference', targetType: typeModifier, id: text } : { type: 'reference', id: text };
  }
  const bar = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text.lastIndexOf('|') : -1;
  const parsed = parseReference(bar < 0 ? text : text.slice(0, bar), ctx.baseUrls);
  if (!parsed) fail('reference', raw, ctx);
  if (parsed.url === null) {
    if (!ctx.resourceTypes.has(parsed.type!)) fail('reference', raw, ctx);
    if (def.targets.length > 0 && !def.targets.includes(parsed.type!)) fail('reference', raw, ctx, `${parsed.type} is not a target of this parameter`);
    if (typeModifier && typeModifier !== parsed.type) fail('reference', raw, ctx, `not a ${typeModifier}`);
    const value: ReferenceValue = { type: 'reference', targetType: parsed.type!, id: parsed.id! };
    if (parsed.version) value.version = parsed.version;
    return value;
  }
  if (!/^[a-z][a-z0-9+.-]*:/i.test(parsed.url)) fail('reference', raw, ctx);
  const value: ReferenceValue = { type: 'reference', url: parsed.url };
  const version = bar < 0 ? parsed.version : text.slice(bar + 1);
  if (version) value.version = version;
  return value;
}

function parseQuantity(raw: string, def: SearchParamDefinition, ctx: ValueContext): QuantityValue {
  const [prefix, rest] = prefixed(raw, 'quantity', def, ctx);
  const parts = splitEscaped(rest, '|');
  if (parts.length !== 1 && parts.length !== 3) fail('quantity', raw, ctx);
  const range = decimalRange(parts[0]);
  if (!range) fail('quantity', raw, ctx);
  const value: QuantityValue = { type: 'quantity', prefix, raw, ...range };
  if (parts.length === 3) {
    if (parts[1]) value.system = parts[1];
    if (parts[2]) value.code = parts[2];
    else if (parts[1]) fail('quantity', raw, ctx, 'a system needs a code');
  }
  return value;
}

function parseComposite(raw: string, def: SearchParamDefinition, ctx: ValueContext): CompositeValue {
  const components = def.components ?? [];
  const parts = splitRaw(raw, '$');
  if (parts.length !== components.length) {
    fail('composite', raw, ctx, `expected ${components.length} parts separated by '$'`);
  }
  return {
    type: 'composite',
    components: parts.map((part, i) => {
      const c = components[i];
      const compDef: SearchParamDefinition = { ...def, code: c.code, type: c.type, comparators: ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'], components: undefined };
      return parseValue(part, c.type, compDef, { ...ctx, modifier: undefined });
    }),
  };
}
