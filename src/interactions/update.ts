// update: https://hl7.org/fhir/R4/http.html#update
import { invalid } from '../fhir/errors.js';
import type { Resource } from '../fhir/types.js';
import type { StoredVersion, WriteMethod } from '../store/types.js';
import { checkIfMatch } from './preconditions.js';
import { writeResponse } from './respond.js';
import { inTransaction } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { bodyAsResource, writeResource } from './write.js';

export async function update(ctx: InteractionContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const resource = bodyAsResource(request.body, resourceType);
  if (resource.id === undefined) throw invalid('The resource in an update must have an id', [`${resourceType}.id`], 'required');
  if (resource.id !== id) throw invalid(`The id '${String(resource.id)}' in the body does not match the id '${id}' in the URL`, [`${resourceType}.id`]);
  return replaceVersion(ctx, request, resourceType, id, () => resource, 'PUT');
}

/**
 * Shared by update and patch: under the row lock, checks If-Match, derives the new content from
 * the current version, and writes it. A missing or deleted resource is (re)created: 201.
 */
export async function replaceVersion(
  ctx: InteractionContext,
  request: FhirRequest,
  resourceType: string,
  id: string,
  nextContent: (current: StoredVersion | undefined) => Resource,
  method: WriteMethod,
): Promise<FhirResponse> {
  const { version, created } = await inTransaction(ctx, async (tx) => {
    const current = await tx.readCurrentForUpdate(request.tenant, resourceType, id);
    checkIfMatch(request.headers['if-match'], current);
    const written = await writeResource(ctx, tx, request.tenant, nextContent(current), id, current, method, request.baseUrl);
    return { version: written, created: !current || current.deleted };
  });
  return writeResponse(request, created ? 201 : 200, version, `${created ? 'Created' : 'Updated'} ${resourceType}/${id}`);
}
