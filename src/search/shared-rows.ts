import type { SearchParamDefinition } from './parameters.js';
import { splitUnion } from './path.js';

/**
 * Parameters whose index rows another parameter of the same type already stores. R4 has ~50:
 * `Observation.patient` is `Observation.subject.where(resolve() is Patient)`, i.e. the rows of
 * `subject` whose target is a Patient; `Observation.combo-code` is `Observation.code |
 * Observation.component.code`, the rows of `code` and `component-code` together (and
 * `combo-code-value-quantity`, on `Observation | Observation.component`, the rows of the two
 * composites with the same components on each focus). Such a
 * parameter stores no rows of its own: searches on it read the rows it shares (search/sql), so a
 * vital sign is written with a third fewer index rows. Found from the expressions alone, so a
 * changed or custom definition is handled like the base ones.
 */
export interface SharedRows {
  /** The parameters whose rows these are (all of them, together). */
  params: readonly string[];
  /** Only the rows whose reference target is of this type. */
  targetType?: string;
}

const RESOLVE_IS = /^(.*)\.where\(resolve\(\)is ([A-Z][A-Za-z]*)\)$/;

/** Union terms in one spelling (no spaces beside punctuation, no enclosing brackets), for comparing expressions. */
function termsOf(expression: string): string[] {
  return splitUnion(expression).map((term) => {
    let t = term.replace(/\s+/g, ' ').replace(/ ?([.(),]) ?/g, '$1');
    while (t.startsWith('(') && t.endsWith(')') && splitUnion(t.slice(1, -1)).length === 1 && balanced(t.slice(1, -1))) t = t.slice(1, -1);
    return t;
  });
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The parameters of one resource type that share rows, by code. A parameter that shares is never
 * shared from, so following one step always reaches stored rows.
 */
export function sharedRowsOf(params: ReadonlyMap<string, SearchParamDefinition>, isResourceType: (type: string) => boolean): Map<string, SharedRows> {
  const indexed = [...params.values()].filter((d) => !d.special && d.expression && d.type !== 'special' && (d.type !== 'composite' || d.components?.length));
  const terms = new Map(indexed.map((d) => [d.code, termsOf(d.expression!)]));
  // Composites alike in their components (types and expressions from the focus) make the same rows from the same focus.
  const kinds = new Map(indexed.map((d) => [d.code, d.type === 'composite' ? JSON.stringify(d.components!.map((c) => [c.type, termsOf(c.expression)])) : d.type]));
  const shared = new Map<string, SharedRows>();
  // Fewer terms first: a union is only made of parameters already known to store their rows.
  for (const p of [...indexed].sort((a, b) => terms.get(a.code)!.length - terms.get(b.code)!.length)) {
    const own = terms.get(p.code)!;
    const stored = indexed.filter((q) => q !== p && kinds.get(q.code) === kinds.get(p.code) && !shared.has(q.code));
    const resolved = own.length === 1 && p.type === 'reference' ? RESOLVE_IS.exec(own[0]) : null;
    if (resolved && isResourceType(resolved[2])) {
      const base = stored.find((q) => terms.get(q.code)!.length === 1 && terms.get(q.code)![0] === resolved[1]);
      if (base) shared.set(p.code, { params: [base.code], targetType: resolved[2] });
      continue;
    }
    if (own.length < 2) continue;
    const parts = stored.filter((q) => terms.get(q.code)!.length < own.length && terms.get(q.code)!.every((t) => own.includes(t)));
    const covered = new Set(parts.flatMap((q) => terms.get(q.code)!));
    if (parts.length > 0 && own.every((t) => covered.has(t))) shared.set(p.code, { params: parts.map((q) => q.code) });
  }
  return shared;
}
