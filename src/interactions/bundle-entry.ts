import { STATUS_CODES } from 'node:http';
import { invalid } from '../fhir/errors.js';
import type { BundleEntry, Resource } from '../fhir/types.js';
import type { EntryText } from './bundle-json.js';
import { JSON_PATCH_TYPE } from './patch.js';
import type { FhirRequest, FhirResponse } from './types.js';

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** A Bundle entry's request as a FhirRequest, so it runs through the same interaction code. */
export function entryRequest(entry: BundleEntry, index: number, outer: FhirRequest): FhirRequest {
  const request = entry.request;
  if (!request || typeof request.method !== 'string' || typeof request.url !== 'string') {
    throw invalid(`Bundle entry ${index} has no request with a method and url`, [`Bundle.entry[${index}].request`]);
  }
  const method = request.method.toUpperCase();
  if (!methods.has(method)) throw invalid(`Bundle entry ${index} has an unknown method '${request.method}'`, [`Bundle.entry[${index}].request.method`]);
  let url = request.url;
  if (url.startsWith(`${outer.baseUrl}/`)) url = url.slice(outer.baseUrl.length + 1);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw invalid(`Bundle entry ${index} has a url on another server: '${url}'`, [`Bundle.entry[${index}].request.url`]);
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const query = queryStart < 0 ? [] : [...new URLSearchParams(url.slice(queryStart + 1))];
  const headers: FhirRequest['headers'] = { 'content-type': 'application/fhir+json' };
  if (request.ifMatch) headers['if-match'] = request.ifMatch;
  if (request.ifNoneMatch) headers['if-none-match'] = request.ifNoneMatch;
  if (request.ifModifiedSince) headers['if-modified-since'] = request.ifModifiedSince;
  if (request.ifNoneExist) headers['if-none-exist'] = request.ifNoneExist;
  if (outer.headers.prefer) headers.prefer = outer.headers.prefer;
  let body: unknown = entry.resource;
  if (method === 'PATCH' && entry.resource?.resourceType === 'Binary') {
    ({ body, contentType: headers['content-type'] } = binaryPatch(entry.resource, index));
  }
  const result: FhirRequest = { method: method as FhirRequest['method'], path, query, headers, body, tenant: outer.tenant, baseUrl: outer.baseUrl };
  // Each entry is authorized as the caller of the whole Bundle.
  if (outer.principal) result.principal = outer.principal;
  return result;
}

/** In a Bundle, a JSON Patch travels as a Binary resource (http.html#patch). */
function binaryPatch(binary: Resource, index: number): { body: unknown; contentType: string } {
  const contentType = typeof binary.contentType === 'string' ? binary.contentType : '';
  try {
    return { body: JSON.parse(Buffer.from(String(binary.data ?? ''), 'base64').toString('utf8')), contentType: contentType || JSON_PATCH_TYPE };
  } catch {
    throw invalid(`Bundle entry ${index}: the Binary does not hold a JSON Patch document`, [`Bundle.entry[${index}].resource`]);
  }
}

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

/** An interaction's response as a response Bundle entry. */
export function responseEntry(response: FhirResponse, baseUrl: string): EntryText {
  const headers = response.headers ?? {};
  const version = response.version;
  const entry: EntryText = {
    response: {
      status: statusLine(response.status),
      ...(headers.location ? { location: headers.location } : {}),
      ...(headers.etag ? { etag: headers.etag } : {}),
      ...(version ? { lastModified: version.lastUpdated } : {}),
    },
  };
  if (version) entry.fullUrl = `${baseUrl}/${version.resourceType}/${version.id}`;
  if (response.json !== undefined) entry.resourceJson = response.json;
  else if (response.resource) entry.resource = response.resource;
  return entry;
}
