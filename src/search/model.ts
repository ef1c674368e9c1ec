import { createRequire } from 'node:module';
import { R4_RESOURCE_TYPES } from '../fhir/resource-types.generated.js';

/**
 * The FHIR R4 type model shipped with the `fhirpath` package (element paths → types, choice
 * elements, content references). Loaded on first use (~25 ms), never at import time.
 */
export interface R4Model {
  /** `Observation.subject` → `Reference`, `HumanName.family` → `string`. */
  path2Type: Record<string, string>;
  /** `Observation.value` → [`Quantity`, `CodeableConcept`, `String`, …]. */
  choiceTypePaths: Record<string, string[]>;
  /** `Questionnaire.item.item` → `Questionnaire.item`. */
  pathsDefinedElsewhere: Record<string, string>;
  /** `Age` → `Quantity`, `Patient` → `DomainResource`. */
  type2Parent: Record<string, string>;
}

const require = createRequire(import.meta.url);

let model: R4Model | undefined;
let resourceTypes: Set<string> | undefined;
let domainResourceTypes: Set<string> | undefined;

export function r4Model(): R4Model {
  model ??= require('fhirpath/fhir-context/r4') as R4Model;
  return model;
}

/** True when `type` is `ancestor` or derives from it (`Age` is a `Quantity`). */
export function isSubtype(type: string, ancestor: string): boolean {
  const parents = r4Model().type2Parent;
  for (let t: string | undefined = type; t; t = parents[t]) if (t === ancestor) return true;
  return false;
}

/** All concrete R4 resource types (Patient, Bundle, Binary, …), without loading the model. */
export function allResourceTypes(): ReadonlySet<string> {
  resourceTypes ??= new Set(R4_RESOURCE_TYPES);
  return resourceTypes;
}

/** The R4 resources that derive from Resource directly rather than from DomainResource. */
const NOT_DOMAIN_RESOURCES = new Set(['Binary', 'Bundle', 'Parameters']);

/** Resource types that have `text`, `contained` and extensions (all but Bundle, Binary, Parameters). */
export function allDomainResourceTypes(): ReadonlySet<string> {
  domainResourceTypes ??= new Set(R4_RESOURCE_TYPES.filter((type) => !NOT_DOMAIN_RESOURCES.has(type)));
  return domainResourceTypes;
}

const PRIMITIVES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** `DateTime` (as spelled in choice lists and `as(…)`) → `dateTime`; complex types unchanged. */
export function fhirTypeName(name: string): string {
  const lower = name[0].toLowerCase() + name.slice(1);
  if (PRIMITIVES.has(lower)) return lower;
  if (name.startsWith('System.')) return systemTypeName(name);
  return name;
}

function systemTypeName(name: string): string {
  switch (name) {
    case 'System.Boolean':
      return 'boolean';
    case 'System.Integer':
      return 'integer';
    case 'System.Decimal':
      return 'decimal';
    case 'System.Date':
      return 'date';
    case 'System.DateTime':
      return 'dateTime';
    case 'System.Time':
      return 'time';
    default:
      return 'string';
  }
}
