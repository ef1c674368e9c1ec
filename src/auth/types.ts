import type { Resource } from '../fhir/types.js';
import type { FhirRequest } from '../interactions/types.js';
import type { SearchParamRegistry } from '../search/parameters.js';

/** Who is calling, as established by authentication. Framework-free; travels on FhirRequest. */
export interface Principal {
  /** `sub`, or the client id for client-credentials tokens. */
  subject: string;
  groups: string[];
  scopes: string[];
  tenant?: string;
  /** The user's own resource as `Type/id` (SMART `fhirUser`). */
  fhirUser?: string;
  /** The launch patient's id (SMART launch context). */
  patient?: string;
  /** All claims of the token (or introspection response). */
  claims: Record<string, unknown>;
  source: 'jwt' | 'introspection' | 'dev' | 'api-key';
  /** The API key the request carried, if any. */
  apiKeyId?: string;
}

/** FHIR interaction codes (CapabilityStatement restful-interaction), plus `operation` for $ops. */
export type Interaction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'transaction'
  | 'batch'
  | 'capabilities'
  | 'operation';

export interface AccessTarget {
  interaction: Interaction;
  /** Absent for system-level interactions. */
  resourceType?: string;
  id?: string;
  /** For `operation`: its name without `$`. */
  operation?: string;
}

/**
 * One condition a resource must meet to be within reach:
 * - compartment: in the Patient compartment of `id` (SMART patient/ scopes);
 * - references: refers to `reference` (`Type/id`) anywhere, or is that resource (SMART user/ scopes);
 * - matches: matches these search parameters (SMART v2 `patient/Observation.rs?category=laboratory`).
 */
export type ReachCondition =
  | { kind: 'compartment'; compartment: 'Patient'; id: string }
  | { kind: 'references'; reference: string }
  | { kind: 'matches'; query: [string, string][] };

/**
 * Which resources of the target type an allowed caller may touch: a resource is within reach
 * when it meets every condition of at least one alternative. Kept as data, not as a function,
 * so that search can turn it into SQL and never load what the caller may not see.
 */
export type Reach = ReachCondition[][];

export interface Decision {
  allowed: boolean;
  /** Why not (for the 403's diagnostics). */
  reason?: string;
  /** Absent: every resource of the type. Present: only those within this reach. */
  reach?: Reach;
}

/** An authorization strategy (rbac, smart, or the user's own). Decides; never reads the store. */
export interface Authorizer {
  /** Before the interaction runs. Denied → 403. */
  authorize(principal: Principal, request: FhirRequest, target: AccessTarget): Decision;
  /**
   * For a decision with a reach: is this resource within it? Applied to the resource a read,
   * vread, history, update, patch or delete targets (false → 404) and to what a write would store
   * (false → 403). `baseUrl` lets absolute references to this server count as local; `registry`
   * is the server's search parameters (custom ones included), the set search applies a reach with.
   */
  allowResource(principal: Principal, resource: Resource, decision: Decision, baseUrl: string, registry: SearchParamRegistry): boolean;
}

/** Establishes the principal from request credentials. Throws FhirError 401 (or 503 when the IdP is unreachable). */
export interface Authenticator {
  readonly mode: 'none' | 'jwt' | 'dev';
  /** undefined = anonymous (mode none). */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
}
