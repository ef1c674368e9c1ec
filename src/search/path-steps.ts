import type { Resource } from '../fhir/types.js';
import { fhirTypeName, isSubtype, r4Model } from './model.js';
import { parseReference } from './values.js';

/** Run-time pieces of compiled paths: typed nodes, model-driven child lookup, filters and operators. */

export interface PathNode {
  value: unknown;
  /** FHIR type name: `Reference`, `dateTime`, `HumanName`, `Patient`, … */
  type: string;
  /** Model path used to find children: the type for data types, the element path for backbone elements. */
  path: string;
}

/** One compiled (sub)expression: input collection → output collection. */
export type Step = (nodes: PathNode[], resource: Resource) => PathNode[];

export const identity: Step = (nodes) => nodes;

export function rootNode(resource: Resource): PathNode {
  return { value: resource, type: resource.resourceType, path: resource.resourceType };
}

// ---- children from the model -----------------------------------------------------------------

export interface Child {
  key: string;
  type: string;
  path: string;
  /** The element holds resources; their type comes from `resourceType` at run time. */
  resource: boolean;
}

const childCache = new Map<string, Child[]>();

/** The JSON keys (one per choice type) an element name maps to under `path`, with their types. */
export function childrenOf(path: string, name: string): Child[] {
  const cacheKey = `${path}.${name}`;
  let children = childCache.get(cacheKey);
  if (!children) {
    children = resolveChild(path, name);
    childCache.set(cacheKey, children);
  }
  return children;
}

function resolveChild(path: string, name: string): Child[] {
  const model = r4Model();
  const full = `${path}.${name}`;
  const type = model.path2Type[full];
  if (type) return [child(name, full, type)];
  const choices = model.choiceTypePaths[full];
  if (choices) return choices.map((c) => child(name + c, full + c, c));
  const elsewhere = model.pathsDefinedElsewhere[full];
  if (elsewhere) return [{ key: name, type: 'BackboneElement', path: elsewhere, resource: false }];
  // Elements every type has, not listed per path in the model.
  if (name === 'extension' || name === 'modifierExtension') return [child(name, 'Extension', 'Extension')];
  if (name === 'id') return [child(name, full, 'string')];
  return [];
}

function child(key: string, full: string, rawType: string): Child {
  const type = fhirTypeName(rawType);
  if (type === 'Element' || type === 'BackboneElement') return { key, type, path: full, resource: false };
  return { key, type, path: type, resource: type === 'Resource' };
}

export function childStep(name: string): Step {
  const byPath = new Map<string, Child[]>();
  return (nodes) => {
    const out: PathNode[] = [];
    for (const node of nodes) {
      const value = node.value as Record<string, unknown> | null;
      if (value === null || typeof value !== 'object') continue;
      let children = byPath.get(node.path);
      if (!children) byPath.set(node.path, (children = childrenOf(node.path, name)));
      for (const c of children) {
        const v = value[c.key];
        if (v === undefined || v === null) continue;
        if (Array.isArray(v)) for (const item of v) push(out, item, c);
        else push(out, v, c);
      }
    }
    return out;
  };
}

function push(out: PathNode[], value: unknown, c: Child): void {
  if (value === null || value === undefined) return;
  if (c.resource) {
    const rt = (value as Resource).resourceType;
    if (typeof rt === 'string') out.push({ value, type: rt, path: rt });
  } else out.push({ value, type: c.type, path: c.path });
}

// ---- types ------------------------------------------------------------------------------------

function typeMatcher(typeName: string): (type: string) => boolean {
  const wanted = fhirTypeName(typeName);
  const memo = new Map<string, boolean>();
  return (type) => {
    let ok = memo.get(type);
    if (ok === undefined) memo.set(type, (ok = type === wanted || isSubtype(type, wanted)));
    return ok;
  };
}

/** `as T` / `ofType(T)`. */
export function typeFilterStep(typeName: string): Step {
  const matches = typeMatcher(typeName);
  return (nodes) => nodes.filter((n) => matches(n.type));
}

/** `is T`: a boolean for a single item, empty for an empty input. */
export function typeTestStep(inner: Step, typeName: string): Step {
  const matches = typeMatcher(typeName);
  return (nodes, resource) => {
    const items = inner(nodes, resource);
    return items.length === 1 ? [bool(matches(items[0].type))] : [];
  };
}

/**
 * The resource type a Reference points to, without fetching it: from its `reference` (a contained
 * resource's type for `#id`), else its `type`. Index rows record the same type (rows.ts), so
 * `x.where(resolve() is T)` holds exactly for x's rows that target a T (search/shared-rows.ts).
 */
export function referencedType(reference: unknown, resource?: Resource): string | undefined {
  const ref = reference as { reference?: unknown; type?: unknown } | null;
  if (!ref || typeof ref !== 'object') return undefined;
  const text = ref.reference;
  if (typeof text === 'string') {
    const type = text.startsWith('#') ? (resource?.contained as Resource[] | undefined)?.find((r) => r.id === text.slice(1))?.resourceType : parseReference(text)?.type;
    if (typeof type === 'string') return type;
  }
  return typeof ref.type === 'string' ? ref.type : undefined;
}

/**
 * `resolve()` without fetching: a node typed as the referenced resource type (its value stays the
 * Reference), which is all `resolve() is Patient` needs. Resources pass through.
 */
export const resolveStep: Step = (nodes, resource) => {
  const out: PathNode[] = [];
  for (const n of nodes) {
    if (n.type !== 'Reference') {
      if (n.path === n.type && /^[A-Z]/.test(n.type)) out.push(n);
      continue;
    }
    const type = referencedType(n.value, resource);
    if (type) out.push({ value: n.value, type, path: type });
  }
  return out;
};

// ---- booleans and equality --------------------------------------------------------------------

export function bool(value: boolean): PathNode {
  return { value, type: 'boolean', path: 'boolean' };
}

export function literal(value: string | number | boolean): Step {
  const node: PathNode = { value, type: typeof value === 'string' ? 'string' : typeof value === 'number' ? 'decimal' : 'boolean', path: '' };
  return () => [node];
}

/** Singleton evaluation to a boolean (undefined = empty). */
function truth(nodes: PathNode[]): boolean | undefined {
  if (nodes.length === 0) return undefined;
  return nodes.length === 1 && typeof nodes[0].value === 'boolean' ? nodes[0].value : true;
}

/** `where(cond)`: keeps the items for which `cond`, evaluated on the item alone, is true. */
export function whereStep(cond: Step): Step {
  return (nodes, resource) => nodes.filter((n) => truth(cond([n], resource)) === true);
}

export function equalityStep(left: Step, right: Step, negate: boolean): Step {
  return (nodes, resource) => {
    const l = left(nodes, resource);
    const r = right(nodes, resource);
    if (l.length === 0 || r.length === 0) return [];
    const equal = l.length === r.length && l.every((n, i) => primitiveEquals(n.value, r[i].value));
    return [bool(equal !== negate)];
  };
}

function primitiveEquals(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

/** Three-valued `and` / `or` as FHIRPath defines them. */
export function logicStep(left: Step, right: Step, op: 'and' | 'or'): Step {
  return (nodes, resource) => {
    const l = truth(left(nodes, resource));
    const r = truth(right(nodes, resource));
    if (op === 'and') {
      if (l === false || r === false) return [bool(false)];
      return l === true && r === true ? [bool(true)] : [];
    }
    if (l === true || r === true) return [bool(true)];
    return l === false && r === false ? [bool(false)] : [];
  };
}

export const existsStep: Step = (nodes) => [bool(nodes.length > 0)];
export const emptyStep: Step = (nodes) => [bool(nodes.length === 0)];
export const notStep: Step = (nodes) => {
  const t = truth(nodes);
  return t === undefined ? [] : [bool(!t)];
};
const EMPTY_AWARE = new Set<Step>([existsStep, emptyStep, notStep]);

export const firstStep: Step = (nodes) => nodes.slice(0, 1);
export const lastStep: Step = (nodes) => nodes.slice(-1);

export function indexStep(index: number): Step {
  return (nodes) => (nodes.length > index ? [nodes[index]] : []);
}

/** `extension('url')`. */
export function extensionStep(url: string): Step {
  const ext = childStep('extension');
  return (nodes, resource) => ext(nodes, resource).filter((n) => (n.value as { url?: unknown }).url === url);
}

export function pipeline(steps: Step[]): Step {
  const live = steps.filter((s) => s !== identity);
  if (live.length === 0) return identity;
  if (live.length === 1) return live[0];
  // Most elements are absent, so stop at the first empty result unless a later step
  // (exists(), empty(), not()) turns emptiness into a value.
  const aware = live.some((s) => EMPTY_AWARE.has(s));
  return (nodes, resource) => {
    let current = nodes;
    for (const step of live) {
      current = step(current, resource);
      if (current.length === 0 && !aware) break;
    }
    return current;
  };
}
