import { FhirError, invalid } from '../fhir/errors.js';
import type { Resource } from '../fhir/types.js';
import type { NewVersion, StoredVersion, StoreTransaction, WriteMethod } from '../store/types.js';
import { timeOrderedUuid } from './resource-id.js';
import type { InteractionContext } from './types.js';

export function newResourceId(): string {
  return timeOrderedUuid();
}

/** The request body as a resource of the expected type, or a 400. */
export function bodyAsResource(body: unknown, resourceType: string): Resource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('Failed to parse request body as JSON resource: expected a JSON object');
  }
  const resource = body as Resource;
  if (typeof resource.resourceType !== 'string') throw invalid('The resource has no resourceType', ['resourceType'], 'required');
  if (resource.resourceType !== resourceType) {
    throw invalid(`Resource type '${resource.resourceType}' in the body does not match '${resourceType}' in the URL`, ['resourceType']);
  }
  return resource;
}

/** Runs the configured validator; any issue makes the write a 400. */
export async function validate(ctx: InteractionContext, resource: Resource): Promise<void> {
  const issues = await ctx.validator.validate(resource);
  const errors = issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  if (errors.length > 0) {
    throw new FhirError('invalid', errors[0].diagnostics, { issues });
  }
}

/**
 * Stamps id and meta on the client's resource, validates it and appends it as the next version.
 * The JSON is serialised exactly once, here; reads return these bytes.
 */
export async function writeResource(
  ctx: InteractionContext,
  tx: StoreTransaction,
  tenant: string,
  resource: Resource,
  id: string,
  current: StoredVersion | undefined,
  method: WriteMethod,
  /** The request's base URL: absolute references to this server are indexed as local ones. */
  baseUrl?: string,
): Promise<StoredVersion> {
  const versionId = String(current ? Number(current.versionId) + 1 : 1);
  const lastUpdated = nextTimestamp(ctx, current);
  const { resourceType, id: _clientId, meta, ...elements } = resource;
  const stamped: Resource = { resourceType, id, meta: { ...meta, versionId, lastUpdated }, ...elements };
  ctx.checkWrite?.(stamped, current);
  await validate(ctx, stamped);
  const version: NewVersion = { resourceType, id, versionId, lastUpdated, deleted: false, method, json: JSON.stringify(stamped), resource: stamped };
  if (baseUrl) version.baseUrls = [baseUrl];
  await tx.writeVersion(tenant, version);
  return { resourceType, id, versionId, lastUpdated, deleted: false, method, json: version.json };
}

/** Appends a deletion marker as the next version. */
export async function writeDeletion(ctx: InteractionContext, tx: StoreTransaction, tenant: string, current: StoredVersion): Promise<StoredVersion> {
  ctx.checkWrite?.(undefined, current);
  const versionId = String(Number(current.versionId) + 1);
  const lastUpdated = nextTimestamp(ctx, current);
  const version: NewVersion = { resourceType: current.resourceType, id: current.id, versionId, lastUpdated, deleted: true, method: 'DELETE' };
  await tx.writeVersion(tenant, version);
  return { ...version };
}

/** Now, but never earlier than the previous version, so history order and `_since` agree. */
function nextTimestamp(ctx: InteractionContext, current: StoredVersion | undefined): string {
  const now = ctx.now().toISOString();
  return current && current.lastUpdated > now ? current.lastUpdated : now;
}
