import { randomUUID } from 'node:crypto';
import type { Resource } from '../fhir/types.js';

/**
 * Builds Bundle JSON as text so that stored resources are embedded as their stored bytes, without
 * a parse/stringify round trip.
 */
export interface EntryText {
  fullUrl?: string;
  /** Stored JSON text of the resource … */
  resourceJson?: string;
  /** … or a resource object. */
  resource?: Resource;
  search?: object;
  request?: object;
  response?: object;
}

export interface BundleHead {
  type: string;
  total?: number;
  link?: { relation: string; url: string }[];
  timestamp?: string;
}

export function bundleJson(head: BundleHead, entries: EntryText[]): string {
  const parts: string[] = [`{"resourceType":"Bundle","id":"${randomUUID()}","meta":{"lastUpdated":"${new Date().toISOString()}"}`];
  parts.push(`,"type":${JSON.stringify(head.type)}`);
  if (head.timestamp) parts.push(`,"timestamp":"${head.timestamp}"`);
  if (head.total !== undefined) parts.push(`,"total":${head.total}`);
  if (head.link?.length) parts.push(`,"link":${JSON.stringify(head.link)}`);
  if (entries.length > 0) parts.push(`,"entry":[${entries.map(entryJson).join(',')}]`);
  parts.push('}');
  return parts.join('');
}

function entryJson(entry: EntryText): string {
  const fields: string[] = [];
  if (entry.fullUrl !== undefined) fields.push(`"fullUrl":${JSON.stringify(entry.fullUrl)}`);
  const resource = entry.resourceJson ?? (entry.resource && JSON.stringify(entry.resource));
  if (resource !== undefined) fields.push(`"resource":${resource}`);
  if (entry.search) fields.push(`"search":${JSON.stringify(entry.search)}`);
  if (entry.request) fields.push(`"request":${JSON.stringify(entry.request)}`);
  if (entry.response) fields.push(`"response":${JSON.stringify(entry.response)}`);
  return `{${fields.join(',')}}`;
}
