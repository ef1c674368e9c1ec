// Authorization of every routed request (docs/security.md): the HTTP server, each Bundle entry and
// any other front end pass through here, so no path skips the check.
import { invalidToken } from '../auth/errors.js';
import { searchLimit } from '../auth/reach-search.js';
import type { AccessTarget, Decision } from '../auth/types.js';
import { forbidden, notFound } from '../fhir/errors.js';
import type { Bundle, Resource } from '../fhir/types.js';
import { compartmentParams } from '../search/compartments.js';
import type { StoredVersion, StoreReader } from '../store/types.js';
import { type CallerAccess, callerAccess, withoutHiddenIncludes } from './authorize-access.js';
import { isSearch, searchedTypes } from './authorize-links.js';
import type { Route } from './route.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext, SearchRestriction } from './types.js';

type Allows = (resource: Resource) => boolean;
type Run = (ctx: InteractionContext) => Promise<FhirResponse>;

/**
 * Runs `run` if the caller may: 401 without a principal, 403 for another tenant or an interaction
 * the strategy denies. When the decision limits the caller to some resources of the type (SMART
 * patient/ and user/ scopes), the targeted resource is checked too — a resource outside reach is
 * a 404, exactly as if it did not exist — and what the request lists (search, $everything, type
 * and system history) is limited to the reach in SQL. Types a request searches besides its target
 * (chains, _has, conditional criteria) are limited to what the caller may search of them.
 */
export async function authorized(ctx: InteractionContext, request: FhirRequest, target: Route, run: Run): Promise<FhirResponse> {
  const authorizer = ctx.authorizer;
  if (!authorizer || target.kind === 'metadata') return run(ctx);
  const principal = request.principal;
  if (!principal) throw invalidToken('no credentials');
  if (ctx.config.tenancy.enabled && principal.tenant !== request.tenant) {
    throw forbidden(`The caller belongs to ${principal.tenant ? 'another tenant' : 'no tenant'} and may not use tenant '${request.tenant}'`);
  }
  const access = accessTarget(request, target);
  const decision = authorizer.authorize(principal, request, access);
  if (!decision.allowed) throw forbidden(decision.reason ?? 'The caller is not allowed to do this');
  const caller = callerAccess(authorizer, principal, request, ctx.searchParameters);
  // Refused before anything runs (for a Bundle, before any entry) when a searched type is not searchable at all.
  for (const type of searchedTypes(ctx.searchParameters, request, target)) caller.searchLimit(type);
  const own: InteractionContext = { ...ctx, checkWrite: undefined, searchRestriction: { linked: (type) => caller.searchLimit(type) } };

  if (isSearch(request, target)) return searchWithin(own, request, target, decision, caller, run);
  if (target.kind === 'operation' && target.name === 'everything' && target.resourceType === 'Patient') return everythingWithin(own, request, target, caller, run);
  const reach = decision.reach;
  if (!reach) return run(own);
  const allows: Allows = (resource) => authorizer.allowResource(principal, resource, decision, request.baseUrl, ctx.searchParameters);
  switch (target.kind) {
    case 'instance':
      if (request.method === 'GET' || request.method === 'HEAD') {
        await requireReachable(ctx, request, target.resourceType, target.id, allows);
        return run(own);
      }
      return run(withWriteCheck(own, allows));
    case 'type':
      // create, and conditional update, patch and delete (their criteria are limited through `linked`)
      return run(withWriteCheck(own, allows));
    case 'version':
      await requireReachable(ctx, request, target.resourceType, target.id, allows, target.versionId);
      return run(own);
    case 'instance-history':
      await requireReachable(ctx, request, target.resourceType, target.id, allows);
      return withoutUnreachableVersions(await run(own), allows);
    case 'type-history':
    case 'system-history':
      return run(restricted(own, { results: (types) => searchLimit(reach, types, request.baseUrl, own.searchParameters), visibleVersions: visibleVersions(own, request, allows) }));
    default:
      throw forbidden(`${describe(access)} is not available to callers limited to some resources of a type (SMART patient/ or user/ scopes)`);
  }
}

function restricted(ctx: InteractionContext, more: Omit<SearchRestriction, 'linked'>): InteractionContext {
  return { ...ctx, searchRestriction: { ...ctx.searchRestriction!, ...more } };
}

/**
 * A search within reach: limited in SQL for a caller limited on the searched type(s), the
 * compartment's owner readable by a limited caller, and _include/_revinclude entries filtered.
 */
async function searchWithin(own: InteractionContext, request: FhirRequest, target: Route, decision: Decision, caller: CallerAccess, run: Run): Promise<FhirResponse> {
  const reach = decision.reach;
  if (reach && target.kind === 'compartment') await requireOwnerReadable(own, request, caller, target.compartment, target.id);
  const ctx = reach ? restricted(own, { results: (types) => searchLimit(reach, types, request.baseUrl, own.searchParameters) }) : own;
  return withoutHiddenIncludes(await run(ctx), caller.mayRead);
}

/**
 * `$everything` is a search across the compartment's types, each judged as a search of that type:
 * types the caller may not search are left out, the others limited to their reach (the Patient
 * itself included only if within reach). 403 when the caller may search none of them.
 */
async function everythingWithin(own: InteractionContext, request: FhirRequest, target: Extract<Route, { kind: 'operation' }>, caller: CallerAccess, run: Run): Promise<FhirResponse> {
  const types = [...new Set(['Patient', ...compartmentParams('Patient')!.keys()])];
  if (!types.some((type) => caller.decision('search-type', type).allowed)) throw forbidden(`$everything needs permission to search at least one of the types it returns`);
  if (caller.unlimited(types)) return run(own);
  if (target.id !== undefined) await requireOwnerReadable(own, request, caller, 'Patient', target.id);
  return run(restricted(own, { results: (searched) => caller.typesLimit(searched ?? types) }));
}

/**
 * A limited caller searches a compartment only if it may read the compartment's owner: 403
 * without read permission on its type, 404 when the owner is outside reach — as for an owner
 * that does not exist, so a compartment search never reveals whether it does.
 */
async function requireOwnerReadable(ctx: InteractionContext, request: FhirRequest, caller: CallerAccess, type: string, id: string): Promise<void> {
  if (!caller.decision('read', type).allowed) throw forbidden(`Searching the ${type} compartment needs permission to read ${type}`);
  await requireReachable(ctx, request, type, id, caller.mayRead);
}

/** The FHIR interaction a routed request is. */
export function accessTarget(request: FhirRequest, target: Route): AccessTarget {
  const get = request.method === 'GET' || request.method === 'HEAD';
  switch (target.kind) {
    case 'system':
      return { interaction: get ? 'search-system' : (request.body as Bundle | undefined)?.type === 'transaction' ? 'transaction' : 'batch' };
    case 'metadata':
      return { interaction: 'capabilities' };
    case 'system-history':
      return { interaction: 'history-system' };
    case 'type': {
      // PUT, PATCH and DELETE on a type are the conditional update, patch and delete.
      const interaction = get ? 'search-type' : request.method === 'POST' ? 'create' : request.method === 'PUT' ? 'update' : request.method === 'PATCH' ? 'patch' : 'delete';
      return { interaction, resourceType: target.resourceType };
    }
    case 'type-search':
      return { interaction: 'search-type', resourceType: target.resourceType };
    case 'system-search':
      return { interaction: 'search-system' };
    case 'compartment':
      // Compartment search reads resources of the searched type(s): judged as a search of them.
      return target.resourceType === '*' ? { interaction: 'search-system' } : { interaction: 'search-type', resourceType: target.resourceType };
    case 'operation':
      return { interaction: 'operation', operation: target.name, ...(target.resourceType ? { resourceType: target.resourceType } : {}), ...(target.id ? { id: target.id } : {}) };
    case 'type-history':
      return { interaction: 'history-type', resourceType: target.resourceType };
    case 'instance': {
      const interaction = get ? 'read' : request.method === 'PUT' ? 'update' : request.method === 'PATCH' ? 'patch' : 'delete';
      return { interaction, resourceType: target.resourceType, id: target.id };
    }
    case 'instance-history':
      return { interaction: 'history-instance', resourceType: target.resourceType, id: target.id };
    case 'version':
      return { interaction: 'vread', resourceType: target.resourceType, id: target.id };
  }
}

/** The last content of a resource: its current version's, or for a deleted one the version before the deletion. */
async function lastContent(store: StoreReader, tenant: string, type: string, id: string): Promise<StoredVersion | undefined> {
  let version = await store.readCurrent(tenant, type, id);
  while (version?.deleted && Number(version.versionId) > 1) {
    version = await store.readVersion(tenant, type, id, String(Number(version.versionId) - 1));
  }
  return version;
}

/**
 * 404 unless the resource (its latest content, and the asked-for version's) is within reach.
 * A deleted resource is judged by its last content, so a deletion does not reveal it either.
 */
async function requireReachable(ctx: InteractionContext, request: FhirRequest, type: string, id: string, allows: Allows, versionId?: string): Promise<void> {
  const store = reader(ctx);
  const version = await lastContent(store, request.tenant, type, id);
  const hidden = () => notFound(`${type}/${id} is not known`);
  if (version?.json && !allows(JSON.parse(version.json) as Resource)) throw hidden();
  if (versionId !== undefined && version) {
    const asked = await store.readVersion(request.tenant, type, id, versionId);
    if (asked?.json && !allows(JSON.parse(asked.json) as Resource)) throw hidden();
  }
}

/** Writes must leave and keep the resource within reach: the current version (404) and the new content (403). */
function withWriteCheck(ctx: InteractionContext, allows: Allows): InteractionContext {
  return {
    ...ctx,
    checkWrite(next, current) {
      if (current?.json && !current.deleted && !allows(JSON.parse(current.json) as Resource)) {
        throw notFound(`${current.resourceType}/${current.id} is not known`);
      }
      if (next && !allows(next)) throw forbidden(`This ${next.resourceType} would be outside of what the caller may write`);
    },
  };
}

/** Drops the versions of an instance history that were outside reach (e.g. about another patient), and then `total`. */
function withoutUnreachableVersions(response: FhirResponse, allows: Allows): FhirResponse {
  if (response.json === undefined) return response;
  const bundle = JSON.parse(response.json) as Bundle;
  const entries = bundle.entry ?? [];
  const kept = entries.filter((entry) => !entry.resource || allows(entry.resource));
  if (kept.length === entries.length) return response;
  bundle.entry = kept;
  delete bundle.total;
  return { ...response, json: JSON.stringify(bundle) };
}

/**
 * For type and system history: a version is shown when instance history would show it — its
 * resource within reach (judged by its current, or last, content) and the version's own content
 * within reach (a deletion has none: shown with its resource).
 */
function visibleVersions(ctx: InteractionContext, request: FhirRequest, allows: Allows): (versions: readonly StoredVersion[]) => Promise<StoredVersion[]> {
  return async (versions) => {
    const reachable = new Map<string, Promise<boolean>>();
    const resourceReachable = (version: StoredVersion): Promise<boolean> => {
      const key = `${version.resourceType}/${version.id}`;
      let known = reachable.get(key);
      if (!known) {
        known = lastContent(reader(ctx), request.tenant, version.resourceType, version.id).then((last) => last?.json !== undefined && allows(JSON.parse(last.json) as Resource));
        reachable.set(key, known);
      }
      return known;
    };
    const kept: StoredVersion[] = [];
    for (const version of versions) {
      if (!(await resourceReachable(version))) continue;
      if (version.json === undefined || allows(JSON.parse(version.json) as Resource)) kept.push(version);
    }
    return kept;
  };
}

function describe(access: AccessTarget): string {
  return access.resourceType ? `${access.interaction} on ${access.resourceType}` : access.interaction;
}
