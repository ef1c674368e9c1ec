import type { KilnConfig } from '../config/types.js';
import { createDevVerifier } from './dev-key.js';
import type { Discovery } from './discovery.js';
import { invalidToken } from './errors.js';
import { createIntrospector } from './introspection.js';
import { createJwtVerifier } from './jwt.js';
import { principalFromClaims } from './claims.js';
import type { Authenticator } from './types.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The authenticator for the configured mode: none (anonymous), jwt (OIDC, optional introspection) or dev. */
export function createAuthenticator(config: KilnConfig, discovery: Discovery | undefined): Authenticator {
  const { auth } = config;
  if (auth.mode === 'none') return { mode: 'none', authenticate: async () => undefined };
  const verifyJwt = auth.mode === 'dev' ? createDevVerifier(config.dataDir, auth.clockSkewSeconds) : createJwtVerifier(auth, discovery);
  const introspect = auth.mode === 'jwt' && auth.introspection ? createIntrospector(auth) : undefined;
  return {
    mode: auth.mode,
    async authenticate(authorization) {
      const match = authorization ? /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization) : null;
      if (!match) throw invalidToken(authorization ? 'expected an Authorization: Bearer token' : 'no bearer token');
      const token = match[1];
      if (JWT_SHAPE.test(token)) {
        const payload = await verifyJwt(token);
        return principalFromClaims(payload as Record<string, unknown>, config, auth.mode === 'dev' ? 'dev' : 'jwt');
      }
      if (introspect) return principalFromClaims(await introspect(token), config, 'introspection');
      throw invalidToken('malformed token');
    },
  };
}
