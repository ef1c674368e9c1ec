import type { FastifyInstance, FastifyRequest } from 'fastify';
import { matchApiKey } from '../auth/api-keys.js';
import { invalidApiKey } from '../auth/errors.js';
import { describeAuth, isLoopback, type AuthComponents } from '../auth/index.js';
import type { Principal } from '../auth/types.js';
import type { ApiKeyConfig, KilnConfig } from '../config/types.js';
import { FhirError, notFound } from '../fhir/errors.js';
import type { FhirRequest } from '../interactions/types.js';

/** What the auth hook learnt about a request before any route runs. */
interface RequestScope {
  /** '' unless multi-tenancy is on. */
  tenant: string;
  /** The path below the FHIR base (tenant prefix removed), without leading slash or query. */
  path: string;
  principal?: Principal;
  apiKey?: ApiKeyConfig;
}

declare module 'fastify' {
  interface FastifyRequest {
    kiln: RequestScope | null;
  }
}

const TENANT_PREFIX = /^\/tenant\/([A-Za-z0-9_-]{1,64})(?=\/|$)/;
const SMART_CONFIGURATION = '.well-known/smart-configuration';

/**
 * The HTTP side of security, as Fastify hooks registered before the routes: tenant from the path,
 * API key and its rate limit, bearer authentication. The principal then travels on the
 * FhirRequest and the interaction layer authorizes (interactions/authorize.ts).
 */
export function installAuth(app: FastifyInstance, config: KilnConfig, auth: AuthComponents): void {
  app.decorateRequest('kiln', null);
  const limiter = installRateLimit(app, config.auth.apiKeys);

  app.addHook('onRequest', async (request) => {
    const scope = requestScope(request.url, config.tenancy.enabled);
    request.kiln = scope;
    if ((request.method === 'GET' || request.method === 'HEAD') && (scope.path === 'metadata' || scope.path === SMART_CONFIGURATION)) return;
    if (config.auth.apiKeys.length > 0) {
      const presented = request.headers['x-api-key'];
      scope.apiKey = matchApiKey(config.auth.apiKeys, typeof presented === 'string' ? presented : undefined);
      if (!scope.apiKey) throw invalidApiKey(presented ? 'unknown API key' : 'this server needs an x-api-key header');
      if (scope.apiKey.rateLimit) await limiter!(request);
    }
    const principal = await auth.authenticator.authenticate(request.headers.authorization);
    if (principal) {
      if (scope.apiKey) principal.apiKeyId = scope.apiKey.id;
      scope.principal = principal;
    } else if (scope.apiKey) {
      scope.principal = { subject: `api-key:${scope.apiKey.id}`, groups: [], scopes: [], claims: {}, source: 'api-key', apiKeyId: scope.apiKey.id };
    }
  });

  const smartConfiguration = async () => {
    const document = await auth.security.smartConfiguration();
    if (!document) throw notFound('This server advertises no OAuth endpoints (auth mode none or dev, and none configured)');
    return document;
  };
  app.get(`/${SMART_CONFIGURATION}`, smartConfiguration);
  if (config.tenancy.enabled) app.get(`/tenant/:tenant/${SMART_CONFIGURATION}`, smartConfiguration);

  app.addHook('onReady', async () => {
    const summary = describeAuth(config);
    if (config.auth.mode === 'none' && !isLoopback(config.host)) app.log.warn({ auth: summary }, 'authentication: none — anonymous access allowed beyond loopback (--allow-anonymous)');
    else app.log.info({ auth: summary }, `authentication: ${config.auth.mode}${config.auth.mode === 'none' ? ' (anonymous, loopback only)' : `, authorization: ${config.auth.strategy}`}`);
    // Warm the discovery cache so the CapabilityStatement can name the endpoints; failures are retried on use.
    auth.discovery?.metadata().catch((error: unknown) => app.log.warn({ err: error }, 'OIDC discovery failed; will retry on the first token'));
  });
}

/** The FhirRequest as the auth hook scoped it: tenant, tenant base URL, path and principal. */
export function scopedRequest(request: FastifyRequest, fhirRequest: FhirRequest): FhirRequest {
  const scope = request.kiln;
  if (!scope) return fhirRequest;
  const result: FhirRequest = { ...fhirRequest, path: scope.path, tenant: scope.tenant };
  if (scope.tenant) result.baseUrl = `${fhirRequest.baseUrl}/tenant/${scope.tenant}`;
  if (scope.principal) result.principal = scope.principal;
  return result;
}

function requestScope(url: string, tenancy: boolean): RequestScope {
  const queryStart = url.indexOf('?');
  let path = queryStart < 0 ? url : url.slice(0, queryStart);
  let tenant = '';
  if (tenancy) {
    const match = TENANT_PREFIX.exec(path);
    if (!match) throw notFound('Multi-tenancy is on: FHIR URLs are /tenant/{tenantId}/… (tenant ids are 1-64 of A-Z a-z 0-9 _ -)');
    tenant = match[1];
    path = path.slice(match[0].length);
  }
  return { tenant, path: path.replace(/^\/+/, '') };
}

/** Per-key rate limits through @fastify/rate-limit; answers 429 with Retry-After. */
function installRateLimit(app: FastifyInstance, keys: readonly ApiKeyConfig[]): ((request: FastifyRequest) => Promise<void>) | undefined {
  if (!keys.some((key) => key.rateLimit)) return undefined;
  // Loaded only when a key has a rate limit.
  app.register(import('@fastify/rate-limit'), { global: false });
  let check: ReturnType<FastifyInstance['createRateLimit']> | undefined;
  app.after(() => {
    const limitOf = (request: FastifyRequest) => request.kiln!.apiKey!.rateLimit!;
    check = app.createRateLimit({
      keyGenerator: (request) => `api-key:${request.kiln!.apiKey!.id}`,
      max: (request) => limitOf(request).max,
      timeWindow: (request) => limitOf(request).timeWindowMs,
    });
  });
  return async (request) => {
    const limit = await check!(request);
    if (!limit.isAllowed && limit.isExceeded) {
      throw new FhirError('too-many-requests', `Rate limit of this API key exceeded; retry in ${limit.ttlInSeconds} s`, {
        headers: { 'retry-after': String(Math.max(1, limit.ttlInSeconds)), 'x-ratelimit-limit': String(limit.max), 'x-ratelimit-remaining': '0' },
      });
    }
  };
}
