/**
 * Kiln as a library: `createKiln(config)` returns a ready server; the component interfaces are
 * exported so that users can plug their own store, validator and (later) authorization.
 */
import type { FastifyInstance } from 'fastify';
import { checkAnonymousBinding, createAuth } from './auth/index.js';
import type { Authenticator, Authorizer } from './auth/types.js';
import { defaultConfig, mergeConfig, type KilnOverrides } from './config/load.js';
import type { KilnConfig } from './config/types.js';
import { resourceTypesFor } from './fhir/resource-types.js';
import type { InteractionContext } from './interactions/types.js';
import { buildApp } from './server/app.js';
import { loggerOptions } from './server/logger.js';
import { openStore } from './store/open.js';
import { indexUpkeep } from './store/index-upkeep.js';
import { searchParameterSet } from './search/parameter-set.js';
import type { Store } from './store/types.js';
import { createJsonSchemaValidator } from './validation/json-schema-validator.js';
import type { Validator } from './validation/types.js';

export type { KilnConfig } from './config/types.js';
export type { KilnOverrides } from './config/load.js';
export type { Store, StoreReader, StoreTransaction, StoredVersion, NewVersion, HistoryQuery, HistoryPage } from './store/types.js';
export type { Validator } from './validation/types.js';
export type { FhirRequest, FhirResponse, InteractionContext } from './interactions/types.js';
export type { Resource, Bundle, BundleEntry, FhirVersion } from './fhir/types.js';
export type { Principal, Authorizer, Authenticator, AccessTarget, Decision, Interaction, Reach, ReachCondition } from './auth/types.js';
export { createRbacAuthorizer, createSmartAuthorizer, hashApiKey, withinReach } from './auth/index.js';
export { FhirError } from './fhir/errors.js';
export { route } from './interactions/router.js';
export { SqlStore } from './store/sql/sql-store.js';
export { openSqliteStore } from './store/sqlite/index.js';
export { createJsonSchemaValidator } from './validation/json-schema-validator.js';
export { resourceTypesFor } from './fhir/resource-types.js';
export { searchParameterSet, defaultParameterSet, type SearchParameterSet } from './search/parameter-set.js';
export { SearchParameterError, type SearchParameterSource } from './search/custom-parameters.js';

/** PostgreSQL store (loaded on demand, so that SQLite users never load the pg driver). */
export async function openPostgresStore(...args: Parameters<typeof import('./store/postgres/index.js').openPostgresStore>) {
  return (await import('./store/postgres/index.js')).openPostgresStore(...args);
}

/** PostgreSQL in WebAssembly (PGlite, an optional dependency), e.g. for tests and demos. */
export async function openPgliteStore(...args: Parameters<typeof import('./store/postgres/index.js').openPgliteStore>) {
  return (await import('./store/postgres/index.js')).openPgliteStore(...args);
}

/** Components a user may replace; anything not given is built from the configuration. */
export interface KilnComponents {
  store: Store;
  validator: Validator;
  /** Establishes the caller from the Authorization header (default: from auth.mode). */
  authenticator: Authenticator;
  /** Decides what the caller may do (default: auth.strategy, rbac or smart). */
  authorizer: Authorizer;
}

export interface Kiln {
  readonly config: KilnConfig;
  readonly app: FastifyInstance;
  readonly context: InteractionContext;
  /** Starts listening; resolves to the FHIR base URL. */
  listen(): Promise<string>;
  /** Stops accepting requests, finishes those in flight, then closes the store. */
  close(): Promise<void>;
}

export async function createKiln(overrides: KilnOverrides = {}, components: Partial<KilnComponents> = {}): Promise<Kiln> {
  const config = mergeConfig(defaultConfig(), overrides);
  checkAnonymousBinding(config);
  const auth = createAuth(config, components);
  const parameters = searchParameterSet(config.search.parameters);
  const store = components.store ?? (await openStore(config));
  const context: InteractionContext = {
    store,
    validator: components.validator ?? createJsonSchemaValidator(config.fhirVersion),
    config,
    resourceTypes: resourceTypesFor(config.fhirVersion),
    get searchParameters() {
      return parameters.registry;
    },
    searchParameterFingerprint: parameters.fingerprint,
    now: () => new Date(),
    authorizer: auth.authorizer,
    capabilitySecurity: () => auth.security.capabilitySecurity(),
  };
  let baseUrl = config.baseUrl ?? `http://${config.host}:${config.port}`;
  const app = buildApp({ context, baseUrl: () => baseUrl, logger: loggerOptions(config), auth });
  try {
    // Before serving: no search may answer from rows that other definitions made.
    await store.useSearchParameters?.(parameters, indexUpkeep(config, app.log));
  } catch (error) {
    if (!components.store) await store.close();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    config,
    app,
    context,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      if (!config.baseUrl && address && typeof address === 'object') {
        const unspecified = address.address === '0.0.0.0' || address.address === '::';
        const host = unspecified ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
        baseUrl = `http://${host}:${address.port}`;
      }
      // Load the compiled schemas and the search parameters soon rather than on the first write,
      // but after start-up has answered its first requests (loading blocks the event loop for
      // ~100-200 ms; GET /metadata needs neither).
      const validator = context.validator as Partial<{ preload(): void }>;
      setTimeout(() => {
        if (typeof validator.preload === 'function') validator.preload();
        void context.searchParameters;
      }, 1000).unref();
      return baseUrl;
    },
    close() {
      closed ??= app.close().then(() => store.close());
      return closed;
    },
  };
}
