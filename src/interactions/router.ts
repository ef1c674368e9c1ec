import { FhirError } from '../fhir/errors.js';
import { processBundle } from './bundle.js';
import { capabilityStatement } from './capabilities.js';
import { create } from './create.js';
import { deleteResource } from './delete.js';
import { history } from './history.js';
import { patch } from './patch.js';
import { read } from './read.js';
import { parseRoute, type Route } from './route.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';
import { update } from './update.js';
import { vread } from './vread.js';

/**
 * The one entry point for every FHIR request: the HTTP server, each Bundle entry and any other
 * front end (e.g. a Lambda handler) call this. HTTP-agnostic: a parsed request in, a response out.
 */
export async function route(ctx: InteractionContext, request: FhirRequest): Promise<FhirResponse> {
  const target = parseRoute(request.path, ctx.resourceTypes);
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const handler = handlers[target.kind][method];
  if (!handler) throw methodNotAllowed(request.method, target);
  return handler(ctx, request, target as never);
}

type Handler<R extends Route> = (ctx: InteractionContext, request: FhirRequest, route: R) => Promise<FhirResponse>;
type HandlerTable = { [K in Route['kind']]: Partial<Record<FhirRequest['method'], Handler<Extract<Route, { kind: K }>>>> };

const handlers: HandlerTable = {
  system: {
    POST: (ctx, request) => processBundle(ctx, request),
    GET: async () => {
      throw new FhirError('not-implemented', 'System-level search is not supported yet');
    },
  },
  metadata: {
    GET: async (ctx, request) => ({ status: 200, resource: capabilityStatement(ctx, request.baseUrl) }),
  },
  'system-history': { GET: (ctx, request) => history(ctx, request) },
  type: {
    POST: (ctx, request, r) => create(ctx, request, r.resourceType),
    GET: async (_ctx, _request, r) => {
      throw new FhirError('not-implemented', `Search (GET /${r.resourceType}?…) is not supported yet`);
    },
  },
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

function methodNotAllowed(method: string, target: Route): FhirError {
  const allowed = Object.keys(handlers[target.kind]);
  if (allowed.includes('GET')) allowed.push('HEAD');
  return new FhirError('method-not-allowed', `${method} is not allowed here; allowed: ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } });
}
