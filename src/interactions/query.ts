import { invalid } from '../fhir/errors.js';
import type { FhirRequest } from './types.js';

/** The last value of a query parameter, if present. */
export function queryValue(request: FhirRequest, name: string): string | undefined {
  let value: string | undefined;
  for (const [key, v] of request.query) if (key === name) value = v;
  return value;
}

/** `_count`: a non-negative integer, capped at the configured maximum. */
export function pageSize(request: FhirRequest, defaultSize: number, maxSize: number): number {
  const raw = queryValue(request, '_count');
  if (raw === undefined) return defaultSize;
  if (!/^\d{1,9}$/.test(raw)) throw invalid(`Invalid _count '${raw}': expected a non-negative integer`, ['_count']);
  return Math.min(Number(raw), maxSize);
}

/** The request's own URL, with some parameters replaced (for Bundle links). */
export function requestUrl(request: FhirRequest, replace: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of request.query) if (!(key in replace)) params.append(key, value);
  for (const [key, value] of Object.entries(replace)) if (value !== undefined) params.append(key, value);
  const search = params.toString();
  return `${request.baseUrl}/${request.path.replace(/^\/+/, '')}${search ? `?${search}` : ''}`;
}
