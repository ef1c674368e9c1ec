import { FhirError } from '../fhir/errors.js';

/** The JSON media types Kiln reads and writes (application/json+fhir is the STU3 name). */
export const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
const FORMAT_ALIASES: Record<string, string> = { json: 'application/fhir+json', 'application/fhir+json': 'application/fhir+json', 'application/json': 'application/json', 'application/json+fhir': 'application/json+fhir' };

/**
 * The response media type for a request (http.html#mime-type): `_format` wins over Accept.
 * Anything but JSON is a 406 that says what is supported.
 */
export function responseType(accept: string | undefined, format: string | undefined): string {
  if (format !== undefined) {
    const type = FORMAT_ALIASES[format.trim().toLowerCase()];
    if (!type) throw notAcceptable(format);
    return type;
  }
  if (!accept) return JSON_TYPES[0];
  const ranges = accept.split(',').map((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: type.trim(), q: q ? Number(q.slice(2)) : 1 };
  });
  const accepted = ranges.filter((range) => range.q > 0).sort((a, b) => b.q - a.q);
  for (const { type } of accepted) {
    if (JSON_TYPES.includes(type)) return type;
    if (type === '*/*' || type === 'application/*') return JSON_TYPES[0];
  }
  throw notAcceptable(accept);
}

function notAcceptable(requested: string): FhirError {
  const xml = /xml/i.test(requested) ? ' XML is not supported yet.' : '';
  return new FhirError('not-acceptable', `Cannot respond with '${requested}'.${xml} Supported: ${JSON_TYPES.join(', ')}`);
}

export function unsupportedMediaType(contentType: string | undefined): FhirError {
  const xml = contentType && /xml/i.test(contentType) ? ' XML is not supported yet.' : '';
  return new FhirError('unsupported-media-type', `Unsupported Content-Type '${contentType ?? ''}'.${xml} Send application/fhir+json (or application/json-patch+json for PATCH)`);
}
