import type { Resource } from '../fhir/types.js';
import { r4Model } from './model.js';
import { assertFhirpath, fhirpathEvaluator } from './path-fallback.js';
import {
  type PathNode,
  type Step,
  childStep,
  childrenOf,
  emptyStep,
  equalityStep,
  existsStep,
  extensionStep,
  firstStep,
  identity,
  indexStep,
  lastStep,
  literal,
  logicStep,
  notStep,
  pipeline,
  resolveStep,
  rootNode,
  typeFilterStep,
  typeTestStep,
  whereStep,
} from './path-steps.js';

export type { PathNode } from './path-steps.js';
export { referencedType } from './path-steps.js';

/**
 * A compiler for the FHIRPath subset SearchParameter expressions use: paths, unions, `as`/`is`,
 * `ofType()`, `where()`, `resolve()` (as a type test only), `extension('url')`, `exists()`,
 * `empty()`, `not()`, `first()`, `last()`, `[n]`, `=`/`!=`, `and`/`or`, literals, `%resource`.
 * Results carry their FHIR type from the R4 model, which extraction needs (an Identifier and a
 * ContactPoint look alike as JSON). Anything else is handed to the `fhirpath` package.
 */

export interface CompiledPath {
  evaluate(resource: Resource, focus?: readonly PathNode[]): PathNode[];
  /** Model paths of the results, known at compile time (used to compile composite components). */
  readonly resultPaths: readonly string[];
  /** False when the expression is evaluated by the `fhirpath` package. */
  readonly fast: boolean;
}

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

const TOKEN = /\s*(?:(`[^`]+`|[%$]?[A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*')|(\d+(?:\.\d+)?)|(!=|[.()[\]|=,]))/y;

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

// ---- parser -----------------------------------------------------------------------------------

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: string[],
    private readonly baseType: string,
  ) {}

  parseAll(): Step {
    const step = this.or();
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

  private or(): Step {
    let left = this.and();
    while (this.peek() === 'or') {
      this.take();
      left = logicStep(left, this.and(), 'or');
    }
    return left;
  }

  private and(): Step {
    let left = this.equality();
    while (this.peek() === 'and') {
      this.take();
      left = logicStep(left, this.equality(), 'and');
    }
    return left;
  }

  private equality(): Step {
    const left = this.union();
    const op = this.peek();
    if (op !== '=' && op !== '!=') return left;
    this.take();
    return equalityStep(left, this.union(), op === '!=');
  }

  private union(): Step {
    const terms = [this.typeExpression()];
    while (this.peek() === '|') {
      this.take();
      terms.push(this.typeExpression());
    }
    if (terms.length === 1) return terms[0];
    return (nodes, resource) => {
      const out: PathNode[] = [];
      for (const term of terms) for (const node of term(nodes, resource)) out.push(node);
      return out;
    };
  }

  private typeExpression(): Step {
    let step = this.postfix();
    for (let op = this.peek(); op === 'as' || op === 'is'; op = this.peek()) {
      this.take();
      const type = this.typeName();
      step = op === 'as' ? pipeline([step, typeFilterStep(type)]) : typeTestStep(step, type);
    }
    return step;
  }

  private postfix(): Step {
    const steps: Step[] = [this.primary()];
    for (;;) {
      const t = this.peek();
      if (t === '.') {
        this.take();
        const token = this.take();
        if (!/^[A-Za-z_`]/.test(token)) throw new Unsupported(`unexpected '${token}'`);
        const name = ident(token);
        steps.push(this.peek() === '(' ? this.functionCall(name) : childStep(name));
      } else if (t === '[') {
        this.take();
        const index = Number(this.take());
        this.take(']');
        if (!Number.isInteger(index)) throw new Unsupported('index');
        steps.push(indexStep(index));
      } else break;
    }
    return pipeline(steps);
  }

  private primary(): Step {
    const t = this.take();
    if (t === '(') {
      const inner = this.or();
      this.take(')');
      return inner;
    }
    if (t === '%resource' || t === '%rootResource') return (_nodes, resource) => [rootNode(resource)];
    if (t === '$this') return identity;
    if (t.startsWith("'")) return literal(unquote(t));
    if (/^\d/.test(t)) return literal(Number(t));
    if (t === 'true' || t === 'false') return literal(t === 'true');
    if (!/^[A-Za-z_`]/.test(t)) throw new Unsupported(`unexpected '${t}'`);
    const name = ident(t);
    if (this.peek() === '(') return this.functionCall(name);
    if (/^[A-Z]/.test(name)) {
      if (name === this.baseType || name === 'Resource' || name === 'DomainResource') return identity;
      if (r4Model().type2Parent[name] !== undefined) return () => []; // rooted at another type
    }
    return childStep(name);
  }

  private functionCall(name: string): Step {
    this.take('(');
    let step: Step;
    switch (name) {
      case 'as':
      case 'ofType':
        step = typeFilterStep(this.typeName());
        break;
      case 'where':
        step = whereStep(this.or());
        break;
      case 'extension':
        step = extensionStep(unquote(this.take()));
        break;
      case 'resolve':
        step = resolveStep;
        break;
      case 'exists':
        step = existsStep;
        break;
      case 'empty':
        step = emptyStep;
        break;
      case 'not':
        step = notStep;
        break;
      case 'first':
        step = firstStep;
        break;
      case 'last':
        step = lastStep;
        break;
      default:
        throw new Unsupported(`function ${name}()`);
    }
    this.take(')');
    return step;
  }

  private typeName(): string {
    let name = this.take();
    if ((name === 'FHIR' || name === 'System') && this.peek() === '.') {
      this.take();
      name = this.take();
    }
    if (!/^[A-Za-z]+$/.test(name)) throw new Unsupported('type name');
    return name;
  }
}

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

// ---- entry point ------------------------------------------------------------------------------

/**
 * Compiles `expression` for resources (or elements) of `baseType`; `basePath` is the model path
 * of the focus when that is an element (e.g. `Observation.component` for composite components).
 */
export function compilePath(expression: string, baseType: string, basePath: string = baseType): CompiledPath {
  let step: Step;
  try {
    step = new Parser(tokenize(expression), baseType).parseAll();
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    const isResource = basePath === baseType && r4Model().type2Parent[baseType] !== undefined;
    return { fast: false, resultPaths: [basePath], evaluate: fhirpathEvaluator(expression, basePath, isResource) };
  }
  return {
    fast: true,
    resultPaths: resultPaths(expression, basePath),
    evaluate(resource, focus) {
      return step((focus as PathNode[] | undefined) ?? [rootNode(resource)], resource);
    },
  };
}

/**
 * Throws when `expression` cannot be evaluated for `baseType`: a syntax error, or (for
 * expressions beyond the compiled subset) a function the `fhirpath` package does not implement.
 */
export function assertCompiles(expression: string, baseType: string, basePath: string = baseType): void {
  if (compilePath(expression, baseType, basePath).fast) return;
  assertFhirpath(expression, basePath, basePath === baseType && r4Model().type2Parent[baseType] !== undefined);
}
