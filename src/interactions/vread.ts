// vread: https://hl7.org/fhir/R4/http.html#vread
import { notFound } from '../fhir/errors.js';
import { versionResponse } from './read.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

export async function vread(ctx: InteractionContext, request: FhirRequest, resourceType: string, id: string, versionId: string): Promise<FhirResponse> {
  const version = await reader(ctx).readVersion(request.tenant, resourceType, id, versionId);
  if (!version) {
    const current = await reader(ctx).readCurrent(request.tenant, resourceType, id);
    throw notFound(current ? `${resourceType}/${id} has no version ${versionId}` : `${resourceType}/${id} is not known`);
  }
  return versionResponse(request, version, `${resourceType}/${id}/_history/${versionId}`);
}
