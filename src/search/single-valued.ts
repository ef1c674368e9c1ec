import { singleValuedElement } from '../fhir/summary-elements.js';
import type { SearchParamDefinition } from './parameters.js';

/**
 * Whether a parameter indexes at most one value per resource: its expression is a plain path
 * (`Patient.birthDate`, `Observation.effective`) through elements that each hold at most one
 * value. Every date value (a Period or a Timing too) gives one index row, so two conditions on
 * such a parameter may be tested on the same row.
 */
const cache = new Map<string, boolean>();
const PLAIN_PATH = /^([A-Z][A-Za-z]*)(\.[a-z][A-Za-z0-9]*)+$/;

export function isSingleValued(param: SearchParamDefinition): boolean {
  const key = `${param.base} ${param.expression ?? ''}`;
  let single = cache.get(key);
  if (single === undefined) {
    const expression = param.expression?.trim() ?? '';
    const match = PLAIN_PATH.exec(expression);
    single = match !== null && match[1] === param.base && singleValuedElement(expression) !== undefined;
    cache.set(key, single);
  }
  return single;
}
