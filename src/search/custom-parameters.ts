import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileDefinition } from './extract.js';
import { defaultRegistry, type SearchParameterResource, type SearchParamRegistry, type SearchParamType } from './parameters.js';
import { assertCompiles } from './path.js';

/**
 * Custom SearchParameters (docs/search.md#custom-search-parameters): read from JSON files (a
 * SearchParameter, or a Bundle of them) or given as objects, checked, and merged over the base
 * R4 set. A definition with the same base and code as a base one replaces it for that base.
 */

/** A JSON file's path, or a SearchParameter (or Bundle of them) given in code or in the config file. */
export type SearchParameterSource = string | Record<string, unknown>;

/** A definition that cannot be used; the message names where it came from and what is wrong. */
export class SearchParameterError extends Error {}

const INDEXED: readonly SearchParamType[] = ['number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri'];

/** Codes the server gives a meaning of its own (special parameters and result parameters). */
const RESERVED = new Set([
  '_id', '_lastUpdated', '_text', '_content', '_query', '_filter', '_list', '_has', '_type', '_sort', '_count', '_include',
  '_revinclude', '_summary', '_total', '_elements', '_contained', '_containedType', '_format', '_pretty', '_offset', '_cursor', '_graph',
]);

const CODE = /^_?[A-Za-z0-9][A-Za-z0-9_-]*$/;

interface Candidate {
  resource: Record<string, unknown>;
  /** Where it came from, for messages: `search parameter file x.json, entry 2`. */
  where: string;
}

interface Checked extends Candidate {
  sp: SearchParameterResource;
}

export interface CustomParameters {
  /** The base registry with the custom definitions merged in. */
  registry: SearchParamRegistry;
  /** The custom definitions, in the order given. */
  custom: SearchParameterResource[];
}

/** Reads and checks `sources`; throws a SearchParameterError on the first unusable definition. */
export function loadCustomParameters(sources: readonly SearchParameterSource[], base: SearchParamRegistry = defaultRegistry()): CustomParameters {
  const checked = sources.flatMap((source, i) => candidatesOf(source, i)).map((c) => ({ ...c, sp: checkShape(c, base) }));
  const seen = new Map<string, Checked>();
  for (const c of checked) {
    for (const type of c.sp.base) {
      const key = `${type}.${c.sp.code}`;
      const earlier = seen.get(key);
      if (earlier) fail(c, `${type} parameter '${c.sp.code}' is also defined by ${earlier.where}`);
      seen.set(key, c);
    }
  }
  const registry = base.with(checked.map((c) => c.sp));
  for (const c of checked) checkComponents(c, registry);
  for (const c of checked) checkCompiles(c, registry);
  return { registry, custom: checked.map((c) => c.sp) };
}

function candidatesOf(source: SearchParameterSource, index: number): Candidate[] {
  let where: string;
  let value: unknown;
  if (typeof source === 'string') {
    where = `search parameter file ${source}`;
    let text: string;
    try {
      text = readFileSync(resolve(source), 'utf8');
    } catch (error) {
      throw new SearchParameterError(`Cannot read ${where}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new SearchParameterError(`${capitalise(where)} is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    where = `search parameter ${index + 1} of the configuration`;
    value = source;
  }
  if (!isObject(value)) throw new SearchParameterError(`${capitalise(where)}: expected a SearchParameter or a Bundle of them`);
  if (value.resourceType === 'SearchParameter') return [{ resource: value, where }];
  if (value.resourceType !== 'Bundle') {
    throw new SearchParameterError(`${capitalise(where)}: expected a SearchParameter or a Bundle of them, found resourceType '${String(value.resourceType)}'`);
  }
  const entries = Array.isArray(value.entry) ? (value.entry as unknown[]) : [];
  return entries.map((entry, i) => {
    const resource = isObject(entry) ? entry.resource : undefined;
    const at = `${where}, entry ${i + 1}`;
    if (!isObject(resource) || resource.resourceType !== 'SearchParameter') {
      throw new SearchParameterError(`${capitalise(at)}: expected a SearchParameter, found ${isObject(resource) ? `resourceType '${String(resource.resourceType)}'` : 'no resource'}`);
    }
    return { resource, where: at };
  });
}

/** The fields Kiln reads, checked one by one. */
function checkShape(c: Candidate, base: SearchParamRegistry): SearchParameterResource {
  const r = c.resource;
  if (typeof r.url !== 'string' || r.url === '') fail(c, 'url is missing (every SearchParameter needs its canonical url)');
  if (typeof r.code !== 'string' || !CODE.test(r.code)) fail(c, `code ${JSON.stringify(r.code)} is not a valid parameter name (letters, digits, '-' and '_')`);
  if (RESERVED.has(r.code as string)) fail(c, `code '${String(r.code)}' is reserved: the server gives it a meaning of its own`);
  if (!Array.isArray(r.base) || r.base.length === 0) fail(c, 'base is missing (the resource types it applies to)');
  for (const type of r.base as unknown[]) {
    if (typeof type !== 'string' || !(base.isResourceType(type) || type === 'Resource' || type === 'DomainResource')) {
      fail(c, `unknown base type ${JSON.stringify(type)}`);
    }
  }
  if (typeof r.type !== 'string') fail(c, 'type is missing');
  if (!INDEXED.includes(r.type as SearchParamType)) {
    const known = r.type === 'special' ? `type 'special' is not supported` : `unknown type '${r.type as string}'`;
    fail(c, `${known}: Kiln indexes ${INDEXED.join(', ')} parameters`);
  }
  if (typeof r.expression !== 'string' || r.expression.trim() === '') fail(c, 'expression is missing (parameters are indexed from their FHIRPath expression)');
  const target = stringList(c, 'target');
  for (const type of target ?? []) if (!base.isResourceType(type)) fail(c, `unknown target type '${type}'`);
  const sp: SearchParameterResource = {
    resourceType: 'SearchParameter',
    url: r.url as string,
    code: r.code as string,
    base: r.base as string[],
    type: r.type as SearchParamType,
    expression: r.expression as string,
  };
  if (target) sp.target = target;
  for (const flag of ['multipleOr', 'multipleAnd'] as const) {
    if (r[flag] === undefined) continue;
    if (typeof r[flag] !== 'boolean') fail(c, `${flag} must be true or false`);
    sp[flag] = r[flag];
  }
  const modifier = stringList(c, 'modifier');
  if (modifier) sp.modifier = modifier;
  const comparator = stringList(c, 'comparator');
  if (comparator) sp.comparator = comparator;
  if (sp.type === 'composite') sp.component = components(c);
  return sp;
}

function components(c: Candidate): { definition: string; expression: string }[] {
  const list = c.resource.component;
  if (!Array.isArray(list) || list.length === 0) fail(c, 'a composite parameter needs its components');
  return (list as unknown[]).map((item, i) => {
    if (!isObject(item) || typeof item.definition !== 'string' || typeof item.expression !== 'string') {
      fail(c, `component ${i + 1} needs a definition (a SearchParameter url) and an expression`);
    }
    return { definition: item.definition as string, expression: item.expression as string };
  });
}

function checkComponents(c: Checked, registry: SearchParamRegistry): void {
  for (const component of c.sp.component ?? []) {
    const def = registry.byUrl(component.definition);
    if (!def) fail(c, `component definition '${component.definition}' is not a known SearchParameter`);
    if (def.type === 'composite' || def.type === 'special') fail(c, `component definition '${component.definition}' is a ${def.type} parameter`);
  }
}

/** Compiles the definition for every resource type it applies to, as the indexer will. */
function checkCompiles(c: Checked, registry: SearchParamRegistry): void {
  const types = c.sp.base.some((b) => b === 'Resource' || b === 'DomainResource') ? [...registry.resourceTypes] : c.sp.base;
  for (const type of types) {
    const def = registry.get(type, c.sp.code);
    if (!def || def.url !== c.sp.url || !def.expression) continue;
    try {
      assertCompiles(def.expression, type);
      compileDefinition(def, type);
    } catch (error) {
      fail(c, `expression '${def.expression}' does not compile for ${type}: ${firstLine((error as Error).message)}`);
    }
  }
}

function stringList(c: Candidate, field: string): string[] | undefined {
  const value = c.resource[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(c, `${field} must be a list of strings`);
  return value as string[];
}

function fail(c: Candidate, problem: string): never {
  const { code, url } = c.resource;
  const name = typeof code === 'string' ? `'${code}'` : '(no code)';
  const id = typeof url === 'string' && url ? ` (${url})` : '';
  throw new SearchParameterError(`${capitalise(c.where)}: SearchParameter ${name}${id}: ${problem}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function capitalise(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 300);
}
