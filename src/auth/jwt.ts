import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config/types.js';
import { DEV_TOKEN_TYPE } from './dev-key.js';
import type { Discovery } from './discovery.js';
import { invalidToken, providerUnavailable } from './errors.js';

export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/** The key-lookup errors that are the token's fault; any other failure means the JWKS is unreachable. */
const TOKEN_KEY_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSEAlgNotAllowed, errors.JOSENotSupported, errors.JWSInvalid];

class KeysUnreachable extends Error {}

/**
 * Verifies bearer JWTs against the issuer's JWKS: signature, algorithm allow-list, iss, aud,
 * exp/nbf with skew. Keys are fetched on first use, cached for `jwks.cacheMaxAgeSeconds` and
 * refetched when a token names an unknown kid (at most once per `jwks.cooldownSeconds`).
 */
export function createJwtVerifier(auth: AuthConfig, discovery: Discovery | undefined): TokenVerifier {
  const issuer = auth.issuer!;
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const keys = (): Promise<JWTVerifyGetKey> => {
    keySet ??= (async () => {
      const uri = auth.jwksUri ?? (await discovery!.metadata()).jwks_uri;
      return createRemoteJWKSet(new URL(uri), {
        cacheMaxAge: auth.jwks.cacheMaxAgeSeconds * 1000,
        cooldownDuration: auth.jwks.cooldownSeconds * 1000,
        timeoutDuration: 5000,
      });
    })().catch((error: unknown) => {
      keySet = undefined;
      throw new KeysUnreachable((error as Error).message);
    });
    return keySet;
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    const jwks = await keys();
    try {
      return await jwks(header, token);
    } catch (error) {
      if (TOKEN_KEY_ERRORS.some((type) => error instanceof type)) throw error;
      throw new KeysUnreachable((error as Error).message);
    }
  };

  return async (token) => {
    rejectDevToken(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer,
        algorithms: auth.algorithms,
        clockTolerance: auth.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof KeysUnreachable) throw providerUnavailable("the issuer's key set");
      throw invalidToken(describe(error));
    }
    checkAudience(payload, auth.audience);
    return payload;
  };
}

function rejectDevToken(token: string): void {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidToken('malformed token');
  }
  if (header.typ === DEV_TOKEN_TYPE) throw invalidToken('dev tokens are accepted only in dev mode');
}

/**
 * `aud` must name one of ours. Cognito access tokens carry no `aud` but `client_id` (with
 * token_use "access"), so for those the client id is checked instead.
 */
export function checkAudience(payload: JWTPayload, audience: readonly string[]): void {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.some((value) => audience.includes(value))) return;
  const clientId = payload.client_id;
  if (aud.length === 0 && payload.token_use === 'access' && typeof clientId === 'string' && audience.includes(clientId)) return;
  throw invalidToken('token audience is not this server');
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.claim === 'iss') return 'unexpected issuer';
    return `invalid claim ${error.claim}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown signing key';
  return 'malformed token';
}
