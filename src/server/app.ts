import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AuthComponents } from '../auth/index.js';
import { FhirError, invalid, tooLarge } from '../fhir/errors.js';
import { outcomeForError } from '../fhir/operation-outcome.js';
import { route } from '../interactions/router.js';
import type { FhirRequest, FhirResponse, InteractionContext } from '../interactions/types.js';
import { installAuth, scopedRequest } from './auth-plugin.js';
import { JSON_TYPES, responseType, unsupportedMediaType } from './negotiation.js';
import { noSchemaCompilers } from './no-schemas.js';
import { OneLinePerRequest } from './request-log.js';

export interface AppOptions {
  context: InteractionContext;
  /** The FHIR base URL, known once the server listens. */
  baseUrl: () => string;
  logger: object | boolean;
  /** Authentication, tenancy and API keys (server/auth-plugin.ts); none of it when absent. */
  auth?: AuthComponents;
}

const BODY_TYPES = [...JSON_TYPES, 'application/json-patch+json'];

/** The Fastify app: parses HTTP into FhirRequests, delegates to the router, renders responses. */
export function buildApp({ context, baseUrl, logger, auth }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger,
    bodyLimit: context.config.limits.maxBodyBytes,
    logController: new OneLinePerRequest(),
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
    schemaController: noSchemaCompilers,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(BODY_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (error) {
      done(invalid(`Failed to parse request body as JSON resource: ${(error as Error).message}`), undefined);
    }
  });
  // POST [type]/_search and POST /_search carry their parameters as a form (http.html#search).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, new URLSearchParams(body as string)));
  app.addContentTypeParser('*', (request, _payload, done) => done(unsupportedMediaType(request.headers['content-type']), undefined));

  if (auth) installAuth(app, context.config, auth);
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const fhirRequest = scopedRequest(request, toFhirRequest(request, baseUrl()));
    const mediaType = responseType(request.headers.accept, queryParam(fhirRequest, '_format'));
    const response = await route(context, fhirRequest);
    return send(reply, response, mediaType, queryParam(fhirRequest, '_pretty') === 'true');
  };
  app.all('/', handle);
  app.all('/*', handle);

  app.setErrorHandler((error, request, reply) => {
    const fhirError = asFhirError(error);
    const { status, outcome, headers } = outcomeForError(fhirError);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    reply.headers(headers);
    return send(reply, { status, resource: outcome }, JSON_TYPES[0], prettyRequested(request));
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, outcome } = outcomeForError(new FhirError('not-found', `Unknown path '${request.url}'`));
    return send(reply, { status, resource: outcome }, JSON_TYPES[0], prettyRequested(request));
  });
  return app;
}

/** Fastify's own errors (body too large, bad media type, …) as FhirErrors. */
function asFhirError(error: unknown): unknown {
  if (error instanceof FhirError) return error;
  const { code, statusCode } = error as { code?: string; statusCode?: number };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) return tooLarge('The request body is larger than the server accepts');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || statusCode === 415) return unsupportedMediaType(undefined);
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return invalid('Failed to parse request body as JSON resource: the body is empty');
  if (statusCode && statusCode >= 400 && statusCode < 500) return new FhirError('invalid', (error as Error).message);
  return error;
}

function toFhirRequest(request: FastifyRequest, base: string): FhirRequest {
  const url = request.url;
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const headers = request.headers;
  const fhirHeaders: FhirRequest['headers'] = {};
  for (const name of ['if-match', 'if-none-match', 'if-modified-since', 'if-none-exist', 'prefer', 'content-type'] as const) {
    const value = headers[name];
    if (typeof value === 'string') fhirHeaders[name] = value;
  }
  return {
    method: request.method as FhirRequest['method'],
    path: path.replace(/^\/+/, ''),
    query: queryStart < 0 ? [] : [...new URLSearchParams(url.slice(queryStart + 1))],
    headers: fhirHeaders,
    body: request.body,
    tenant: '',
    baseUrl: base,
  };
}

function prettyRequested(request: FastifyRequest): boolean {
  return /[?&]_pretty=true(&|$)/.test(request.url);
}

function queryParam(request: FhirRequest, name: string): string | undefined {
  return request.query.find(([key]) => key === name)?.[1];
}

function send(reply: FastifyReply, response: FhirResponse, mediaType: string, pretty: boolean) {
  reply.code(response.status);
  if (response.headers) reply.headers(response.headers);
  let body = response.json ?? (response.resource ? JSON.stringify(response.resource) : undefined);
  if (body === undefined || response.status === 304 || response.status === 204) return reply.send();
  if (pretty) body = JSON.stringify(JSON.parse(body), null, 2);
  reply.header('content-type', `${mediaType}; charset=utf-8`);
  return reply.send(body);
}
