import { invalid } from '../fhir/errors.js';
import type { SearchParamDefinition, SearchParamRegistry } from './parameters.js';

/** Parameters that shape the result rather than select resources (`_sort`, `_count`, `_include`, …). */

export interface SortKey {
  code: string;
  param: SearchParamDefinition;
  descending: boolean;
}

export interface IncludeSpec {
  /** `_include`: the type holding the reference; `_revinclude`: the referring type. `*` for `_include=*`. */
  sourceType: string;
  /** Reference parameter code, or `*` for all of them. */
  code: string;
  /** Absent for `*`. */
  param?: SearchParamDefinition;
  /** Restricts the referenced type (`Observation:subject:Patient`). */
  targetType?: string;
  iterate: boolean;
}

export interface ResultParameters {
  sort: SortKey[];
  count?: number;
  offset?: number;
  total?: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'false' | 'text' | 'data' | 'count';
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
}

export const RESULT_PARAMETERS = new Set(['_sort', '_count', '_offset', '_total', '_summary', '_elements', '_include', '_revinclude']);

export interface ResultContext {
  registry: SearchParamRegistry;
  params: ReadonlyMap<string, SearchParamDefinition>;
  resourceType?: string;
  types: string[];
  unknown: { name: string; reason: string }[];
}

const TOTALS = ['none', 'estimate', 'accurate'] as const;
const SUMMARIES = ['true', 'false', 'text', 'data', 'count'] as const;
const ELEMENT = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

function nonNegativeInteger(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw invalid(`Invalid value '${value}' for search parameter '${name}' (expected a non-negative integer)`, [name]);
  return Number(value);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(`Invalid value '${value}' for search parameter '${name}' (expected one of ${allowed.join(', ')})`, [name]);
  }
  return value as T;
}

export function parseResultParameter(name: string, value: string, out: ResultParameters, ctx: ResultContext): void {
  const [base, modifier, ...extra] = name.split(':');
  if ((modifier !== undefined && base !== '_include' && base !== '_revinclude') || extra.length) {
    throw invalid(`Unknown modifier in '${name}'`, [name]);
  }
  switch (base) {
    case '_count':
      out.count = nonNegativeInteger(name, value);
      return;
    case '_offset':
      out.offset = nonNegativeInteger(name, value);
      return;
    case '_total':
      out.total = oneOf(name, value, TOTALS);
      return;
    case '_summary':
      out.summary = oneOf(name, value, SUMMARIES);
      return;
    case '_elements': {
      const elements = value.split(',').map((e) => e.trim()).filter(Boolean);
      const bad = elements.find((e) => !ELEMENT.test(e));
      if (bad !== undefined) throw invalid(`Invalid element '${bad}' in search parameter '_elements'`, [name]);
      out.elements = [...(out.elements ?? []), ...elements];
      return;
    }
    case '_sort':
      parseSort(name, value, out, ctx);
      return;
    case '_include':
    case '_revinclude': {
      if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') throw invalid(`Unknown modifier ':${modifier}' on '${base}'`, [name]);
      const spec = parseInclude(name, value, modifier !== undefined, ctx);
      if (spec) (base === '_include' ? out.include : out.revinclude).push(spec);
      return;
    }
  }
}

function parseSort(name: string, value: string, out: ResultParameters, ctx: ResultContext): void {
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const descending = item.startsWith('-');
    const code = descending ? item.slice(1) : item;
    const param = ctx.params.get(code);
    if (!param) {
      ctx.unknown.push({ name: `_sort=${item}`, reason: `Unknown sort parameter '${code}'` });
    } else if (param.special === 'text' || param.special === 'content') {
      // A client asking for a relevance order would silently get rkey order: refuse it instead.
      throw invalid(`Sorting by '${code}' is not supported (the full-text index keeps no ranking)`, ['_sort'], 'not-supported');
    } else if (param.type === 'composite' || param.type === 'special' || param.special === 'unsupported') {
      ctx.unknown.push({ name: `_sort=${item}`, reason: `Sorting by '${code}' is not supported` });
    } else out.sort.push({ code, param, descending });
  }
}

function parseInclude(name: string, value: string, iterate: boolean, ctx: ResultContext): IncludeSpec | undefined {
  if (value === '*') return { sourceType: '*', code: '*', iterate };
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw invalid(`Invalid value '${value}' for '${name}' (expected Type:parameter[:targetType])`, [name]);
  }
  const [sourceType, code, targetType] = parts;
  if (!ctx.registry.isResourceType(sourceType)) throw invalid(`Unknown resource type '${sourceType}' in '${name}=${value}'`, [name]);
  if (targetType !== undefined && !ctx.registry.isResourceType(targetType)) {
    throw invalid(`Unknown resource type '${targetType}' in '${name}=${value}'`, [name]);
  }
  if (name.startsWith('_include') && !iterate && ctx.resourceType && sourceType !== ctx.resourceType) {
    ctx.unknown.push({ name: `${name}=${value}`, reason: `_include must start from ${ctx.resourceType} (use _include:iterate for other types)` });
    return undefined;
  }
  const spec: IncludeSpec = { sourceType, code, iterate };
  if (targetType) spec.targetType = targetType;
  if (code === '*') return spec;
  const param = ctx.registry.paramsFor(sourceType).get(code);
  if (!param || param.type !== 'reference') {
    ctx.unknown.push({ name: `${name}=${value}`, reason: `'${code}' is not a reference search parameter of ${sourceType}` });
    return undefined;
  }
  if (targetType && param.targets.length > 0 && !param.targets.includes(targetType)) {
    throw invalid(`${sourceType}.${code} cannot refer to ${targetType} (in '${name}=${value}')`, [name]);
  }
  spec.param = param;
  return spec;
}
