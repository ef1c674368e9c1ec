import { informational } from '../fhir/operation-outcome.js';
import type { StoredVersion } from '../store/types.js';
import { etag } from './preconditions.js';
import type { FhirRequest, FhirResponse } from './types.js';

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** The `return=` value of a Prefer header (http.html#ops); representation when absent. */
export function returnPreference(prefer: string | undefined): ReturnPreference {
  const match = prefer && /(?:^|[;,\s])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(prefer);
  if (!match) return 'representation';
  const value = match[1].toLowerCase();
  return value === 'minimal' ? 'minimal' : value === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

export function versionHeaders(version: StoredVersion): Record<string, string> {
  return { etag: etag(version.versionId), 'last-modified': httpDate(version.lastUpdated) };
}

let lastHttpDate = { second: '', text: '' };

/**
 * An instant as an HTTP date, which has whole seconds: the versions a Bundle writes share their
 * second, so the last one's text is kept rather than parsing and formatting a Date for each.
 */
function httpDate(instant: string): string {
  // Kiln's own instants (toISOString: 2026-11-28T02:06:10.424Z); others are converted each time.
  if (instant.length !== 24 || instant[23] !== 'Z') return new Date(instant).toUTCString();
  const second = instant.slice(0, 19);
  if (second !== lastHttpDate.second) lastHttpDate = { second, text: new Date(instant).toUTCString() };
  return lastHttpDate.text;
}

export function versionUrl(baseUrl: string, version: StoredVersion): string {
  return `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** The answer to a successful create, update or patch: status, version headers, body as Prefer asks. */
export function writeResponse(request: FhirRequest, status: number, version: StoredVersion, message: string): FhirResponse {
  const headers = versionHeaders(version);
  if (status === 201) headers.location = versionUrl(request.baseUrl, version);
  switch (returnPreference(request.headers.prefer)) {
    case 'minimal':
      return { status, headers, version };
    case 'OperationOutcome':
      return { status, headers, version, resource: informational(message) };
    default:
      return { status, headers, version, json: version.json };
  }
}
