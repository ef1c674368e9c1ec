// create: https://hl7.org/fhir/R4/http.html#create
import { writeResponse } from './respond.js';
import { inTransaction } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { bodyAsResource, newResourceId, writeResource } from './write.js';

/**
 * The server assigns the id; one in the body is ignored (http.html#create). A transaction Bundle
 * passes `assignedId` so that references to the entry's fullUrl resolve before the write.
 */
export async function create(ctx: InteractionContext, request: FhirRequest, resourceType: string, assignedId?: string): Promise<FhirResponse> {
  const resource = bodyAsResource(request.body, resourceType);
  const id = assignedId ?? newResourceId();
  const version = await inTransaction(ctx, (tx) => writeResource(ctx, tx, request.tenant, resource, id, undefined, 'POST'));
  return writeResponse(request, 201, version, `Created ${resourceType}/${id}`);
}
