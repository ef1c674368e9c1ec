import { ConfigError } from '../config/load.js';
import type { KilnConfig } from '../config/types.js';
import { createAuthenticator } from './authenticate.js';
import { createDiscovery, type Discovery } from './discovery.js';
import { createSecurityMetadata, type SecurityMetadata } from './metadata.js';
import { createRbacAuthorizer } from './rbac/index.js';
import { createSmartAuthorizer } from './smart/index.js';
import type { Authenticator, Authorizer } from './types.js';

export type * from './types.js';
export { hashApiKey, matchApiKey } from './api-keys.js';
export { createRbacAuthorizer } from './rbac/index.js';
export { createSmartAuthorizer } from './smart/index.js';
export { parseScope, parseScopes } from './smart/scopes.js';
export { withinReach } from './reach.js';

/** Everything the server needs for security, built once from the configuration. */
export interface AuthComponents {
  authenticator: Authenticator;
  /** Absent in mode none: nothing is authorized (and nothing needs to be). */
  authorizer?: Authorizer;
  security: SecurityMetadata;
  /** The issuer's OIDC discovery (jwt mode without a configured jwksUri or endpoints). */
  discovery?: Discovery;
}

export function createAuth(config: KilnConfig, custom: { authenticator?: Authenticator; authorizer?: Authorizer } = {}): AuthComponents {
  const { auth } = config;
  const discovery = auth.mode === 'jwt' && auth.issuer ? createDiscovery(auth.issuer) : undefined;
  const authenticator = custom.authenticator ?? createAuthenticator(config, discovery);
  const authorizer =
    authenticator.mode === 'none' && !custom.authorizer
      ? undefined
      : (custom.authorizer ?? (auth.strategy === 'smart' ? createSmartAuthorizer({ adminTypes: auth.smart.adminTypes }) : createRbacAuthorizer(auth.rbac.groups)));
  return { authenticator, authorizer, security: createSecurityMetadata(config, discovery), discovery };
}

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

/** Anonymous access is for a developer's own machine: elsewhere it must be asked for explicitly. */
export function checkAnonymousBinding(config: KilnConfig): void {
  if (config.auth.mode === 'none' && !isLoopback(config.host) && !config.allowAnonymous) {
    throw new ConfigError(
      `auth.mode is 'none' (no authentication) but Kiln would listen on ${config.host}, beyond this machine. ` +
        "Configure authentication (--auth-mode jwt or dev), bind 127.0.0.1, or pass --allow-anonymous to accept anonymous access explicitly.",
    );
  }
}

/** One line for the start-up log saying how callers are authenticated and authorized. */
export function describeAuth(config: KilnConfig): Record<string, unknown> {
  const { auth } = config;
  return {
    mode: auth.mode,
    ...(auth.mode === 'none' ? { anonymous: true } : { strategy: auth.strategy }),
    ...(auth.mode === 'jwt' ? { issuer: auth.issuer, audience: auth.audience, introspection: Boolean(auth.introspection) } : {}),
    apiKeys: auth.apiKeys.length,
    tenancy: config.tenancy.enabled,
  };
}
