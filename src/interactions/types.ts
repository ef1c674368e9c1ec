import type { Authorizer, Principal } from '../auth/types.js';
import type { KilnConfig } from '../config/types.js';
import type { Resource } from '../fhir/types.js';
import type { SearchParamRegistry } from '../search/parameters.js';
import type { AccessLimit, Store, StoredVersion, StoreReader, StoreTransaction } from '../store/types.js';
import type { Validator } from '../validation/types.js';

/**
 * A parsed FHIR request, independent of any HTTP framework. The HTTP server, bundle processing
 * and (later) an AWS Lambda handler all build one of these and hand it to the router.
 */
export interface FhirRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the FHIR base, without leading slash or query, e.g. `Patient/1/_history/2`. */
  path: string;
  /** Query parameters in order, repeated names kept. */
  query: [string, string][];
  /** Header values the interactions care about (lower-case names). */
  headers: {
    'if-match'?: string;
    'if-none-match'?: string;
    'if-modified-since'?: string;
    'if-none-exist'?: string;
    prefer?: string;
    'content-type'?: string;
  };
  /** Parsed body: a resource, a JSON Patch array, or undefined. */
  body?: unknown;
  /** Tenant id ('' when multi-tenancy is off). */
  tenant: string;
  /** Absolute FHIR base URL of this request (tenant prefix included), without trailing slash. */
  baseUrl: string;
  /** The authenticated caller; absent when authentication is off (auth mode none). */
  principal?: Principal;
}

export interface FhirResponse {
  status: number;
  /** A resource to return … */
  resource?: Resource;
  /** … or JSON text to return as is (stored bytes on the read path). */
  json?: string;
  headers?: Record<string, string>;
  /** The version read or written, when there is one (Bundle entries use it). */
  version?: StoredVersion;
}

/** The components every interaction is given. Nothing is read from ambient state. */
export interface InteractionContext {
  store: Store;
  validator: Validator;
  config: KilnConfig;
  /** Resource types this server accepts. */
  resourceTypes: ReadonlySet<string>;
  /** The search parameters in use: HL7's R4 set and any custom ones (config `search.parameters`). */
  searchParameters: SearchParamRegistry;
  /**
   * The fingerprint of the set behind `searchParameters` (search/parameter-set.ts), when known:
   * for HL7's R4 set it lets GET /metadata answer from a section prebuilt by `npm run build`
   * without building the registry (interactions/capability-prebuilt.ts).
   */
  searchParameterFingerprint?: string;
  now: () => Date;
  /** Set while processing a transaction Bundle: every read and write goes through it. */
  tx?: StoreTransaction;
  /** Set while a read-only request runs on one snapshot of the store (interactions/router.ts). */
  snapshot?: StoreReader;
  /** Authorization strategy; when set, every routed request is checked (interactions/authorize.ts). */
  authorizer?: Authorizer;
  /** CapabilityStatement.rest.security, from the auth configuration. */
  capabilitySecurity?: () => Record<string, unknown> | undefined;
  /**
   * Set per request by authorization when the caller reaches only some resources: called before a
   * version is written with the content to store (undefined for a deletion) and the current version.
   */
  checkWrite?: (next: Resource | undefined, current: StoredVersion | undefined) => void;
  /**
   * Set by authorization on every request when an authorizer is configured: what the caller may
   * search, applied in SQL by search, $everything, history and conditional criteria.
   */
  searchRestriction?: SearchRestriction;
}

/**
 * What authorization lets a request search (interactions/authorize.ts). Limits are SQL-level
 * (store SearchQuery.limit), so matches, paging and totals never involve what the caller may
 * not see.
 */
export interface SearchRestriction {
  /**
   * A search, $everything, or type/system history: the limit on what it returns among `types`
   * (undefined: every type). Absent: no limit.
   */
  results?(types: readonly string[] | undefined): AccessLimit;
  /** Type and system history under `results`: the versions the caller may see, each judged by its own content. */
  visibleVersions?(versions: readonly StoredVersion[]): Promise<StoredVersion[]>;
  /**
   * Another type the request searches (chain targets, `_has` sources, conditional criteria): the
   * limit on it, undefined for none. Throws 403 when the caller may not search that type.
   */
  linked(resourceType: string): AccessLimit | undefined;
}
