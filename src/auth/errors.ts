import { FhirError } from '../fhir/errors.js';

/**
 * 401 for missing or bad credentials. RFC 6750 allows leaving out `error` when no token was sent;
 * Kiln always sends error="invalid_token" so that clients need to handle one shape.
 */
export function invalidToken(description: string): FhirError {
  const quoted = description.replace(/["\\]/g, '');
  return new FhirError('unauthorized', `Authentication failed: ${description}`, {
    headers: { 'www-authenticate': `Bearer realm="kiln", error="invalid_token", error_description="${quoted}"` },
  });
}

/** 401 for a missing or unknown API key (no Bearer scheme applies). */
export function invalidApiKey(description: string): FhirError {
  return new FhirError('unauthorized', `Authentication failed: ${description}`, {
    headers: { 'www-authenticate': 'ApiKey realm="kiln", header="x-api-key"' },
  });
}

/** The identity provider (JWKS, discovery, introspection) could not be reached: not the caller's fault. */
export function providerUnavailable(what: string): FhirError {
  return new FhirError('unavailable', `Cannot verify credentials right now: ${what} is unreachable`, { headers: { 'retry-after': '5' } });
}
