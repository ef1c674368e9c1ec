import type { Issue } from '../fhir/errors.js';
import type { Resource } from '../fhir/types.js';

/**
 * A resource validator. Returns the problems found (an empty list means valid). Issues carry the
 * element path in `expression`, e.g. `Patient.name[0].given`.
 */
export interface Validator {
  validate(resource: Resource): Issue[] | Promise<Issue[]>;
}
