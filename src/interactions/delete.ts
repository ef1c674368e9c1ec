// delete: https://hl7.org/fhir/R4/http.html#delete
import { informational } from '../fhir/operation-outcome.js';
import { checkIfMatch } from './preconditions.js';
import { returnPreference, versionHeaders } from './respond.js';
import { inTransaction } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { writeDeletion } from './write.js';

/**
 * Deleting appends a deletion marker as a new version; history keeps every earlier version.
 * Deleting a resource that is already deleted, or was never there, succeeds without a new version.
 */
export async function deleteResource(ctx: InteractionContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const deletion = await inTransaction(ctx, async (tx) => {
    const current = await tx.readCurrentForUpdate(request.tenant, resourceType, id);
    checkIfMatch(request.headers['if-match'], current);
    if (!current || current.deleted) return undefined;
    return writeDeletion(ctx, tx, request.tenant, current);
  });
  const headers = deletion ? versionHeaders(deletion) : {};
  const done = deletion ? { headers, version: deletion } : { headers };
  if (returnPreference(request.headers.prefer) === 'minimal') return { status: 204, ...done };
  const message = deletion ? `Deleted ${resourceType}/${id}` : `${resourceType}/${id} does not exist or was already deleted`;
  return { status: 200, ...done, resource: informational(message) };
}
