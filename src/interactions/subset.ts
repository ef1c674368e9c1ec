// _summary and _elements: https://hl7.org/fhir/R4/search.html#summary, #elements
import { invalid } from '../fhir/errors.js';
import { elementSets, isElement } from '../fhir/summary-elements.js';
import type { Resource } from '../fhir/types.js';

export type Summary = 'true' | 'false' | 'text' | 'data' | 'count';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'Resource encoded in summary mode' };
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/** Whether a request's _summary/_elements changes resources at all. */
export function subsets(summary: Summary | undefined, elements: readonly string[] | undefined): boolean {
  return (summary !== undefined && summary !== 'false' && summary !== 'count') || (elements !== undefined && elements.length > 0);
}

/** The stored JSON reduced as _summary (or else _elements) asks, marked SUBSETTED. */
export function subsetJson(json: string, summary: Summary | undefined, elements: readonly string[] | undefined): string {
  const resource = JSON.parse(json) as Resource;
  const keep = keeper(resource.resourceType, summary, elements);
  if (!keep) return json;
  const out: Resource = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) if (ALWAYS.has(key) || keep(key)) out[key] = value;
  const meta = { ...(out.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []), SUBSETTED];
  out.meta = meta;
  return JSON.stringify(out);
}

function keeper(type: string, summary: Summary | undefined, elements: readonly string[] | undefined): ((key: string) => boolean) | undefined {
  const sets = elementSets(type);
  const mandatory = (key: string) => [...(sets?.mandatory ?? [])].some((name) => isElement(key, name));
  switch (summary) {
    case 'true':
      return (key) => [...(sets?.summary ?? [])].some((name) => isElement(key, name));
    case 'text':
      return (key) => key === 'text' || mandatory(key);
    case 'data':
      return (key) => key !== 'text';
    default:
      break;
  }
  if (!elements?.length) return undefined;
  // _elements names top-level elements (a path keeps its first step); mandatory ones stay.
  const names = elements.map((e) => {
    const [first, second] = e.split('.');
    return first === type && second ? second : first;
  });
  return (key) => names.some((name) => isElement(key, name) || isElement(key, `${name}[x]`)) || mandatory(key);
}

const SUMMARIES = new Set(['true', 'false', 'text', 'data', 'count']);

/** `_summary`/`_elements` on read and vread (search.html#summary applies to any GET of resources). */
export function subsetForRead(query: readonly [string, string][], json: string | undefined): string | undefined {
  let summary: Summary | undefined;
  let elements: string[] | undefined;
  for (const [name, value] of query) {
    if (name === '_summary') {
      if (!SUMMARIES.has(value)) throw invalid(`Invalid value '${value}' for parameter '_summary'`, ['_summary']);
      summary = value as Summary;
    } else if (name === '_elements') elements = [...(elements ?? []), ...value.split(',').map((e) => e.trim()).filter(Boolean)];
  }
  if (json === undefined || !subsets(summary, elements)) return json;
  return subsetJson(json, summary, elements);
}
