// create: https://hl7.org/fhir/R4/http.html#create, conditional create: #ccreate
import { lockCriteria, singleMatch } from './conditional.js';
import { writeResponse } from './respond.js';
import { conditionalQuery } from './search-request.js';
import { inTransaction } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { bodyAsResource, newResourceId, writeResource } from './write.js';

/**
 * The server assigns the id; one in the body is ignored (http.html#create). A transaction Bundle
 * passes `assignedId` so that references to the entry's fullUrl resolve before the write.
 * With If-None-Exist, an existing match is returned (200) instead, and several are a 412.
 */
export async function create(ctx: InteractionContext, request: FhirRequest, resourceType: string, assignedId?: string): Promise<FhirResponse> {
  const resource = bodyAsResource(request.body, resourceType);
  const id = assignedId ?? newResourceId();
  const ifNoneExist = request.headers['if-none-exist'];
  const result = await inTransaction(ctx, async (tx) => {
    if (ifNoneExist !== undefined) {
      const criteria = conditionalQuery(ifNoneExist);
      await lockCriteria(tx, request, resourceType, criteria);
      const existing = await singleMatch(ctx.searchParameters, tx, request, resourceType, criteria, 'Conditional create (If-None-Exist)');
      if (existing) return { existing };
    }
    return { created: await writeResource(ctx, tx, request.tenant, resource, id, undefined, 'POST', request.baseUrl) };
  });
  if (result.existing) return writeResponse(request, 200, result.existing, `${resourceType}/${result.existing.id} matches If-None-Exist; nothing was created`);
  return writeResponse(request, 201, result.created!, `Created ${resourceType}/${id}`);
}
