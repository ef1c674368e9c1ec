// Authorization of every routed request (docs/security.md): the HTTP server, each Bundle entry and
// any other front end pass through here, so no path skips the check.
import { invalidToken } from '../auth/errors.js';
import type { AccessTarget, Reach } from '../auth/types.js';
import { compartmentParams } from '../search/compartments.js';
import { forbidden, notFound } from '../fhir/errors.js';
import type { Bundle, Resource } from '../fhir/types.js';
import { isSearch, searchedTypes, withoutUnreadableIncludes } from './authorize-links.js';
import type { Route } from './route.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext, SearchRestriction } from './types.js';

type Allows = (resource: Resource) => boolean;

/**
 * Runs `run` if the caller may: 401 without a principal, 403 for another tenant or an interaction
 * the strategy denies. When the decision limits the caller to some resources of the type (SMART
 * patient/ and user/ scopes), the targeted resource is checked too — a resource outside reach is
 * a 404, exactly as if it did not exist — and interactions that cannot yet apply such a limit
 * (search, type and system history) are refused rather than answered unfiltered.
 */
export async function authorized(ctx: InteractionContext, request: FhirRequest, target: Route, run: (ctx: InteractionContext) => Promise<FhirResponse>): Promise<FhirResponse> {
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
  const unrestricted = (interaction: 'read' | 'search-type', resourceType: string) => {
    const other = authorizer.authorize(principal, request, { interaction, resourceType });
    return other.allowed && !other.reach;
  };
  for (const type of searchedTypes(ctx.searchParameters, request, target)) {
    if (!unrestricted('search-type', type)) throw forbidden(`This request searches ${type} (chained, _has or conditional criteria), which the caller may not search without limits`);
  }
  const own: InteractionContext = ctx.checkWrite ? { ...ctx, checkWrite: undefined } : ctx;
  if (!decision.reach) {
    const response = await run(own);
    return isSearch(request, target) ? withoutUnreadableIncludes(response, (type) => unrestricted('read', type)) : response;
  }

  const allows: Allows = (resource) => authorizer.allowResource(principal, resource, decision, request.baseUrl);
  switch (target.kind) {
    case 'instance':
      if (request.method === 'GET' || request.method === 'HEAD') {
        await requireReachable(ctx, request, target.resourceType, target.id, allows);
        return run(own);
      }
      return run(withWriteCheck(own, allows));
    case 'type':
      if (request.method === 'POST') return run(withWriteCheck(own, allows));
      break;
    case 'version':
      await requireReachable(ctx, request, target.resourceType, target.id, allows, target.versionId);
      return run(own);
    case 'instance-history':
      await requireReachable(ctx, request, target.resourceType, target.id, allows);
      return withoutUnreachableEntries(await run(own), allows);
    default:
      break;
  }
  const restriction = isSearch(request, target) ? patientSearchRestriction(decision.reach, target) : undefined;
  if (restriction) {
    const response = await run({ ...own, searchRestriction: restriction });
    const readable = withoutUnreadableIncludes(response, (type) => authorizer.authorize(principal, request, { interaction: 'read', resourceType: type }).allowed);
    return withoutUnreachableEntries(readable, allows, 'include');
  }
  throw forbidden(`${describe(access)} is not available yet to callers limited to some resources of a type (SMART patient/ or user/ scopes)`);
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

/**
 * 404 unless the resource (its latest content, and the asked-for version's) is within reach.
 * A deleted resource is judged by its last content, so a deletion does not reveal it either.
 */
async function requireReachable(ctx: InteractionContext, request: FhirRequest, type: string, id: string, allows: Allows, versionId?: string): Promise<void> {
  const store = reader(ctx);
  let version = await store.readCurrent(request.tenant, type, id);
  while (version?.deleted && Number(version.versionId) > 1) {
    version = await store.readVersion(request.tenant, type, id, String(Number(version.versionId) - 1));
  }
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

/**
 * Drops Bundle entries outside reach: older versions in a history (e.g. about another patient),
 * or, with `onlyMode`, a searchset's included resources.
 */
function withoutUnreachableEntries(response: FhirResponse, allows: Allows, onlyMode?: 'include'): FhirResponse {
  if (response.json === undefined) return response;
  const bundle = JSON.parse(response.json) as Bundle;
  const entries = bundle.entry ?? [];
  const kept = entries.filter((entry) => !entry.resource || (onlyMode && entry.search?.mode !== onlyMode) || allows(entry.resource));
  if (kept.length === entries.length) return response;
  bundle.entry = kept;
  // A history's `total` would count versions the caller may not see (a searchset's counts matches only).
  if (!onlyMode) delete bundle.total;
  return { ...response, json: JSON.stringify(bundle) };
}

/**
 * A search by a caller limited to one patient (SMART patient/ scopes, optionally with v2 search
 * criteria) runs confined to that patient's compartment, so results, paging and totals never
 * involve other patients. Other limits (user/ scopes, several alternative criteria) have no SQL
 * form yet: undefined, and the caller gets a 403.
 */
function patientSearchRestriction(reach: Reach, target: Route): SearchRestriction | undefined {
  if (reach.length !== 1) return undefined;
  const conditions = reach[0];
  const patients = conditions.flatMap((condition) => (condition.kind === 'compartment' ? [condition.id] : []));
  if (patients.length !== 1 || conditions.some((condition) => condition.kind === 'references')) return undefined;
  const [patient] = patients;
  const query = conditions.flatMap((condition) => (condition.kind === 'matches' ? condition.query : []));
  const params = compartmentParams('Patient')!;
  if (target.kind === 'compartment') {
    return target.compartment === 'Patient' && target.id === patient && (target.resourceType === '*' || params.has(target.resourceType)) ? { query } : undefined;
  }
  const resourceType = 'resourceType' in target ? target.resourceType : undefined;
  if (resourceType === 'Patient') return { query: [['_id', patient], ...query] };
  if (!resourceType || !params.has(resourceType)) return undefined;
  return { compartment: { type: 'Patient', id: patient, params }, query };
}

function describe(access: AccessTarget): string {
  return access.resourceType ? `${access.interaction} on ${access.resourceType}` : access.interaction;
}

