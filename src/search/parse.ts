import { invalid } from '../fhir/errors.js';
import { defaultRegistry, type SearchParamDefinition, type SearchParamRegistry } from './parameters.js';
import { type SearchValue, parseValue } from './parse-values.js';
import { parseResultParameter, type ResultParameters, RESULT_PARAMETERS } from './parse-results.js';
import { splitRaw } from './values.js';
import type { AccessLimit } from './sql/access.js';

export type * from './parse-values.js';
export type { IncludeSpec, ResultParameters, SortKey } from './parse-results.js';

/**
 * Query parsing: URL parameters → a typed search AST (http://hl7.org/fhir/R4/search.html).
 * Repeated parameters are ANDed (one clause each), comma-separated values ORed. Malformed values
 * throw FhirError `invalid` (400) naming the parameter; unknown parameters are collected in
 * `unknown` (the caller ignores and reports them, or `strict` makes them a 400).
 */

/** A parameter applied to the resource itself. */
export interface ParamFilter {
  kind: 'param';
  resourceType: string;
  param: SearchParamDefinition;
  modifier?: string;
  /** ORed alternatives. */
  values: SearchValue[];
}

/** `subject:Patient.name=x`: resources whose `param` points at a target matching `filter`. */
export interface ChainFilter {
  kind: 'chain';
  resourceType: string;
  param: SearchParamDefinition;
  /** One entry per candidate target type that has the next parameter (ORed). */
  targets: { targetType: string; filter: SearchFilter }[];
}

/** `_has:Observation:patient:code=x`: resources referenced by a `sourceType` through `referenceParam` that matches `filter`. */
export interface HasFilter {
  kind: 'has';
  resourceType: string;
  sourceType: string;
  referenceParam: SearchParamDefinition;
  filter: SearchFilter;
}

/**
 * Never parsed from a URL: authorization wraps the part of a chain or `_has` that looks into
 * another type in one, so that it only considers the resources of that type the caller may see.
 */
export interface LimitedFilter {
  kind: 'limited';
  resourceType: string;
  filter: SearchFilter;
  limit: AccessLimit;
}

export type SearchFilter = ParamFilter | ChainFilter | HasFilter | LimitedFilter;

export interface SearchClause {
  /** The parameter name as written, modifiers and chain included. */
  name: string;
  filter: SearchFilter;
}

export interface UnknownParameter {
  name: string;
  reason: string;
}

export interface ParsedSearch extends ResultParameters {
  /** Absent for a system-level search. */
  resourceType?: string;
  /** Types searched: [resourceType], or `_type` at system level (empty = all). */
  types: string[];
  /** ANDed. */
  clauses: SearchClause[];
  unknown: UnknownParameter[];
}

export interface ParseOptions {
  registry?: SearchParamRegistry;
  /** `Prefer: handling=strict`: unknown or unsupported parameters are a 400. */
  strict?: boolean;
  /** This server's base URLs, so absolute references to it parse as `Type/id`. */
  baseUrls?: readonly string[];
}

interface Ctx {
  registry: SearchParamRegistry;
  baseUrls: readonly string[];
  unknown: UnknownParameter[];
}

/** Signals a parameter to ignore (and report), not a malformed request. */
class Unknown extends Error {}

const SILENTLY_IGNORED = new Set(['_format', '_pretty']);
const UNSUPPORTED = new Set(['_list', '_filter', '_query', '_contained', '_containedType', '_graph']);
const NOT_SUPPORTED_MODIFIERS = new Set(['in', 'not-in', 'above', 'below']);

export function parseSearch(query: readonly (readonly [string, string])[], resourceType?: string, options: ParseOptions = {}): ParsedSearch {
  const registry = options.registry ?? defaultRegistry();
  if (resourceType !== undefined && !registry.isResourceType(resourceType)) {
    throw invalid(`Unknown resource type '${resourceType}'`);
  }
  const ctx: Ctx = { registry, baseUrls: options.baseUrls ?? [], unknown: [] };
  const result: ParsedSearch = { types: resourceType ? [resourceType] : [], clauses: [], unknown: ctx.unknown, sort: [], include: [], revinclude: [] };
  if (resourceType) result.resourceType = resourceType;

  if (!resourceType) result.types = parseTypes(query, registry);
  const params = paramsInScope(registry, resourceType, result.types);

  for (const [name, value] of query) {
    if (RESULT_PARAMETERS.has(name.split(':')[0])) {
      parseResultParameter(name, value, result, { registry, params, resourceType, types: result.types, unknown: ctx.unknown });
      continue;
    }
    if (name === '_type' || SILENTLY_IGNORED.has(name)) {
      if (name === '_type' && resourceType) ctx.unknown.push({ name, reason: '_type is only used in system-level search' });
      continue;
    }
    if (UNSUPPORTED.has(name.split(':')[0])) {
      ctx.unknown.push({ name, reason: `Parameter '${name}' is not supported` });
      continue;
    }
    if (value === '') continue; // empty values are ignored (FHIR search §3.1.1.4)
    try {
      const type = resourceType ?? (result.types.length === 1 ? result.types[0] : 'Resource');
      result.clauses.push({ name, filter: parseFilter(name, value, type, params, ctx) });
    } catch (error) {
      if (!(error instanceof Unknown)) throw error;
      ctx.unknown.push({ name, reason: error.message });
    }
  }

  if (options.strict && ctx.unknown.length) {
    const message = ctx.unknown.map((u) => u.reason).join('; ');
    throw invalid(message, ctx.unknown.map((u) => u.name), 'not-supported');
  }
  return result;
}

function parseTypes(query: readonly (readonly [string, string])[], registry: SearchParamRegistry): string[] {
  const types: string[] = [];
  for (const [name, value] of query) {
    if (name !== '_type') continue;
    for (const t of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!registry.isResourceType(t)) throw invalid(`Invalid resource type '${t}' for search parameter '_type'`, ['_type']);
      if (!types.includes(t)) types.push(t);
    }
  }
  return types;
}

/**
 * Parameters usable in this search: the type's own; at system level those shared by every type
 * in `_type` (or only the common ones without `_type`).
 */
function paramsInScope(registry: SearchParamRegistry, resourceType: string | undefined, types: string[]): ReadonlyMap<string, SearchParamDefinition> {
  if (resourceType) return registry.paramsFor(resourceType);
  if (types.length === 0) return registry.commonParams();
  const [first, ...rest] = types;
  const shared = new Map<string, SearchParamDefinition>();
  for (const [code, def] of registry.paramsFor(first)) {
    if (rest.every((t) => registry.paramsFor(t).get(code)?.type === def.type)) shared.set(code, def);
  }
  return shared;
}

function parseFilter(name: string, value: string, resourceType: string, params: ReadonlyMap<string, SearchParamDefinition>, ctx: Ctx): SearchFilter {
  if (name.startsWith('_has:')) return parseHas(name, value, resourceType, ctx);
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const colon = head.indexOf(':');
  const code = colon < 0 ? head : head.slice(0, colon);
  const modifier = colon < 0 ? undefined : head.slice(colon + 1);
  const param = params.get(code);
  if (!param) throw new Unknown(`Unknown search parameter '${code}' for resource type '${resourceType}'`);
  if (param.special === 'unsupported') throw new Unknown(`Search parameter '${code}' is not supported`);
  if (dot >= 0) return parseChain(name, name.slice(dot + 1), value, param, modifier, resourceType, ctx);
  if (modifier !== undefined) checkModifier(name, param, modifier, ctx);
  const valueCtx = { name, modifier, resourceTypes: ctx.registry.resourceTypes, baseUrls: ctx.baseUrls };
  const alternatives = splitRaw(value, ',');
  if (alternatives.length > 1 && (!param.multipleOr || modifier === 'missing')) {
    throw invalid(`Search parameter '${name}' does not allow several values separated by commas`, [name]);
  }
  return { kind: 'param', resourceType, param, ...(modifier ? { modifier } : {}), values: alternatives.map((raw) => parseValue(raw, param.type, param, valueCtx)) };
}

function checkModifier(name: string, param: SearchParamDefinition, modifier: string, ctx: Ctx): void {
  if (param.modifiers.includes(modifier)) return;
  if (param.type === 'reference' && /^[A-Z]/.test(modifier)) {
    if (!ctx.registry.isResourceType(modifier) || (param.targets.length > 0 && !param.targets.includes(modifier))) {
      throw invalid(`'${modifier}' is not a valid target type for search parameter '${param.code}' (in '${name}')`, [name]);
    }
    return;
  }
  if (NOT_SUPPORTED_MODIFIERS.has(modifier) || (param.type === 'uri' && modifier === 'contains')) {
    throw invalid(`Modifier ':${modifier}' is not supported for search parameter '${param.code}'`, [name], 'not-supported');
  }
  throw invalid(`Unknown modifier ':${modifier}' for search parameter '${param.code}' of type ${param.type}`, [name]);
}

function parseChain(
  name: string,
  rest: string,
  value: string,
  param: SearchParamDefinition,
  modifier: string | undefined,
  resourceType: string,
  ctx: Ctx,
): ChainFilter {
  if (param.type !== 'reference') throw invalid(`Search parameter '${param.code}' is not a reference and cannot be chained (in '${name}')`, [name]);
  let candidates: readonly string[];
  if (modifier !== undefined) {
    checkModifier(name, param, modifier, ctx);
    if (!/^[A-Z]/.test(modifier)) throw invalid(`Only a resource type modifier may precede a chain (in '${name}')`, [name]);
    candidates = [modifier];
  } else if (param.targets.length > 0) candidates = param.targets;
  else throw invalid(`Chained parameter '${name}' is ambiguous: add a type modifier (e.g. '${param.code}:Patient.${rest}')`, [name]);

  const targets: ChainFilter['targets'] = [];
  let lastUnknown: Unknown | undefined;
  for (const targetType of candidates) {
    const targetParams = ctx.registry.paramsFor(targetType);
    const nextCode = rest.split(/[.:]/)[0];
    if (nextCode !== '_has' && !targetParams.has(nextCode)) continue;
    try {
      targets.push({ targetType, filter: parseFilter(rest, value, targetType, targetParams, ctx) });
    } catch (error) {
      if (!(error instanceof Unknown)) throw error;
      lastUnknown = error;
    }
  }
  if (targets.length === 0) {
    throw lastUnknown ?? new Unknown(`Unknown chained parameter '${rest}' on ${candidates.join(', ')} (in '${name}')`);
  }
  return { kind: 'chain', resourceType, param, targets };
}

function parseHas(name: string, value: string, resourceType: string, ctx: Ctx): HasFilter {
  const parts = name.split(':');
  if (parts.length < 4 || !parts[1] || !parts[2] || !parts[3]) {
    throw invalid(`Invalid _has parameter '${name}' (expected _has:Type:reference:parameter)`, [name]);
  }
  const [, sourceType, refCode] = parts;
  if (resourceType === 'Resource') throw new Unknown(`'_has' needs a resource type (in '${name}')`);
  if (!ctx.registry.isResourceType(sourceType)) throw invalid(`Unknown resource type '${sourceType}' in '${name}'`, [name]);
  const sourceParams = ctx.registry.paramsFor(sourceType);
  const referenceParam = sourceParams.get(refCode);
  if (!referenceParam || referenceParam.type !== 'reference') {
    throw invalid(`'${refCode}' is not a reference search parameter of ${sourceType} (in '${name}')`, [name]);
  }
  if (referenceParam.targets.length > 0 && !referenceParam.targets.includes(resourceType)) {
    throw invalid(`${sourceType}.${refCode} cannot refer to ${resourceType} (in '${name}')`, [name]);
  }
  const inner = parts.slice(3).join(':');
  return { kind: 'has', resourceType, sourceType, referenceParam, filter: parseFilter(inner, value, sourceType, sourceParams, ctx) };
}

/** The links of a filter's first path, outermost first (for display and simple planners). */
export function chainLinks(filter: SearchFilter): { param: string; targetType: string }[] {
  const links: { param: string; targetType: string }[] = [];
  for (let f: SearchFilter = filter; f.kind === 'chain'; f = f.targets[0].filter) {
    links.push({ param: f.param.code, targetType: f.targets[0].targetType });
  }
  return links;
}
