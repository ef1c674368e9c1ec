import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { invalidToken } from './errors.js';
import type { TokenVerifier } from './jwt.js';

/**
 * Dev mode: a signing key kept in the data directory mints tokens (`kiln token`) for trying Kiln
 * out. These tokens carry their own `typ`, issuer and audience, which every other mode rejects.
 */
export const DEV_TOKEN_TYPE = 'kiln-dev+jwt';
export const DEV_ISSUER = 'urn:kiln:dev';
const ALG = 'ES256';
const FILE = 'kiln-dev-signing-key.json';

interface StoredKey {
  kid: string;
  privateJwk: JWK;
}

export interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** Reads the data directory's dev key, creating it (readable by the owner only) on first use. */
export async function loadDevKey(dataDir: string): Promise<DevKey> {
  const path = join(dataDir, FILE);
  let stored: StoredKey;
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as StoredKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    stored = { kid: `kiln-dev-${randomUUID()}`, privateJwk: await exportJWK(privateKey) };
    await mkdir(dataDir, { recursive: true });
    try {
      await writeFile(path, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      // Another process created it first: use theirs.
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      stored = JSON.parse(await readFile(path, 'utf8')) as StoredKey;
    }
  }
  const { d: _private, ...publicJwk } = stored.privateJwk;
  return {
    kid: stored.kid,
    privateKey: (await importJWK(stored.privateJwk, ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
  };
}

export async function mintDevToken(key: DevKey, claims: JWTPayload, expiresInSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: DEV_TOKEN_TYPE })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(key.privateKey);
}

export function createDevVerifier(dataDir: string, clockSkewSeconds: number): TokenVerifier {
  let key: Promise<DevKey> | undefined;
  return async (token) => {
    key ??= loadDevKey(dataDir);
    const { publicKey } = await key;
    try {
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: DEV_ISSUER,
        audience: DEV_ISSUER,
        typ: DEV_TOKEN_TYPE,
        algorithms: [ALG],
        clockTolerance: clockSkewSeconds,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch {
      throw invalidToken('not a valid dev token of this server');
    }
  };
}
