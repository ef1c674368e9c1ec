/** Helpers shared by the search tests (test/http/search-*.test.ts). */
import assert from 'node:assert/strict';
import { create, get, type HttpResult, type Json } from './helpers.js';

/** GET a search and assert a searchset Bundle. */
export async function searchset(base: string, path: string, headers?: Record<string, string>): Promise<Json> {
  const res = await get(base, path, headers);
  assert.equal(res.status, 200, `${path}: ${res.status} ${res.text.slice(0, 400)}`);
  assert.equal(res.body.resourceType, 'Bundle');
  assert.equal(res.body.type, 'searchset');
  return res.body;
}

/** The ids of the matches (search.mode = match), in order. */
export function matchIds(bundle: Json): string[] {
  return (bundle.entry ?? []).filter((e: Json) => e.search?.mode === 'match').map((e: Json) => e.resource.id);
}

export function includedIds(bundle: Json): string[] {
  return (bundle.entry ?? []).filter((e: Json) => e.search?.mode === 'include').map((e: Json) => e.resource.id);
}

/** The match ids of a search, sorted (for order-independent comparisons). */
export async function ids(base: string, path: string): Promise<string[]> {
  return matchIds(await searchset(base, path)).sort();
}

export async function createAll(base: string, resources: Json[]): Promise<Json[]> {
  const out: Json[] = [];
  for (const resource of resources) out.push(await create(base, resource));
  return out;
}

export const sorted = (values: string[]) => [...values].sort();

/** Asserts a 400 whose OperationOutcome names `parameter` (in diagnostics or expression). */
export function assertNamesParameter(res: HttpResult, parameter: string): void {
  assert.equal(res.status, 400, `expected 400, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.equal(res.body?.resourceType, 'OperationOutcome');
  assert.ok(res.text.includes(parameter), `the OperationOutcome should name '${parameter}': ${res.text.slice(0, 300)}`);
}
