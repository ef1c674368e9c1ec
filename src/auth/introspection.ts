import type { AuthConfig } from '../config/types.js';
import { invalidToken, providerUnavailable } from './errors.js';

/**
 * RFC 7662 token introspection for opaque access tokens: the authorization server says whether
 * the token is active and what it carries. Kiln checks `active`, `exp`/`nbf`, and — when the
 * response names them — `iss` and `aud`.
 */
export function createIntrospector(auth: AuthConfig): (token: string) => Promise<Record<string, unknown>> {
  const settings = auth.introspection!;
  const basic = Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64');
  return async (token) => {
    let response: Response;
    try {
      response = await fetch(settings.url, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      throw providerUnavailable('the token introspection endpoint');
    }
    if (!response.ok) throw providerUnavailable('the token introspection endpoint');
    const claims = (await response.json()) as Record<string, unknown>;
    if (claims.active !== true) throw invalidToken('token is not active');
    const now = Date.now() / 1000;
    if (typeof claims.exp === 'number' && claims.exp + auth.clockSkewSeconds < now) throw invalidToken('token expired');
    if (typeof claims.nbf === 'number' && claims.nbf - auth.clockSkewSeconds > now) throw invalidToken('token not yet valid');
    if (auth.issuer && claims.iss !== undefined && claims.iss !== auth.issuer) throw invalidToken('unexpected issuer');
    if (claims.aud !== undefined) {
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!aud.some((value) => auth.audience.includes(value as string))) throw invalidToken('token audience is not this server');
    }
    return claims;
  };
}
