import type { Resource } from '../fhir/types.js';
import { compartmentParams } from '../search/compartments.js';
import type { IndexRows } from '../search/extract.js';

/**
 * Patient compartment membership (http://hl7.org/fhir/R4/compartmentdefinition-patient.html),
 * from the official CompartmentDefinition: a resource is in Patient/x's compartment when it is
 * Patient/x, or one of the reference parameters the definition names for its type refers to
 * Patient/x. Search applies the same rule in SQL (compartmentClause with `includeSelf`).
 */
export function inPatientCompartment(resource: Resource, patientId: string, rows: () => IndexRows): boolean {
  if (resource.resourceType === 'Patient' && resource.id === patientId) return true;
  const params = compartmentParams('Patient')!.get(resource.resourceType);
  if (!params) return false;
  return rows().reference.some((row) => params.includes(row.param) && row.targetType === 'Patient' && row.targetId === patientId);
}
