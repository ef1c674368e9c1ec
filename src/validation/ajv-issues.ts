/** Turns ajv errors into FHIR issues with FHIRPath-like element paths and readable diagnostics. */
import type { ErrorObject } from 'ajv';
import type { Issue, IssueCode } from '../fhir/errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One path step in FHIRPath style: `.name`, `[0]`, or `.\`odd key\`` for names that are not identifiers. */
function step(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `.\`${key.replace(/`/g, '\\`')}\``;
}

/**
 * Follows an ajv instancePath (a JSON pointer such as `/name/0/given`) through the data, giving
 * the FHIRPath-like expression (`Patient.name[0].given`) and the value found there.
 */
export function locate(base: string, data: unknown, pointer: string): { path: string; value: unknown } {
  let path = base;
  let value = data;
  if (!pointer) return { path, value };
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      path += `[${key}]`;
      value = value[Number(key)];
    } else {
      path += step(key);
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
  }
  return { path, value };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${preview(value)})`;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

const PRIMITIVES = [
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid',
];

/**
 * The FHIR primitive type of the failing element: from the definition that raised the error
 * (`#/definitions/date/pattern`), else from a choice element's name (`valueDateTime`), as HL7
 * writes those schemas inline.
 */
function primitiveType(schemaPath: string, path: string): string | undefined {
  const fromDefinition = /.*\/definitions\/([a-z][A-Za-z0-9]*)\//.exec(schemaPath)?.[1];
  if (fromDefinition) return fromDefinition;
  const name = /[A-Za-z0-9]+$/.exec(path)?.[0] ?? '';
  let best: string | undefined;
  for (const type of PRIMITIVES) {
    const suffix = type[0].toUpperCase() + type.slice(1);
    if (name.length > suffix.length && name.endsWith(suffix) && (!best || type.length > best.length)) best = type;
  }
  return best;
}

function issue(code: IssueCode, diagnostics: string, path: string): Issue {
  return { severity: 'error', code, diagnostics, expression: [path] };
}

export function issueFromAjv(error: ErrorObject, base: string, data: unknown): Issue {
  const { path, value } = locate(base, data, error.instancePath);
  const params = error.params as Record<string, unknown>;
  const fhirType = primitiveType(error.schemaPath, path);
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      return issue('structure', `Unknown element '${name}'`, path + step(name));
    }
    case 'required': {
      const name = String(params.missingProperty);
      return issue('required', `Missing required element '${name}'`, path + step(name));
    }
    case 'type': {
      const expected = String(params.type);
      const structural = expected === 'object' || expected === 'array';
      const what = fhirType ? `Invalid ${fhirType}: expected` : 'Expected';
      return issue(structural ? 'structure' : 'value', `${what} ${article(expected)}, found ${jsonType(value)}`, path);
    }
    case 'pattern':
      return issue(
        'value',
        fhirType ? `Invalid ${fhirType} '${preview(value)}'` : `Invalid value '${preview(value)}': does not match ${String(params.pattern)}`,
        path,
      );
    case 'enum': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [];
      const list = allowed.slice(0, 12).map((v) => `'${String(v)}'`).join(', ') + (allowed.length > 12 ? ', ...' : '');
      return issue('value', `Invalid code '${preview(value)}': expected one of ${list}`, path);
    }
    case 'const':
      return issue('value', `Expected '${String(params.allowedValue)}', found '${preview(value)}'`, path);
    case 'minimum':
    case 'maximum':
      return issue('value', `${fhirType ?? 'Value'} ${preview(value)} is out of range: must be ${String(params.comparison)} ${String(params.limit)}`, path);
    default:
      return issue('structure', `Invalid element (schema keyword '${error.keyword}' failed)`, path);
  }
}
