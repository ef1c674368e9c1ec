import { ConfigError } from './load.js';
import type { AuthConfig, KilnConfig } from './types.js';

/** The verbs an RBAC rule may name (docs/security.md). */
export const RBAC_INTERACTIONS = ['create', 'read', 'vread', 'update', 'patch', 'delete', 'search', 'history', 'transaction', 'batch', 'operation', '*'];

/** Asymmetric JWS algorithms only: a JWKS holds public keys, so HMAC would mean "secret = public key". */
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^ES256K$|^EdDSA$|^Ed25519$/;

export function defaultAuthConfig(): AuthConfig {
  return {
    mode: 'none',
    audience: [],
    clockSkewSeconds: 30,
    algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    jwks: { cacheMaxAgeSeconds: 600, cooldownSeconds: 30 },
    claims: { groups: 'cognito:groups', scope: 'scope', fhirUser: 'fhirUser', patient: 'patient' },
    apiKeys: [],
    strategy: 'rbac',
    rbac: {},
    smart: {
      adminTypes: ['Practitioner'],
      endpoints: {},
      capabilities: [
        'launch-standalone',
        'client-public',
        'client-confidential-symmetric',
        'context-standalone-patient',
        'permission-patient',
        'permission-user',
        'permission-v1',
        'permission-v2',
        'sso-openid-connect',
      ],
    },
  };
}

/** Checks (and normalises) the auth, tenancy and API-key settings; throws ConfigError. */
export function validateAuthConfig(config: KilnConfig): void {
  const auth = config.auth;
  if (!['none', 'jwt', 'dev'].includes(auth.mode)) throw new ConfigError(`auth.mode must be none, jwt or dev, got '${String(auth.mode)}'`);
  if (!['rbac', 'smart'].includes(auth.strategy)) throw new ConfigError(`auth.strategy must be rbac or smart, got '${String(auth.strategy)}'`);
  if (typeof auth.audience === 'string') auth.audience = [auth.audience];
  if (auth.mode === 'jwt') {
    if (!auth.issuer) throw new ConfigError('auth.mode jwt needs auth.issuer (--oidc-issuer)');
    if (!Array.isArray(auth.audience) || auth.audience.length === 0) throw new ConfigError('auth.mode jwt needs auth.audience (--oidc-audience)');
  }
  if (!Array.isArray(auth.algorithms) || auth.algorithms.length === 0) throw new ConfigError('auth.algorithms must list at least one algorithm');
  for (const alg of auth.algorithms) {
    if (!ASYMMETRIC.test(alg)) throw new ConfigError(`auth.algorithms: '${alg}' is not allowed (only asymmetric RS*, PS*, ES*, EdDSA; never none or HS*)`);
  }
  if (!Number.isInteger(auth.clockSkewSeconds) || auth.clockSkewSeconds < 0 || auth.clockSkewSeconds > 300) {
    throw new ConfigError('auth.clockSkewSeconds must be a whole number from 0 to 300');
  }
  for (const key of auth.apiKeys) {
    if (!key || typeof key.id !== 'string' || key.id === '') throw new ConfigError('auth.apiKeys: every key needs an id');
    if (typeof key.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(key.sha256)) throw new ConfigError(`auth.apiKeys '${key.id}': sha256 must be 64 hex digits`);
    const limit = key.rateLimit;
    if (limit && !(Number.isInteger(limit.max) && limit.max > 0 && Number.isInteger(limit.timeWindowMs) && limit.timeWindowMs > 0)) {
      throw new ConfigError(`auth.apiKeys '${key.id}': rateLimit needs positive whole max and timeWindowMs`);
    }
  }
  const introspection = auth.introspection;
  if (introspection && !(introspection.url && introspection.clientId && introspection.clientSecret)) {
    throw new ConfigError('auth.introspection needs url, clientId and clientSecret');
  }
  for (const [group, rules] of Object.entries(auth.rbac.groups ?? {})) {
    if (!Array.isArray(rules)) throw new ConfigError(`auth.rbac.groups.${group} must be a list of rules`);
    for (const rule of rules) {
      if (!Array.isArray(rule.interactions) || !Array.isArray(rule.resourceTypes)) {
        throw new ConfigError(`auth.rbac.groups.${group}: a rule needs interactions and resourceTypes lists`);
      }
      const unknown = rule.interactions.find((name) => !RBAC_INTERACTIONS.includes(name));
      if (unknown) throw new ConfigError(`auth.rbac.groups.${group}: unknown interaction '${unknown}'`);
    }
  }
  if (typeof config.tenancy.claim !== 'string' || config.tenancy.claim === '') throw new ConfigError('tenancy.claim must name a claim');
}
