import { createRequire } from 'node:module';
import type { Resource } from '../fhir/types.js';
import { fhirTypeName, isSubtype, r4Model } from './model.js';

/**
 * A compiler for the FHIRPath subset SearchParameter expressions use (paths, `as`/`ofType`,
 * `where(resolve() is T)`, `where(x = 'v')`, `extension('url')`, `[n]`, `first()`, unions,
 * `%resource`). Results carry their FHIR type, taken from the R4 model, which extraction needs
 * (an Identifier and a ContactPoint look alike as JSON). Anything else is handed to the
 * `fhirpath` package, loaded only then.
 */

export interface PathNode {
  value: unknown;
  /** FHIR type name: `Reference`, `dateTime`, `HumanName`, `Patient`, … */
  type: string;
  /** Model path used to find children: the type for data types, the element path for backbone elements. */
  path: string;
}

export interface CompiledPath {
  evaluate(resource: Resource, focus?: readonly PathNode[]): PathNode[];
  /** Model paths of the results, known at compile time (used to compile composite components). */
  readonly resultPaths: readonly string[];
  /** False when the expression is evaluated by the `fhirpath` package. */
  readonly fast: boolean;
}

type Step = (nodes: PathNode[], resource: Resource) => PathNode[];

class Unsupported extends Error {}

/** Splits a FHIRPath expression on its top-level `|` (not inside parentheses or strings). */
export function splitUnion(expression: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      terms.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  terms.push(expression.slice(start).trim());
  return terms.filter((t) => t.length > 0);
}

// ---- tokens ---------------------------------------------------------------------------------

const TOKEN = /\s*(?:(`[^`]+`|%?[A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*')|(\d+(?:\.\d+)?)|(!=|[.()[\]|=,]))/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) throw new Unsupported(`cannot tokenize '${text}'`);
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  }
  return tokens;
}

// ---- children from the model -----------------------------------------------------------------

interface Child {
  key: string;
  type: string;
  path: string;
  /** The element holds resources; their type comes from `resourceType` at run time. */
  resource: boolean;
}

const childCache = new Map<string, Child[]>();

function childrenOf(path: string, name: string): Child[] {
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

// ---- steps ------------------------------------------------------------------------------------

function childStep(name: string): Step {
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

function typeStep(typeName: string): Step {
  const wanted = fhirTypeName(typeName);
  const memo = new Map<string, boolean>();
  return (nodes) =>
    nodes.filter((n) => {
      let ok = memo.get(n.type);
      if (ok === undefined) memo.set(n.type, (ok = n.type === wanted || isSubtype(n.type, wanted)));
      return ok;
    });
}

/** The resource type a Reference points to, from its `reference` (or `type`), without fetching it. */
export function referencedType(reference: unknown, resource?: Resource): string | undefined {
  const ref = reference as { reference?: unknown; type?: unknown } | null;
  if (!ref || typeof ref !== 'object') return undefined;
  const text = ref.reference;
  if (typeof text === 'string') {
    if (text.startsWith('#')) {
      const contained = (resource?.contained as Resource[] | undefined)?.find((r) => r.id === text.slice(1));
      return contained?.resourceType;
    }
    const parts = text.split('/');
    const h = parts.lastIndexOf('_history');
    const typeIndex = (h > 0 ? h : parts.length) - 2;
    if (typeIndex >= 0 && /^[A-Z][A-Za-z]+$/.test(parts[typeIndex])) return parts[typeIndex];
  }
  return typeof ref.type === 'string' ? ref.type : undefined;
}

function resolveIsStep(typeName: string): Step {
  return (nodes, resource) =>
    nodes.filter((n) => {
      const t = n.type === 'Reference' ? referencedType(n.value, resource) : n.type;
      return t !== undefined && (typeName === 'Resource' || t === typeName);
    });
}

function equalsStep(field: string, literal: string | boolean): Step {
  return (nodes) => nodes.filter((n) => (n.value as Record<string, unknown> | null)?.[field] === literal);
}

// ---- parser -----------------------------------------------------------------------------------

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: string[],
    private readonly baseType: string,
  ) {}

  parseAll(): Step {
    const step = this.union();
    if (this.i < this.tokens.length) throw new Unsupported(`unexpected '${this.tokens[this.i]}'`);
    return step;
  }

  private peek(): string | undefined {
    return this.tokens[this.i];
  }

  private take(expected?: string): string {
    const t = this.tokens[this.i++];
    if (t === undefined || (expected !== undefined && t !== expected)) throw new Unsupported(`expected ${expected ?? 'token'}`);
    return t;
  }

  private union(): Step {
    const terms = [this.term()];
    while (this.peek() === '|') {
      this.take();
      terms.push(this.term());
    }
    if (terms.length === 1) return terms[0];
    return (nodes, resource) => terms.flatMap((t) => t(nodes, resource));
  }

  private term(): Step {
    let steps: Step[] = [this.primary()];
    for (;;) {
      const t = this.peek();
      if (t === '.') {
        this.take();
        steps.push(this.member());
      } else if (t === '[') {
        this.take();
        const index = Number(this.take());
        this.take(']');
        if (!Number.isInteger(index)) throw new Unsupported('index');
        steps.push((nodes) => (nodes.length > index ? [nodes[index]] : []));
      } else if (t === 'as') {
        this.take();
        steps.push(typeStep(this.typeName()));
      } else break;
    }
    steps = steps.filter((s) => s !== identity);
    if (steps.length === 1) return steps[0];
    return (nodes, resource) => {
      let current = nodes;
      for (const step of steps) {
        current = step(current, resource);
        if (current.length === 0) break;
      }
      return current;
    };
  }

  private primary(): Step {
    const t = this.take();
    if (t === '(') {
      const inner = this.union();
      this.take(')');
      return inner;
    }
    if (t === '%resource' || t === '%rootResource') return (_nodes, resource) => [{ value: resource, type: resource.resourceType, path: resource.resourceType }];
    if (!/^[A-Za-z_`]/.test(t)) throw new Unsupported(`unexpected '${t}'`);
    const name = ident(t);
    if (this.peek() === '(') return this.functionCall(name);
    if (/^[A-Z]/.test(name)) {
      if (name === this.baseType || name === 'Resource' || name === 'DomainResource') return identity;
      if (r4Model().type2Parent[name] !== undefined) return () => []; // rooted at another type
    }
    return childStep(name);
  }

  private member(): Step {
    const name = ident(this.take());
    return this.peek() === '(' ? this.functionCall(name) : childStep(name);
  }

  private functionCall(name: string): Step {
    this.take('(');
    let step: Step;
    switch (name) {
      case 'as':
      case 'ofType':
        step = typeStep(this.typeName());
        break;
      case 'first':
        step = (nodes) => nodes.slice(0, 1);
        break;
      case 'extension': {
        const url = unquote(this.take());
        const ext = childStep('extension');
        const filter = equalsStep('url', url);
        step = (nodes, resource) => filter(ext(nodes, resource), resource);
        break;
      }
      case 'where':
        step = this.condition();
        break;
      default:
        throw new Unsupported(`function ${name}()`);
    }
    this.take(')');
    return step;
  }

  private condition(): Step {
    const first = this.take();
    if (first === 'resolve') {
      this.take('(');
      this.take(')');
      this.take('is');
      return resolveIsStep(this.typeName());
    }
    const field = ident(first);
    this.take('=');
    const literal = this.take();
    if (literal === 'true' || literal === 'false') return equalsStep(field, literal === 'true');
    if (!literal.startsWith("'")) throw new Unsupported('where literal');
    return equalsStep(field, unquote(literal));
  }

  private typeName(): string {
    let name = this.take();
    if (name === 'FHIR' && this.peek() === '.') {
      this.take();
      name = this.take();
    }
    if (!/^[A-Za-z]+$/.test(name)) throw new Unsupported('type name');
    return name;
  }
}

const identity: Step = (nodes) => nodes;

function ident(token: string): string {
  return token.startsWith('`') ? token.slice(1, -1) : token;
}

function unquote(token: string): string {
  if (!token.startsWith("'")) throw new Unsupported('string literal');
  return token.slice(1, -1).replace(/\\(.)/g, '$1');
}

// ---- static result paths (for composites) -----------------------------------------------------

function resultPaths(expression: string, basePath: string): string[] {
  // Only plain paths matter here (composite focus expressions are `Observation.component`).
  return splitUnion(expression).map((term) => {
    const segments = term.replace(/[()]/g, '').split('.');
    let path = basePath;
    for (const seg of segments.slice(/^[A-Z]/.test(segments[0]) ? 1 : 0)) {
      const children = childrenOf(path, seg);
      if (children.length !== 1) return path;
      path = children[0].path;
    }
    return path;
  });
}

// ---- fhirpath fallback ------------------------------------------------------------------------

interface FhirpathNode {
  data?: unknown;
  fhirNodeDataType?: string;
  path?: string;
}
type FhirpathFn = (resource: unknown, env?: Record<string, unknown>) => unknown[];
interface FhirpathModule {
  compile(path: string | { base: string; expression: string }, model: unknown, options?: Record<string, unknown>): FhirpathFn;
}

const packageRequire = createRequire(import.meta.url);
let fhirpathModule: FhirpathModule | undefined;

function compileWithFhirpath(expression: string, basePath: string, baseType: string): CompiledPath {
  fhirpathModule ??= packageRequire('fhirpath') as FhirpathModule;
  const isResource = basePath === baseType && /^[A-Z]/.test(baseType) && r4Model().type2Parent[baseType] !== undefined;
  const fn = fhirpathModule.compile(isResource ? expression : { base: basePath, expression }, r4Model(), { resolveInternalTypes: false });
  return {
    fast: false,
    resultPaths: [basePath],
    evaluate(resource, focus) {
      const out: PathNode[] = [];
      for (const node of focus ?? [{ value: resource, type: resource.resourceType, path: resource.resourceType }]) {
        let results: unknown[];
        try {
          results = fn(node.value, { resource });
        } catch {
          continue; // e.g. resolve() outside the supported where(resolve() is T) form
        }
        for (const r of results) out.push(fromFhirpath(r));
      }
      return out;
    },
  };
}

function fromFhirpath(result: unknown): PathNode {
  if (result && typeof result === 'object' && 'fhirNodeDataType' in result) {
    const n = result as FhirpathNode;
    const type = fhirTypeName(n.fhirNodeDataType ?? 'string');
    return { value: n.data, type, path: type };
  }
  const type = typeof result === 'boolean' ? 'boolean' : typeof result === 'number' ? 'decimal' : 'string';
  return { value: result, type, path: type };
}

// ---- entry point ------------------------------------------------------------------------------

/**
 * Compiles `expression` for resources (or elements) of `baseType`; `basePath` is the model path
 * of the focus when that is an element (e.g. `Observation.component` for composite components).
 */
export function compilePath(expression: string, baseType: string, basePath: string = baseType): CompiledPath {
  let step: Step;
  try {
    step = new Parser(tokenize(expression), baseType).parseAll();
    assertKnownPaths(expression, basePath);
  } catch (error) {
    if (error instanceof Unsupported) return compileWithFhirpath(expression, basePath, baseType);
    throw error;
  }
  return {
    fast: true,
    resultPaths: resultPaths(expression, basePath),
    evaluate(resource, focus) {
      return step((focus as PathNode[] | undefined) ?? [{ value: resource, type: resource.resourceType, path: resource.resourceType }], resource);
    },
  };
}

/** Rejects (to the fallback) plain paths the model does not know, rather than silently finding nothing. */
function assertKnownPaths(expression: string, basePath: string): void {
  for (const term of splitUnion(expression)) {
    const m = /^\(*([A-Za-z][A-Za-z0-9]*)((?:\.[a-z][A-Za-z0-9]*)*)/.exec(term);
    if (!m || !m[2]) continue;
    const rooted = /^[A-Z]/.test(m[1]);
    let paths = [rooted ? (basePath === m[1] || m[1] === 'Resource' || m[1] === 'DomainResource' ? basePath : m[1]) : basePath];
    const segments = (rooted ? m[2] : `.${m[1]}${m[2]}`).slice(1).split('.');
    for (const seg of segments) {
      const next = paths.flatMap((p) => childrenOf(p, seg)).filter((c) => !c.resource);
      if (next.length === 0) {
        if (paths.length && !paths.some((p) => childrenOf(p, seg).some((c) => c.resource))) throw new Unsupported(`unknown element ${seg}`);
        break;
      }
      paths = next.map((c) => c.path);
    }
  }
}
