// Conditional references in a transaction (http.html#trules): resolved after the transaction's
// deletes, creates, updates and reads, so that `Patient?identifier=x` can match a Patient that the
// same transaction creates (or no longer match one it deletes).
import { cloneJson } from '../fhir/clone.js';
import { typesReached } from '../search/types-reached.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { conditionalReferenceTexts, conditionalReferences } from './bundle-conditional.js';
import { searcher } from './conditional.js';
import { parseConditionalReference } from './conditional.js';
import { parseRoute } from './route.js';
import { parseRequestSearch } from './search-request.js';

/** Runs a transaction's entries in processing order with this context. */
export type EntryRunner = (ctx: InteractionContext, requests: FhirRequest[]) => Promise<unknown>;

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Each conditional reference of the transaction's bodies → the `Type/id` it resolves to (one
 * match, else 412). When no entry writes a type that a reference searches — its own type, or one
 * its chains and `_has` look into — the database as it is answers. Otherwise the entries are
 * rehearsed in a savepoint (references still unresolved, no validation or authorization: the
 * real run does both), the references are resolved against the state the rehearsal leaves, and
 * the rehearsal is rolled back. The entries keep their ids, so the
 * real run, with the references replaced, writes what the rehearsal matched.
 */
export async function transactionReferences(ctx: InteractionContext, outer: FhirRequest, requests: FhirRequest[], answered: ReadonlyMap<number, FhirResponse>, run: EntryRunner): Promise<Map<string, string>> {
  const tx = ctx.tx!;
  const bodies = requests.map((request) => request.body);
  const texts = conditionalReferenceTexts(bodies);
  if (texts.size === 0) return new Map();
  const written = writtenTypes(ctx, requests, answered);
  const reached = [...texts].flatMap((text) => [...criteriaTypes(ctx, outer, text)]);
  if (!reached.some((type) => written.has(type))) return conditionalReferences(searcher(ctx, tx), outer, bodies, undefined, texts);
  return tx.tentatively(async () => {
    await run(rehearsal(ctx), requests.map(copyOf));
    return conditionalReferences(searcher(ctx, tx), outer, bodies, undefined, texts);
  });
}

function writtenTypes(ctx: InteractionContext, requests: FhirRequest[], answered: ReadonlyMap<number, FhirResponse>): Set<string> {
  const types = new Set<string>();
  requests.forEach((request, index) => {
    if (!WRITES.has(request.method) || answered.has(index)) return;
    const target = parseRoute(request.path, ctx.resourceTypes);
    if ('resourceType' in target && target.resourceType) types.add(target.resourceType);
  });
  return types;
}

/**
 * The types whose resources decide what a conditional reference matches: the type it searches and
 * every type its chains and `_has` pass through. The set is complete because a parsed chain always
 * names its target types: an untyped one fans out to every type its reference can target, and
 * one whose reference could target any type is refused (400). Criteria that do not parse answer
 * with their error whenever they are searched: their own type is enough.
 */
function criteriaTypes(ctx: InteractionContext, request: FhirRequest, text: string): Set<string> {
  const { resourceType, query } = parseConditionalReference(text)!;
  const types = new Set([resourceType]);
  let clauses;
  try {
    clauses = parseRequestSearch(ctx.searchParameters, request, query, resourceType, true).clauses;
  } catch {
    return types;
  }
  for (const type of typesReached(clauses).types) types.add(type);
  return types;
}

function rehearsal(ctx: InteractionContext): InteractionContext {
  return { ...ctx, validator: { validate: () => [] }, authorizer: undefined, checkWrite: undefined, searchRestriction: undefined };
}

function copyOf(request: FhirRequest): FhirRequest {
  return { ...request, query: [...request.query], headers: { ...request.headers }, body: cloneJson(request.body) };
}
