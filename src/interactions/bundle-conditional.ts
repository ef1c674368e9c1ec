// The conditional parts of a transaction, resolved before any of its writes
// (http.html#trules): ifNoneExist and conditional update/patch URLs; and the search behind
// conditional references (bundle-references.ts decides when those are resolved).
import { invalid, notFound, preconditionFailed } from '../fhir/errors.js';
import type { BundleEntry } from '../fhir/types.js';
import type { StoreTransaction } from '../store/types.js';
import { describe, lockCriteria, parseConditionalReference, type Searcher, searcher, singleMatch } from './conditional.js';
import { writeResponse } from './respond.js';
import { parseRoute } from './route.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { newResourceId } from './write.js';

export interface ResolvedEntries {
  /** Server-assigned ids of the creates. */
  assignedIds: Map<number, string>;
  /** fullUrl → `Type/id`, for rewriting references. */
  identities: Map<string, string>;
  /** Entries already answered: a conditional create whose criteria matched. */
  answered: Map<number, FhirResponse>;
}

/**
 * Resolves, in the transaction `ctx.tx`, what each entry will act on. Conditional update and
 * patch URLs become instance paths (updates keep the body's id when the criteria match nothing),
 * so that the entries then run as ordinary ones. Errors name their entry through `fail`.
 */
export async function resolveEntries(
  ctx: InteractionContext,
  requests: FhirRequest[],
  entries: BundleEntry[],
  fail: (error: unknown, index: number) => unknown,
): Promise<ResolvedEntries> {
  const tx = ctx.tx!;
  const resolved: ResolvedEntries = { assignedIds: new Map(), identities: new Map(), answered: new Map() };
  for (const [index, request] of requests.entries()) {
    try {
      await resolveEntry(ctx, tx, request, index, entries[index].fullUrl, resolved);
    } catch (error) {
      throw fail(error, index);
    }
  }
  return resolved;
}

async function resolveEntry(
  ctx: InteractionContext,
  store: StoreTransaction,
  request: FhirRequest,
  index: number,
  fullUrl: string | undefined,
  resolved: ResolvedEntries,
): Promise<void> {
  const target = parseRoute(request.path, ctx.resourceTypes);
  if (target.kind !== 'type') {
    if ((request.method === 'PUT' || request.method === 'PATCH') && target.kind === 'instance' && fullUrl) resolved.identities.set(fullUrl, `${target.resourceType}/${target.id}`);
    return;
  }
  const type = target.resourceType;
  if (request.method === 'POST') {
    const ifNoneExist = request.headers['if-none-exist'];
    if (ifNoneExist !== undefined) {
      delete request.headers['if-none-exist'];
      const criteria = conditionalQueryOf(ifNoneExist);
      await lockCriteria(store, request, type, criteria);
      const existing = await singleMatch(searcher(ctx, store), request, type, criteria, 'Conditional create (ifNoneExist)');
      if (existing) {
        resolved.answered.set(index, writeResponse(request, 200, existing, `${type}/${existing.id} matches ifNoneExist; nothing was created`));
        if (fullUrl) resolved.identities.set(fullUrl, `${type}/${existing.id}`);
        return;
      }
    }
    const id = newResourceId();
    resolved.assignedIds.set(index, id);
    if (fullUrl) resolved.identities.set(fullUrl, `${type}/${id}`);
  } else if ((request.method === 'PUT' || request.method === 'PATCH') && request.query.length > 0) {
    const what = request.method === 'PUT' ? 'Conditional update' : 'Conditional patch';
    await lockCriteria(store, request, type, request.query);
    const match = await singleMatch(searcher(ctx, store), request, type, request.query, what);
    const body = request.body as { id?: unknown } | undefined;
    let id: string;
    if (match) {
      if (request.method === 'PUT' && body?.id !== undefined && body.id !== match.id) {
        throw invalid(`The id '${String(body.id)}' in the body is not the id of the ${type} the criteria match (${match.id})`);
      }
      id = match.id;
    } else if (request.method === 'PATCH') {
      throw notFound(`No ${type} matches '${describe(request.query)}'`);
    } else id = typeof body?.id === 'string' ? body.id : newResourceId();
    // A copy: the entry's resource stays as sent, for a transaction run again.
    if (request.method === 'PUT' && body && typeof body === 'object') request.body = { ...body, id };
    request.path = `${type}/${id}`;
    request.query = [];
    if (fullUrl) resolved.identities.set(fullUrl, `${type}/${id}`);
  }
}

function conditionalQueryOf(text: string): [string, string][] {
  const q = text.indexOf('?');
  return [...new URLSearchParams(q >= 0 ? text.slice(q + 1) : text)];
}

/**
 * Conditional references (`Practitioner?identifier=…`) in these bodies, each resolved to the one
 * resource it matches: none or several fail the request (412). `cache` carries answers across
 * calls (a batch resolves entry by entry).
 */
export async function conditionalReferences(
  store: Searcher,
  request: FhirRequest,
  bodies: unknown[],
  cache = new Map<string, string>(),
  texts: ReadonlySet<string> = conditionalReferenceTexts(bodies),
): Promise<Map<string, string>> {
  const resolved = new Map<string, string>();
  for (const text of texts) {
    let identity = cache.get(text);
    if (identity === undefined) {
      const { resourceType, query } = parseConditionalReference(text)!;
      const match = await singleMatch(store, request, resourceType, query, `Conditional reference '${text}'`);
      if (!match) throw preconditionFailed(`Conditional reference '${text}' matches no resource`);
      identity = `${resourceType}/${match.id}`;
      cache.set(text, identity);
    }
    resolved.set(text, identity);
  }
  return resolved;
}

/** The conditional references (`Type?criteria`) anywhere in these bodies. */
export function conditionalReferenceTexts(bodies: unknown[]): Set<string> {
  const texts = new Set<string>();
  for (const body of bodies) collect(body, texts);
  return texts;
}

function collect(node: unknown, out: Set<string>): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
    return;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (key === 'reference' && typeof value === 'string') {
      if (parseConditionalReference(value)) out.add(value);
    } else if (typeof value === 'object') collect(value, out);
  }
}
