import type { FhirVersion } from '../fhir/types.js';
import type { SearchParameterSource } from '../search/custom-parameters.js';

/** The one typed configuration object: defaults < config file < environment < CLI flags. */
export interface KilnConfig {
  /** TCP port to listen on (0 picks a free port). */
  port: number;
  /** Interface to bind. */
  host: string;
  /** Where the embedded database (and later binaries, keys) live. */
  dataDir: string;
  /** Public base URL used in Location headers and Bundle links; derived from host/port when unset. */
  baseUrl?: string;
  /** FHIR version whose JSON schema validates writes. */
  fhirVersion: FhirVersion;
  /** PostgreSQL connection URL; the embedded SQLite store is used when unset. */
  databaseUrl?: string;
  database: {
    /** PostgreSQL pool size. */
    poolSize: number;
    /** PostgreSQL statement timeout in milliseconds (0 = none). */
    statementTimeoutMs: number;
    /** SQLite: MB of current versions kept in memory for reads (0 = none); see docs/operations.md. */
    readCacheMb: number;
  };
  limits: {
    /** Largest accepted request body, in bytes. */
    maxBodyBytes: number;
    /** Most entries accepted in a batch Bundle. */
    maxBatchEntries: number;
    /** Most entries accepted in a transaction Bundle. */
    maxTransactionEntries: number;
    /** Page size when the client gives no `_count`. */
    defaultPageSize: number;
    /** Largest `_count` honoured. */
    maxPageSize: number;
    /** Most resources one conditional delete may delete (1: several matches are a 412). */
    maxConditionalDeletes: number;
  };
  logging: {
    /** pino level: fatal, error, warn, info, debug, trace, silent. */
    level: string;
    /** Human-readable logs (default: when stdout is a terminal). */
    pretty: boolean;
  };
  search: {
    /**
     * Custom SearchParameters: paths of JSON files (each a SearchParameter or a Bundle of them),
     * or the resources themselves. They add to, or replace (same base and code), HL7's R4 set.
     */
    parameters: SearchParameterSource[];
  };
  /** Authentication and authorization (docs/security.md). */
  auth: AuthConfig;
  /** Multi-tenancy: every FHIR URL is /tenant/{tenantId}/… and the token's tenant must match. */
  tenancy: {
    enabled: boolean;
    /** Claim path (dots for nesting) of the caller's tenant. */
    claim: string;
  };
  /** Needed to run with auth.mode 'none' on an address other than loopback. */
  allowAnonymous: boolean;
}

export type AuthMode = 'none' | 'jwt' | 'dev';

export interface AuthConfig {
  /** none: no authentication (loopback only unless allowAnonymous); jwt: OIDC bearer tokens; dev: tokens from `kiln token`. */
  mode: AuthMode;
  /** Expected `iss`; OIDC discovery reads `{issuer}/.well-known/openid-configuration`. */
  issuer?: string;
  /** Accepted audiences: the token's `aud`, or (Cognito access tokens) its `client_id`. */
  audience: string[];
  /** JWKS URL; discovered from the issuer when unset. */
  jwksUri?: string;
  /** Tolerance for exp/nbf/iat, in seconds. */
  clockSkewSeconds: number;
  /** Accepted JWS algorithms (asymmetric only: never none, never HMAC). */
  algorithms: string[];
  jwks: {
    /** How long fetched keys are trusted before a refetch. */
    cacheMaxAgeSeconds: number;
    /** Least time between two fetches (an unknown kid refetches once this has passed). */
    cooldownSeconds: number;
  };
  /** Claim paths (dots for nesting; an exact key wins, e.g. `cognito:groups`). */
  claims: { groups: string; scope: string; fhirUser: string; patient: string };
  /** RFC 7662 introspection for opaque (non-JWT) tokens. */
  introspection?: { url: string; clientId: string; clientSecret: string };
  /** When non-empty, every request but /metadata and /.well-known/smart-configuration needs a valid x-api-key. */
  apiKeys: ApiKeyConfig[];
  strategy: 'rbac' | 'smart';
  rbac: {
    /** Group → rules; the built-in default (docs/security.md) when unset. */
    groups?: Record<string, RbacRule[]>;
  };
  smart: {
    /** fhirUser types whose user/ scopes reach every resource the scopes name. */
    adminTypes: string[];
    /** OAuth endpoints advertised in smart-configuration and the CapabilityStatement (else discovered). */
    endpoints: SmartEndpoints;
    /** `capabilities` of /.well-known/smart-configuration. */
    capabilities: string[];
  };
}

export interface SmartEndpoints {
  authorize?: string;
  token?: string;
  introspect?: string;
  revoke?: string;
  register?: string;
  manage?: string;
}

export interface ApiKeyConfig {
  /** A name for logs and rate-limit buckets. */
  id: string;
  /** Hex SHA-256 of the key (the key itself is never stored). */
  sha256: string;
  /** At most `max` requests per `timeWindowMs` for this key. */
  rateLimit?: { max: number; timeWindowMs: number };
}

/** One RBAC rule: these interactions on these resource types ('*' for all). */
export interface RbacRule {
  interactions: string[];
  resourceTypes: string[];
}
