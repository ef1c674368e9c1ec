import { FhirError } from '../fhir/errors.js';
import { authorized } from './authorize.js';
import { processBundle } from './bundle.js';
import { capabilityStatementJson } from './capabilities.js';
import { create } from './create.js';
import { deleteResource } from './delete.js';
import { history } from './history.js';
import { patch } from './patch.js';
import { read } from './read.js';
import { parseRoute, type Route } from './route.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { update } from './update.js';
import { vread } from './vread.js';
import { conditionalDelete, conditionalPatch, conditionalUpdate } from './conditional-write.js';
import { everything } from './everything.js';
import { searchCompartment, searchSystem, searchType } from './search.js';

/** PUT, PATCH and DELETE on a type are conditional: without criteria the method does not apply here. */
function conditional(request: FhirRequest, target: Route, run: () => Promise<FhirResponse>): Promise<FhirResponse> {
  if (!request.query.some(([name]) => name !== '_format' && name !== '_pretty')) throw methodNotAllowed(request.method, target, ['GET', 'POST']);
  return run();
}

/** Operations Kiln implements: Patient/$everything (instance and type level). */
function operation(ctx: InteractionContext, request: FhirRequest, r: Extract<Route, { kind: 'operation' }>): Promise<FhirResponse> {
  if (r.name === 'everything' && r.resourceType === 'Patient') return everything(ctx, request, r.resourceType, r.id);
  throw new FhirError('not-implemented', `Operation $${r.name} is not supported${r.resourceType ? ` on ${r.resourceType}` : ''}`);
}

/**
 * The one entry point for every FHIR request: the HTTP server, each Bundle entry and any other
 * front end (e.g. a Lambda handler) call this. HTTP-agnostic: a parsed request in, a response out.
 */
export async function route(ctx: InteractionContext, request: FhirRequest): Promise<FhirResponse> {
  const target = parseRoute(request.path, ctx.resourceTypes);
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const handler = handlers[target.kind][method];
  if (!handler) throw methodNotAllowed(request.method, target);
  const run = (context: InteractionContext) => authorized(context, request, target, (checked) => handler(checked, request, target as never));
  if (ctx.tx || ctx.snapshot || !ctx.store.snapshot || !readsSeveralTimes(target, method)) return run(ctx);
  return ctx.store.snapshot((snapshot) => run({ ...ctx, snapshot }));
}

/**
 * Read-only interactions that read more than once (a search's page, total and includes; history's
 * count and page; $everything): they run on one snapshot, so their parts agree with each other.
 * A plain read or vread is one lookup and needs none.
 */
function readsSeveralTimes(target: Route, method: FhirRequest['method']): boolean {
  switch (target.kind) {
    case 'system':
    case 'type':
    case 'compartment':
    case 'system-history':
    case 'type-history':
    case 'instance-history':
    case 'operation':
      return method === 'GET';
    case 'system-search':
    case 'type-search':
      return method === 'POST';
    default:
      return false;
  }
}

type Handler<R extends Route> = (ctx: InteractionContext, request: FhirRequest, route: R) => Promise<FhirResponse>;
type HandlerTable = { [K in Route['kind']]: Partial<Record<FhirRequest['method'], Handler<Extract<Route, { kind: K }>>>> };

const handlers: HandlerTable = {
  system: {
    POST: (ctx, request) => processBundle(ctx, request),
    GET: (ctx, request) => searchSystem(ctx, request),
  },
  'system-search': { POST: (ctx, request) => searchSystem(ctx, request) },
  metadata: {
    GET: async (ctx, request) => ({ status: 200, json: capabilityStatementJson(ctx, request.baseUrl) }),
  },
  'system-history': { GET: (ctx, request) => history(ctx, request) },
  type: {
    POST: (ctx, request, r) => create(ctx, request, r.resourceType),
    GET: (ctx, request, r) => searchType(ctx, request, r.resourceType),
    PUT: (ctx, request, r) => conditional(request, r, () => conditionalUpdate(ctx, request, r.resourceType)),
    PATCH: (ctx, request, r) => conditional(request, r, () => conditionalPatch(ctx, request, r.resourceType)),
    DELETE: (ctx, request, r) => conditional(request, r, () => conditionalDelete(ctx, request, r.resourceType)),
  },
  'type-search': { POST: (ctx, request, r) => searchType(ctx, request, r.resourceType) },
  compartment: { GET: (ctx, request, r) => searchCompartment(ctx, request, r.compartment, r.id, r.resourceType) },
  operation: { GET: (ctx, request, r) => operation(ctx, request, r), POST: (ctx, request, r) => operation(ctx, request, r) },
  'type-history': { GET: (ctx, request, r) => history(ctx, request, r.resourceType) },
  instance: {
    GET: (ctx, request, r) => read(ctx, request, r.resourceType, r.id),
    PUT: (ctx, request, r) => update(ctx, request, r.resourceType, r.id),
    PATCH: (ctx, request, r) => patch(ctx, request, r.resourceType, r.id),
    DELETE: (ctx, request, r) => deleteResource(ctx, request, r.resourceType, r.id),
  },
  'instance-history': { GET: (ctx, request, r) => history(ctx, request, r.resourceType, r.id) },
  version: { GET: (ctx, request, r) => vread(ctx, request, r.resourceType, r.id, r.versionId) },
};

function methodNotAllowed(method: string, target: Route, only?: string[]): FhirError {
  const allowed = only ?? Object.keys(handlers[target.kind]);
  if (allowed.includes('GET')) allowed.push('HEAD');
  return new FhirError('method-not-allowed', `${method} is not allowed here; allowed: ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } });
}
