/**
 * Shared helpers for the black-box HTTP tests in test/http/. These talk to a real Kiln server over
 * the socket with the global fetch; they know nothing about Kiln's internals. Every expectation in
 * these tests is taken from the FHIR R4 specification (https://hl7.org/fhir/R4/http.html,
 * https://hl7.org/fhir/R4/bundle.html), from the HTTP RFCs it builds on, or — where the spec leaves
 * a choice — from a Kiln decision that is named as such in a comment next to the assertion.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface HttpResult {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: Json;
  /** The raw body text. */
  text: string;
}

export interface RequestOptions {
  /** A JSON value to send (serialised with JSON.stringify). */
  body?: unknown;
  /** Raw body text to send as is (takes precedence over `body`). */
  rawBody?: string;
  /** Extra or overriding request headers. */
  headers?: Record<string, string>;
}

export const FHIR_JSON = 'application/fhir+json';

/**
 * Sends one request. `path` is relative to the FHIR base (`Patient/1`, `/Patient/1`, `` for the
 * base itself, `?x=1`) or an absolute URL (e.g. a Bundle `next` link).
 * Defaults: `Accept: application/fhir+json`, and `Content-Type: application/fhir+json` when a body
 * is sent.
 */
export async function http(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
  const url = resolveUrl(baseUrl, path);
  const headers: Record<string, string> = { accept: FHIR_JSON };
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] = FHIR_JSON;
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const response = await fetch(url, { method, headers, body: payload });
  const text = await response.text();
  let body: Json;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  return { status: response.status, headers: response.headers, body, text };
}

export const get = (baseUrl: string, path: string, headers?: Record<string, string>) => http(baseUrl, 'GET', path, { headers });
export const post = (baseUrl: string, path: string, body: unknown, headers?: Record<string, string>) => http(baseUrl, 'POST', path, { body, headers });
export const put = (baseUrl: string, path: string, body: unknown, headers?: Record<string, string>) => http(baseUrl, 'PUT', path, { body, headers });
export const del = (baseUrl: string, path: string, headers?: Record<string, string>) => http(baseUrl, 'DELETE', path, { headers });

export function resolveUrl(baseUrl: string, path: string): string {
  if (/^https?:\/\//.test(path)) return path;
  const base = baseUrl.replace(/\/+$/, '');
  if (path === '') return base;
  if (path.startsWith('?')) return base + path;
  return `${base}/${path.replace(/^\/+/, '')}`;
}

/** A fresh, valid FHIR id (the id type allows [A-Za-z0-9\-\.]{1,64}). */
export const newId = () => `t-${randomUUID()}`;

/** A unique string to tag a resource with, so tests never depend on each other's data. */
export const unique = (prefix = 'kiln') => `${prefix}-${randomUUID()}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const weakEtag = (versionId: string | number) => `W/"${versionId}"`;

/** A small valid Patient with a unique family name. */
export function patient(family = unique('fam'), extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', name: [{ family, given: ['Test'] }], ...extra };
}

/**
 * http.html "Content Types and encodings": the FHIR JSON mime type, and "requests and responses
 * SHALL explicitly set the character encoding to UTF-8 using the charset parameter".
 * `alsoAllowPlainJson` accepts `application/json` too (what a client asked for with
 * `Accept: application/json`, which the server SHOULD honour).
 */
export function assertFhirJsonContentType(res: HttpResult, alsoAllowPlainJson = false) {
  const contentType = res.headers.get('content-type') ?? '';
  const [mime, ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const allowed = alsoAllowPlainJson ? ['application/fhir+json', 'application/json'] : ['application/fhir+json'];
  assert.ok(allowed.includes(mime), `Content-Type should be ${allowed.join(' or ')}, got "${contentType}"`);
  assert.ok(
    params.some((param) => param.replace(/\s+/g, '').replace(/"/g, '') === 'charset=utf-8'),
    `Content-Type should declare charset=utf-8, got "${contentType}"`,
  );
}

const severities = new Set(['fatal', 'error', 'warning', 'information']);

/**
 * Asserts an error response: the expected status(es), a FHIR JSON content type, and a body that
 * is an OperationOutcome with at least one issue, each with the mandatory severity and code
 * (OperationOutcome.issue.severity and .code are 1..1). http.html: "In case of failure, servers
 * SHOULD always return a body that contains an OperationOutcome resource."
 * Returns the OperationOutcome.
 */
export function assertOperationOutcome(res: HttpResult, expectedStatus: number | number[], context = ''): Json {
  const statuses = Array.isArray(expectedStatus) ? expectedStatus : [expectedStatus];
  assert.ok(
    statuses.includes(res.status),
    `${context ? context + ': ' : ''}expected status ${statuses.join(' or ')}, got ${res.status}: ${res.text.slice(0, 500)}`,
  );
  assertFhirJsonContentType(res);
  assert.ok(res.body, `${context ? context + ': ' : ''}expected a JSON OperationOutcome body, got "${res.text.slice(0, 200)}"`);
  assert.equal(res.body.resourceType, 'OperationOutcome', `${context}: body should be an OperationOutcome: ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(res.body.issue) && res.body.issue.length >= 1, 'OperationOutcome needs at least one issue');
  for (const issue of res.body.issue) {
    assert.ok(severities.has(issue.severity), `issue.severity invalid: ${JSON.stringify(issue)}`);
    assert.equal(typeof issue.code, 'string', `issue.code missing: ${JSON.stringify(issue)}`);
    assert.ok(issue.code.length > 0);
  }
  if (res.status >= 400) {
    assert.ok(
      res.body.issue.some((issue: Json) => issue.severity === 'error' || issue.severity === 'fatal'),
      'an error response should carry at least one issue of severity error or fatal',
    );
  }
  assertNoStackTrace(res.text);
  return res.body;
}

/** Error bodies must not leak implementation detail such as stack traces or file paths. */
export function assertNoStackTrace(text: string) {
  assert.doesNotMatch(text, /\n\s+at \S+ \(|at [\w.<>]+ \(\/|node_modules|\.ts:\d+:\d+/, 'response leaks a stack trace or source path');
}

/** All diagnostics / details text of an OperationOutcome, joined, for message checks. */
export function outcomeText(outcome: Json): string {
  return (outcome?.issue ?? [])
    .map((issue: Json) => [issue.diagnostics, issue.details?.text, ...(issue.expression ?? []), ...(issue.location ?? [])].filter(Boolean).join(' '))
    .join(' | ');
}

/** Creates a resource by POST and asserts the 201; returns the created resource as returned by the server. */
export async function create(baseUrl: string, resource: Json): Promise<Json> {
  const res = await http(baseUrl, 'POST', resource.resourceType, { body: resource, headers: { prefer: 'return=representation' } });
  assert.equal(res.status, 201, `create ${resource.resourceType} failed: ${res.status} ${res.text.slice(0, 500)}`);
  assert.ok(res.body?.id, 'created resource should carry a server-assigned id');
  return res.body;
}

/** Updates (PUT) a resource and asserts 200/201; returns the server's representation. */
export async function update(baseUrl: string, resource: Json, headers: Record<string, string> = {}): Promise<Json> {
  const res = await http(baseUrl, 'PUT', `${resource.resourceType}/${resource.id}`, {
    body: resource,
    headers: { prefer: 'return=representation', ...headers },
  });
  assert.ok([200, 201].includes(res.status), `update ${resource.resourceType}/${resource.id} failed: ${res.status} ${res.text.slice(0, 500)}`);
  return res.body;
}

/** Deletes a resource and asserts a success status (200, 202 or 204 — all allowed by http.html#delete). */
export async function remove(baseUrl: string, type: string, id: string): Promise<HttpResult> {
  const res = await http(baseUrl, 'DELETE', `${type}/${id}`);
  assert.ok([200, 202, 204].includes(res.status), `delete ${type}/${id} failed: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

/** Resolves a Location header (absolute or relative — http.html#create: "The Location MAY be an absolute or relative URL"). */
export function absoluteLocation(baseUrl: string, location: string | null): string {
  assert.ok(location, 'Location header missing');
  return new URL(location, baseUrl.replace(/\/?$/, '/')).toString();
}

/** Asserts a Last-Modified header that is a valid HTTP-date equal to meta.lastUpdated (to the second). */
export function assertLastModifiedMatches(res: HttpResult, lastUpdated: string) {
  const header = res.headers.get('last-modified');
  assert.ok(header, 'Last-Modified header missing');
  assert.match(header, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, `Last-Modified is not an IMF-fixdate: ${header}`);
  const headerMs = Date.parse(header);
  const metaMs = Date.parse(lastUpdated);
  assert.ok(!Number.isNaN(metaMs), `meta.lastUpdated is not a valid instant: ${lastUpdated}`);
  assert.equal(headerMs, Math.floor(metaMs / 1000) * 1000, `Last-Modified ${header} does not match meta.lastUpdated ${lastUpdated}`);
}

/** FHIR instant: YYYY-MM-DDThh:mm:ss(.sss)(Z|+hh:mm), seconds and zone mandatory. */
export const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Follows a Bundle's `next` links from `firstPath`, returning every page (the first included). */
export async function allPages(baseUrl: string, firstPath: string, maxPages = 100): Promise<Json[]> {
  const pages: Json[] = [];
  let next: string | undefined = firstPath;
  const seen = new Set<string>();
  while (next) {
    assert.ok(!seen.has(next), `paging loops: next link ${next} was already visited`);
    seen.add(next);
    const res = await get(baseUrl, next);
    assert.equal(res.status, 200, `page ${next}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.body?.resourceType, 'Bundle');
    pages.push(res.body);
    next = linkUrl(res.body, 'next');
    assert.ok(pages.length <= maxPages, 'too many pages');
  }
  return pages;
}

export function linkUrl(bundle: Json, relation: string): string | undefined {
  return (bundle.link ?? []).find((link: Json) => link.relation === relation)?.url;
}

/** Parses a Bundle entry response status ("201 Created" → 201). bundle.html: it SHALL start with a 3 digit HTTP code. */
export function entryStatus(entry: Json): number {
  const status = entry?.response?.status;
  assert.equal(typeof status, 'string', `entry.response.status missing: ${JSON.stringify(entry)}`);
  assert.match(status, /^\d{3}(\s.*)?$/, `entry.response.status should start with a 3 digit code: ${status}`);
  return Number(status.slice(0, 3));
}

/** The versionId inside a weak ETag `W/"3"` (also tolerates a strong `"3"` for parsing). */
export function etagVersion(etag: string | null | undefined): string | undefined {
  const match = /^(?:W\/)?"([^"]*)"$/.exec(etag ?? '');
  return match?.[1];
}
