import type { Resource } from '../fhir/types.js';
import { defaultRegistry, type SearchParamDefinition, type SearchParamRegistry, type SearchParamType } from './parameters.js';
import { type CompiledPath, type PathNode, compilePath, splitUnion } from './path.js';
import {
  type CompositeComponentRows,
  type IndexRows,
  type RowContext,
  dateRows,
  emptyRows,
  numberRows,
  quantityRows,
  referenceRows,
  stringRows,
  tokenRows,
  uriRows,
} from './rows.js';
import { forEachTextWord } from './values.js';

export type * from './rows.js';

/**
 * Index extraction: resource → typed index rows, driven by the SearchParameter expressions of its
 * type. Expressions are compiled once per (registry, resource type) on first use and cached.
 * `_id` and `_lastUpdated` produce no rows (the resource table has those columns).
 */

export interface ExtractOptions {
  registry?: SearchParamRegistry;
  /** This server's base URLs: absolute references under them are indexed as local `Type/id`. */
  baseUrls?: readonly string[];
  /** Produce `_text`/`_content` rows (default true). */
  fullText?: boolean;
  /** Only the rows of these parameter codes (default all). */
  params?: ReadonlySet<string>;
  /**
   * Also the rows of parameters whose rows another one stores (default true; the store passes
   * false and searches read the shared rows: search/shared-rows.ts).
   */
  sharedRows?: boolean;
}

export type Indexable = Exclude<SearchParamType, 'composite' | 'special'>;

export interface ParamPlan {
  code: string;
  type: Indexable;
  path: CompiledPath;
  /** Another parameter stores these rows. */
  shared: boolean;
}

export interface CompositePlan {
  code: string;
  /** Other composites store these rows. */
  shared: boolean;
  foci: { path: CompiledPath; components: { type: Indexable; path: CompiledPath; code: string }[] }[];
}

/** What extraction evaluates for one resource type (compiled once). */
export interface TypePlan {
  params: ParamPlan[];
  composites: CompositePlan[];
  text: boolean;
  content: boolean;
}

const plans = new WeakMap<SearchParamRegistry, Map<string, TypePlan>>();

/** Compiles (or returns the cached) extraction plan of a resource type. */
export function planFor(resourceType: string, registry: SearchParamRegistry = defaultRegistry()): TypePlan {
  let byType = plans.get(registry);
  if (!byType) plans.set(registry, (byType = new Map()));
  let plan = byType.get(resourceType);
  if (!plan) byType.set(resourceType, (plan = compilePlan(resourceType, registry)));
  return plan;
}

/**
 * Compiles the plans of `resourceTypes` (default: all) now rather than on their first write, e.g.
 * right after the server starts listening (all R4 types: ~130 ms).
 */
export function warmUp(resourceTypes?: Iterable<string>, registry: SearchParamRegistry = defaultRegistry()): void {
  for (const type of resourceTypes ?? registry.resourceTypes) planFor(type, registry);
}

function compilePlan(resourceType: string, registry: SearchParamRegistry): TypePlan {
  const plan: TypePlan = { params: [], composites: [], text: false, content: false };
  for (const def of registry.paramsFor(resourceType).values()) {
    if (def.special === 'text') plan.text = true;
    else if (def.special === 'content') plan.content = true;
    const compiled = compileDefinition(def, resourceType);
    if (compiled && 'foci' in compiled) plan.composites.push(compiled);
    else if (compiled) plan.params.push(compiled);
  }
  return plan;
}

/**
 * What extraction evaluates for one parameter of `resourceType` (nothing for special parameters).
 * Throws when the expression does not compile.
 */
export function compileDefinition(def: SearchParamDefinition, resourceType: string): ParamPlan | CompositePlan | undefined {
  if (def.special || !def.expression || def.type === 'special') return undefined;
  if (def.type === 'composite') return compileComposite(def, resourceType);
  return { code: def.code, type: def.type, path: compilePath(def.expression, resourceType), shared: def.sharedRows !== undefined };
}

function compileComposite(def: SearchParamDefinition, resourceType: string): CompositePlan {
  const foci = splitUnion(def.expression!).map((term) => {
    const path = compilePath(term, resourceType);
    const focusPath = path.resultPaths[0] ?? resourceType;
    const components = (def.components ?? []).map((c) => ({
      code: c.code,
      type: (c.type === 'composite' || c.type === 'special' ? 'token' : c.type) as Indexable,
      path: compilePath(c.expression, resourceType, focusPath),
    }));
    return { path, components };
  });
  return { code: def.code, foci, shared: def.sharedRows !== undefined };
}

function addRows(type: Indexable, code: string, nodes: readonly PathNode[], ctx: RowContext, rows: IndexRows): void {
  for (const node of nodes) {
    switch (type) {
      case 'string':
        stringRows(code, node, rows.string);
        break;
      case 'token':
        tokenRows(code, node, rows.token);
        break;
      case 'reference':
        referenceRows(code, node, ctx, rows.reference);
        break;
      case 'date':
        dateRows(code, node, rows.date);
        break;
      case 'number':
        numberRows(code, node, rows.number);
        break;
      case 'quantity':
        quantityRows(code, node, rows.quantity);
        break;
      case 'uri':
        uriRows(code, node, rows.uri);
        break;
    }
  }
}

/** The index rows of one resource version. */
export function extractIndex(resource: Resource, options: ExtractOptions = {}): IndexRows {
  const plan = planFor(resource.resourceType, options.registry);
  const ctx: RowContext = { resource, baseUrls: options.baseUrls ?? [] };
  const rows = emptyRows();
  const only = options.params;
  const withShared = options.sharedRows !== false;
  for (const p of plan.params) {
    if ((only && !only.has(p.code)) || (p.shared && !withShared)) continue;
    const nodes = p.path.evaluate(resource);
    if (nodes.length === 0) continue;
    const table = rows[p.type];
    const before = table.length;
    addRows(p.type, p.code, nodes, ctx, rows);
    if (table.length - before > 1) dedupe(table as unknown as Record<string, unknown>[], before);
  }
  for (const c of plan.composites) {
    if ((only && !only.has(c.code)) || (c.shared && !withShared)) continue;
    for (const focus of c.foci) {
      for (const node of focus.path.evaluate(resource)) {
        const components: CompositeComponentRows[] = [];
        for (const comp of focus.components) {
          const part = emptyRows();
          addRows(comp.type, comp.code, comp.path.evaluate(resource, [node]), ctx, part);
          const compRows = part[comp.type];
          if (compRows.length === 0) break;
          components.push({ type: comp.type, rows: compRows } as CompositeComponentRows);
        }
        if (components.length === focus.components.length && components.length > 0) rows.composite.push({ param: c.code, components });
      }
    }
  }
  if (options.fullText !== false) addFullText(resource, plan, rows);
  return rows;
}

/** Beyond this many rows of one parameter, duplicates are found by key rather than pair by pair. */
const PAIRWISE_LIMIT = 16;

/** Drops rows identical to an earlier row of the same parameter (e.g. one code under two paths). */
function dedupe(table: Record<string, unknown>[], from: number): void {
  let write = from;
  if (table.length - from > PAIRWISE_LIMIT) {
    // A Claim's or ExplanationOfBenefit's codes: dozens of rows, compared pairwise in quadratic time.
    const seen = new Set<string>();
    for (let read = from; read < table.length; read++) {
      const key = JSON.stringify(Object.values(table[read]));
      if (!seen.has(key)) (seen.add(key), (table[write++] = table[read]));
    }
  } else {
    outer: for (let read = from; read < table.length; read++) {
      const row = table[read];
      for (let i = from; i < write; i++) if (sameRow(table[i], row)) continue outer;
      table[write++] = row;
    }
  }
  table.length = write;
}

function sameRow(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const key in a) if (a[key] !== b[key]) return false;
  return true;
}

// ---- _text and _content -----------------------------------------------------------------------

const MAX_TEXT = 32_768;

function addFullText(resource: Resource, plan: TypePlan, rows: IndexRows): void {
  if (plan.text) {
    const div = (resource.text as { div?: unknown } | undefined)?.div;
    if (typeof div === 'string') {
      const words = indexedWords([narrativeText(div)]);
      if (words) rows.text.push({ param: '_text', value: words });
    }
  }
  if (plan.content) {
    const parts: string[] = [];
    collectStrings(resource, parts, 0);
    const words = indexedWords(parts);
    if (words) rows.text.push({ param: '_content', value: words });
  }
}

/**
 * The distinct words of some texts, space-separated, at most MAX_TEXT characters of them. Matching
 * asks only whether a word is there (no positions, no ranking), and half the words of a typical
 * resource repeat another (a code's display and its text, say): the full-text index gets each once,
 * and a text seen before is not split again.
 */
function indexedWords(texts: readonly string[]): string {
  const seenTexts = new Set<string>();
  const words = new Set<string>();
  const add = (word: string) => words.add(word);
  for (const text of texts) {
    if (seenTexts.has(text)) continue;
    seenTexts.add(text);
    forEachTextWord(text, add);
  }
  const joined = [...words].join(' ');
  return joined.length <= MAX_TEXT ? joined : joined.slice(0, joined.lastIndexOf(' ', MAX_TEXT) + 1 || MAX_TEXT).trimEnd();
}

function collectStrings(value: unknown, out: string[], depth: number): void {
  if (depth > 32) return;
  if (Array.isArray(value)) {
    // Strings right in a list are content too (HumanName.given, Address.line, …).
    for (const v of value) {
      if (typeof v === 'string') out.push(v);
      else collectStrings(v, out, depth + 1);
    }
  } else if (value && typeof value === 'object') {
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key];
      // Narrative is `_text`; meta, ids, system URIs, references and `data` (base64 of
      // Attachment and Binary, SampledData's digits) are not content.
      if (key === 'text' && typeof v === 'object') continue;
      if (key === 'meta' || key === 'id' || key === 'resourceType' || key === 'system' || key === 'reference' || key === 'url' || key === 'data') continue;
      if (typeof v === 'string') out.push(v);
      else if (typeof v === 'object') collectStrings(v, out, depth + 1);
    }
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The text of an XHTML narrative: tags dropped, common entities decoded, whitespace collapsed. */
export function narrativeText(div: string): string {
  return div
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/\s+/g, ' ')
    .trim();
}
