import type { KilnConfig } from '../config/types.js';
import type { Discovery } from './discovery.js';
import { invalidToken } from './errors.js';
import { createIntrospector } from './introspection.js';
import type { TokenVerifier } from './jwt.js';
import { principalFromClaims } from './claims.js';
import type { Authenticator } from './types.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The authenticator for the configured mode: none (anonymous), jwt (OIDC, optional introspection) or dev. */
export function createAuthenticator(config: KilnConfig, discovery: Discovery | undefined): Authenticator {
  const { auth } = config;
  if (auth.mode === 'none') return { mode: 'none', authenticate: async () => undefined };
  // jose (and the modules using it) load only in the modes that verify tokens.
  const verifier: Promise<TokenVerifier> =
    auth.mode === 'dev'
      ? import('./dev-key.js').then((m) => m.createDevVerifier(config.dataDir, auth.clockSkewSeconds))
      : import('./jwt.js').then((m) => m.createJwtVerifier(auth, discovery));
  const introspect = auth.mode === 'jwt' && auth.introspection ? createIntrospector(auth) : undefined;
  return {
    mode: auth.mode,
    async authenticate(authorization) {
      const match = authorization ? /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization) : null;
      if (!match) throw invalidToken(authorization ? 'expected an Authorization: Bearer token' : 'no bearer token');
      const token = match[1];
      if (JWT_SHAPE.test(token)) {
        const payload = await (await verifier)(token);
        return principalFromClaims(payload as Record<string, unknown>, config, auth.mode === 'dev' ? 'dev' : 'jwt');
      }
      if (introspect) return principalFromClaims(await introspect(token), config, 'introspection');
      throw invalidToken('malformed token');
    },
  };
}
