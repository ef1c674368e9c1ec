// read: https://hl7.org/fhir/R4/http.html#read
import { gone, notFound } from '../fhir/errors.js';
import type { StoredVersion } from '../store/types.js';
import { notModified } from './preconditions.js';
import { subsetForRead } from './subset.js';
import { versionHeaders } from './respond.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

export async function read(ctx: InteractionContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const current = await reader(ctx).readCurrent(request.tenant, resourceType, id);
  if (!current) throw notFound(`${resourceType}/${id} is not known`);
  return versionResponse(request, current, `${resourceType}/${id}`);
}

/** A stored version as a response: 410 for deletions, 304 when the client's copy is current. */
export function versionResponse(request: FhirRequest, version: StoredVersion, label: string): FhirResponse {
  const headers = versionHeaders(version);
  if (version.deleted) throw gone(`${label} has been deleted`, headers);
  if (notModified(request.headers, version)) return { status: 304, headers, version };
  return { status: 200, headers, version, json: subsetForRead(request.query, version.json) };
}
