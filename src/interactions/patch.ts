// patch: https://hl7.org/fhir/R4/http.html#patch (JSON Patch, RFC 6902)
import fastJsonPatch from 'fast-json-patch';
import { cloneJson } from '../fhir/clone.js';
import { FhirError, gone, invalid, notFound, unprocessable } from '../fhir/errors.js';
import type { Resource } from '../fhir/types.js';
import { replaceVersion } from './update.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

const { applyPatch, JsonPatchError } = fastJsonPatch;
type Operation = fastJsonPatch.Operation;

export const JSON_PATCH_TYPE = 'application/json-patch+json';

/** Errors in the patch document itself (400) as opposed to a patch that cannot apply (422). */
const malformedPatchErrors = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

export async function patch(ctx: InteractionContext, request: FhirRequest, resourceType: string, id: string): Promise<FhirResponse> {
  const contentType = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (contentType !== JSON_PATCH_TYPE) {
    throw new FhirError('unsupported-media-type', `PATCH needs a JSON Patch document (Content-Type: ${JSON_PATCH_TYPE}); FHIRPath Patch and XML Patch are not supported`);
  }
  if (!Array.isArray(request.body)) throw invalid('A JSON Patch document must be a JSON array of operations');
  const operations = request.body as Operation[];
  return replaceVersion(ctx, request, resourceType, id, (current) => {
    if (!current) throw notFound(`${resourceType}/${id} is not known`);
    if (current.deleted) throw gone(`${resourceType}/${id} has been deleted`);
    const patched = applyOperations(JSON.parse(current.json!) as Resource, operations);
    if (patched?.resourceType !== resourceType || patched.id !== id) {
      throw unprocessable('A patch may not change the resourceType or id of a resource');
    }
    return patched;
  }, 'PATCH');
}

function applyOperations(document: Resource, operations: Operation[]): Resource {
  try {
    // On copies: applyPatch puts an `add`'s value into the document by reference, where later
    // operations change it, and the store may run this write again from the same operations.
    return applyPatch(document, cloneJson(operations), true, true).newDocument;
  } catch (error) {
    if (error instanceof JsonPatchError) {
      const message = `JSON Patch failed: ${error.message.split('\n')[0]}`;
      throw malformedPatchErrors.has(error.name) ? invalid(message) : unprocessable(message);
    }
    throw error;
  }
}
