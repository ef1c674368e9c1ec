// Conditional update, patch and delete: https://hl7.org/fhir/R4/http.html#cond-update,
// #patch ("conditional patch") and #cdelete. The criteria are the request's query string.
import { conflict, invalid, notFound, preconditionFailed } from '../fhir/errors.js';
import { informational } from '../fhir/operation-outcome.js';
import { conditionalMatches, describe, lockCriteria, singleMatch } from './conditional.js';
import { deleteResource } from './delete.js';
import { patch } from './patch.js';
import { returnPreference } from './respond.js';
import { inTransaction } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { update } from './update.js';
import { bodyAsResource, newResourceId } from './write.js';

/**
 * One match: update it. No match: create (with the body's id if it has one and that id is free,
 * else a new one). Several: 412. The search and the write share one transaction.
 */
export function conditionalUpdate(ctx: InteractionContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const resource = bodyAsResource(request.body, resourceType);
  return inTransaction(ctx, async (tx) => {
    await lockCriteria(tx, request, resourceType, request.query);
    const match = await singleMatch(ctx.searchParameters, tx, request, resourceType, request.query, 'Conditional update');
    let id: string;
    if (match) {
      if (resource.id !== undefined && resource.id !== match.id) {
        throw invalid(`The id '${String(resource.id)}' in the body is not the id of the ${resourceType} the criteria match (${match.id})`, [`${resourceType}.id`]);
      }
      id = match.id;
    } else if (typeof resource.id === 'string') {
      const existing = await tx.readCurrent(request.tenant, resourceType, resource.id);
      if (existing && !existing.deleted) throw conflict(`${resourceType}/${resource.id} exists but does not match the criteria '${describe(request.query)}'`);
      id = resource.id;
    } else id = newResourceId();
    return update({ ...ctx, tx }, { ...request, query: [], body: { ...resource, id } }, resourceType, id);
  });
}

export function conditionalPatch(ctx: InteractionContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  return inTransaction(ctx, async (tx) => {
    const match = await singleMatch(ctx.searchParameters, tx, request, resourceType, request.query, 'Conditional patch');
    if (!match) throw notFound(`No ${resourceType} matches '${describe(request.query)}'`);
    return patch({ ...ctx, tx }, { ...request, query: [] }, resourceType, match.id);
  });
}

/** Deletes the one match, or up to `limits.maxConditionalDeletes` matches; more is a 412. */
export function conditionalDelete(ctx: InteractionContext, request: FhirRequest, resourceType: string): Promise<FhirResponse> {
  const max = Math.max(1, ctx.config.limits.maxConditionalDeletes);
  return inTransaction(ctx, async (tx) => {
    const matches = await conditionalMatches(ctx.searchParameters, tx, request, resourceType, request.query, max + 1, 'Conditional delete');
    if (matches.length > max) {
      throw preconditionFailed(`Conditional delete: the criteria '${describe(request.query)}' match more than ${max === 1 ? 'one' : max} ${resourceType} resources`);
    }
    const plain: FhirRequest = { ...request, query: [] };
    if (matches.length === 1) return deleteResource({ ...ctx, tx }, plain, resourceType, matches[0].id);
    for (const match of matches) await deleteResource({ ...ctx, tx }, plain, resourceType, match.id);
    if (returnPreference(request.headers.prefer) === 'minimal') return { status: 204 };
    const message = matches.length === 0 ? `No ${resourceType} matches '${describe(request.query)}'; nothing was deleted` : `Deleted ${matches.length} ${resourceType} resources`;
    return { status: 200, resource: informational(message) };
  });
}
