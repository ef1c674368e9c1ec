// Small helpers for the auth tests' HTTP calls: a bearer token (or API key) on top of test/http's `http`.
import assert from 'node:assert/strict';
import { http, type HttpResult, type Json } from '../../http/helpers.js';

export interface Credentials {
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

export function call(base: string, method: string, path: string, credentials: Credentials = {}, body?: unknown): Promise<HttpResult> {
  const headers: Record<string, string> = { ...credentials.headers };
  if (credentials.token) headers.authorization = `Bearer ${credentials.token}`;
  if (credentials.apiKey) headers['x-api-key'] = credentials.apiKey;
  return http(base, method, path, { body, headers });
}

/** 401 with an OperationOutcome and `WWW-Authenticate: Bearer … error="invalid_token"`. */
export function assertInvalidToken(res: HttpResult, context: string): void {
  assert.equal(res.status, 401, `${context}: expected 401, got ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(res.body?.resourceType, 'OperationOutcome', context);
  const challenge = res.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer /, `${context}: WWW-Authenticate ${challenge}`);
  assert.match(challenge, /error="invalid_token"/, `${context}: WWW-Authenticate ${challenge}`);
}

export function assertStatus(res: HttpResult, status: number, context: string): Json {
  assert.equal(res.status, status, `${context}: expected ${status}, got ${res.status} ${res.text.slice(0, 400)}`);
  if (status >= 400) assert.equal(res.body?.resourceType, 'OperationOutcome', `${context}: error body`);
  return res.body;
}

export function observation(patientId: string, category: string, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { text: `${category} test` },
    subject: { reference: `Patient/${patientId}` },
    ...extra,
  };
}
