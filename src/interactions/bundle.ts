// batch and transaction: https://hl7.org/fhir/R4/http.html#transaction
import { FhirError, invalid, tooLarge } from '../fhir/errors.js';
import { outcomeForError } from '../fhir/operation-outcome.js';
import type { Bundle, BundleEntry } from '../fhir/types.js';
import { bundleJson, type EntryText } from './bundle-json.js';
import { conditionalReferences, resolveEntries } from './bundle-conditional.js';
import { transactionReferences } from './bundle-references.js';
import { searcher } from './conditional.js';
import { entryRequest, responseEntry, statusLine } from './bundle-entry.js';
import { create } from './create.js';
import { authorized } from './authorize.js';
import { parseRoute } from './route.js';
import { route } from './router.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

export async function processBundle(ctx: InteractionContext, request: FhirRequest): Promise<FhirResponse> {
  const bundle = request.body as Bundle | undefined;
  if (!bundle || typeof bundle !== 'object' || bundle.resourceType !== 'Bundle') {
    throw invalid('POST to the server base needs a Bundle of type batch or transaction', ['Bundle']);
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw invalid(`Bundle type '${String(bundle.type)}' cannot be processed; use batch or transaction`, ['Bundle.type']);
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw invalid('Bundle.entry must be an array', ['Bundle.entry']);
  const limit = bundle.type === 'batch' ? ctx.config.limits.maxBatchEntries : ctx.config.limits.maxTransactionEntries;
  if (entries.length > limit) {
    throw tooLarge(`This ${bundle.type} has ${entries.length} entries; the limit is ${limit}`);
  }
  const results = bundle.type === 'batch' ? await batch(ctx, request, entries) : await transaction(ctx, request, entries);
  return { status: 200, json: bundleJson({ type: `${bundle.type}-response` }, withoutRepeatedFullUrls(results)) };
}

/**
 * bdl-7: one fullUrl may appear once per version. A read of a resource that the same Bundle
 * wrote returns that version again; its entry keeps the resource but drops the repeated fullUrl.
 */
function withoutRepeatedFullUrls(entries: EntryText[]): EntryText[] {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.fullUrl) continue;
    const key = `${entry.fullUrl}|${(entry.response as { etag?: string } | undefined)?.etag ?? ''}`;
    if (seen.has(key)) delete entry.fullUrl;
    else seen.add(key);
  }
  return entries;
}

/** Each entry on its own: a failure is reported in its entry and does not affect the others. */
async function batch(ctx: InteractionContext, outer: FhirRequest, entries: BundleEntry[]): Promise<EntryText[]> {
  const results: EntryText[] = [];
  const references = new Map<string, string>();
  for (const [index, entry] of entries.entries()) {
    try {
      const request = entryRequest(entry, index, outer);
      if (request.body && typeof request.body === 'object') {
        rewriteAll([request], await conditionalReferences(searcher(ctx, ctx.store), request, [request.body], references));
      }
      results.push(responseEntry(await route(ctx, request), outer.baseUrl));
    } catch (error) {
      const { status, outcome } = outcomeForError(error);
      results.push({ response: { status: statusLine(status), outcome } });
    }
  }
  return results;
}

/** Processing order of http.html#trules: deletes, creates, updates and patches, then reads. */
const phase: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/** All entries in one store transaction: every write commits, or none does. */
async function transaction(ctx: InteractionContext, outer: FhirRequest, entries: BundleEntry[]): Promise<EntryText[]> {
  const results: EntryText[] = new Array(entries.length);
  await ctx.store.transaction(async (tx) => {
    const txCtx: InteractionContext = { ...ctx, tx };
    // The entries' resources are never changed (references are rewritten into copies): a
    // transaction run again starts from them afresh. Copying every body up front instead cost
    // a tenth of a bulk load's time, most of it in garbage collection.
    const requests = entries.map((entry, index) => entryRequest(entry, index, outer));
    // Conditional creates and URLs are resolved before any write (http.html#trules).
    const { assignedIds, identities, answered } = await resolveEntries(txCtx, requests, entries, entryFailure);
    rewriteAll(requests, identities);
    checkNoOverlap(requests);
    const order = requests.map((_, index) => index).sort((a, b) => phase[requests[a].method] - phase[requests[b].method] || a - b);
    const run = (runCtx: InteractionContext, runRequests: FhirRequest[]) => runEntries(runCtx, runRequests, order, assignedIds, answered);
    rewriteAll(requests, await transactionReferences(txCtx, outer, requests, answered, run));
    const responses = await run(txCtx, requests);
    responses.forEach((response, index) => (results[index] = responseEntry(response, outer.baseUrl)));
  });
  return results;
}

/** The entries, in processing order; the responses in the entries' order. */
async function runEntries(ctx: InteractionContext, requests: FhirRequest[], order: number[], assignedIds: Map<number, string>, answered: Map<number, FhirResponse>): Promise<FhirResponse[]> {
  const responses: FhirResponse[] = new Array(requests.length);
  for (const index of order) {
    const request = requests[index];
    try {
      const target = parseRoute(request.path, ctx.resourceTypes);
      responses[index] =
        answered.get(index) ??
        (request.method === 'POST' && target.kind === 'type'
          ? await authorized(ctx, request, target, (checked) => create(checked, request, target.resourceType, assignedIds.get(index)))
          : await route(ctx, request));
    } catch (error) {
      throw entryFailure(error, index);
    }
  }
  return responses;
}

function rewriteAll(requests: FhirRequest[], identities: Map<string, string>): void {
  if (identities.size === 0) return;
  const links: Links = { identities, lengths: new Set([...identities.keys()].map((link) => link.length)) };
  for (const request of requests) {
    if (request.body && typeof request.body === 'object') request.body = rewritten(request.body, links);
  }
}

/** The links to rewrite, and their lengths: most strings of a resource have none of them (a cheap test). */
interface Links {
  identities: Map<string, string>;
  lengths: Set<number>;
}

/**
 * `node` with links to entries' fullUrls (urn:uuid: or absolute) rewritten to the identities the
 * entries got: in references, in uri-like elements, and in narrative links (http.html#trules).
 * Copy on write: `node` itself is never changed; what holds no link is shared, not copied.
 */
function rewritten(node: unknown, links: Links): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < node.length; index++) {
      const item: unknown = node[index];
      const next = typeof item === 'string' ? rewriteLink(item, links) : rewritten(item, links);
      if (next !== item) (copy ??= node.slice())[index] = next;
    }
    return copy ?? node;
  }
  const record = node as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    const value = record[key];
    const next =
      typeof value === 'string' ? (key === 'div' ? rewriteNarrativeLinks(value, links.identities) : rewriteLink(value, links)) : typeof value === 'object' ? rewritten(value, links) : value;
    if (next === value) continue;
    copy ??= { ...record };
    // A `__proto__` member of parsed JSON is an own property; assigning it would set the prototype.
    Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? record;
}

function rewriteLink(value: string, links: Links): string {
  const hash = value.indexOf('#');
  const base = hash > 0 ? hash : value.length;
  if (!links.lengths.has(base)) return value;
  const target = links.identities.get(hash > 0 ? value.slice(0, hash) : value);
  return target ? (hash > 0 ? target + value.slice(hash) : target) : value;
}

function rewriteNarrativeLinks(div: string, identities: Map<string, string>): string {
  return div.replace(/(href|src)="([^"]*)"/g, (whole, attribute: string, link: string) => {
    const target = identities.get(link);
    return target ? `${attribute}="${target}"` : whole;
  });
}

/** A transaction may not touch one resource twice (http.html#trules). */
function checkNoOverlap(requests: FhirRequest[]): void {
  const seen = new Set<string>();
  for (const [index, request] of requests.entries()) {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'POST') continue;
    // A conditional DELETE keeps its criteria: two of them on one type are different targets.
    const query = new URLSearchParams(request.query).toString();
    const identity = request.path.replace(/^\/+|\/+$/g, '') + (query ? `?${query}` : '');
    if (seen.has(identity)) throw invalid(`Bundle entry ${index}: ${identity} is the target of more than one entry of this transaction`, [`Bundle.entry[${index}]`]);
    seen.add(identity);
  }
}

/** The error that fails a whole transaction, saying which entry caused it. */
function entryFailure(error: unknown, index: number): unknown {
  if (!(error instanceof FhirError)) return error;
  const issues = error.issues.map((issue) => ({ ...issue, diagnostics: `Bundle entry ${index}: ${issue.diagnostics}` }));
  return new FhirError(error.category, issues[0]?.diagnostics ?? error.message, { issues, headers: error.headers });
}
