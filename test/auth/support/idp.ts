/**
 * A real OpenID provider (oidc-provider) on loopback for the auth tests: client credentials for
 * system scopes, authorization code with PKCE for user and patient launches, JWT access tokens
 * through resource indicators, opaque tokens with introspection, and key rotation. Tests can also
 * sign crafted tokens with the provider's own key (or a stranger's) for attack cases.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

/** The audience (resource indicator) Kiln is configured with. */
export const RESOURCE = 'https://kiln.test/fhir';

/** Every clinical scope a test asks for must be listed (the provider grants only known scopes). */
export const SMART_SCOPES = [
  'system/*.*',
  'system/*.cruds',
  'system/Patient.rs',
  'system/Patient.read',
  'system/Observation.cruds',
  'system/Encounter.rs',
  'system/Patient.rs?eye-colour=blue',
  'system/Patient.cruds?eye-colour=blue',
  'patient/*.read',
  'patient/*.rs',
  'patient/*.cruds',
  'patient/Observation.rs',
  'patient/Observation.cruds',
  'patient/Observation.rs?category=laboratory',
  'patient/Observation.rs?category=vital-signs',
  'patient/Patient.r',
  'patient/Patient.rs',
  'patient/Patient.rs?eye-colour=blue',
  'patient/Patient.rs?eye-colour=brown',
  'user/*.rs',
  'user/*.cruds',
  'user/Observation.rs',
  'user/Observation.cruds',
  'user/Patient.cruds',
];

/** Accounts for authorization-code logins (login_hint) and the claims their tokens carry. */
export const ACCOUNTS: Record<string, Record<string, unknown>> = {
  alice: { fhirUser: 'Practitioner/alice', 'cognito:groups': ['practitioner'], 'custom:tenantId': 't1' },
  paula: { patient: 'pat-a', fhirUser: 'Patient/pat-a', 'custom:tenantId': 't1' },
  rita: { fhirUser: 'RelatedPerson/rita', 'custom:tenantId': 't1' },
  /** A relative launching an app for pat-a: both patient/ and user/ scopes mean something. */
  rosa: { patient: 'pat-a', fhirUser: 'RelatedPerson/rosa', 'custom:tenantId': 't1' },
};

export const CLIENTS = {
  backend: { id: 'kiln-backend', secret: 'backend-secret', claims: { 'custom:tenantId': 't1' } },
  backend2: { id: 'kiln-backend-t2', secret: 'backend2-secret', claims: { 'custom:tenantId': 't2' } },
  app: { id: 'kiln-app', redirect: 'http://127.0.0.1:9/callback' },
  kiln: { id: 'kiln-introspector', secret: 'introspector-secret' },
};

interface SigningKey {
  kid: string;
  privateJwk: JWK;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestIdp {
  issuer: string;
  /** How many times Kiln (or anyone) fetched the JWKS. */
  readonly jwksFetches: number;
  clientCredentialsToken(scope: string, options?: { client?: 'backend' | 'backend2'; opaque?: boolean }): Promise<string>;
  authorizationCodeTokens(account: string, scope: string): Promise<{ accessToken: string; idToken: string }>;
  /** A new signing key comes first; the old one stays published (as providers do while rotating). */
  rotateKeys(): Promise<void>;
  /** A token signed with the provider's current key: valid claims unless overridden. */
  sign(payload?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** The current signing key's public JWK (for the HS256 "public key as secret" attack). */
  publicJwk(): JWK;
  close(): Promise<void>;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `key-${randomBytes(6).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const { d, p, q, dp, dq, qi, ...publicJwk } = privateJwk;
  return { kid, privateJwk, privateKey, publicJwk };
}

export async function startIdp(): Promise<TestIdp> {
  let keys = [await newKey()];
  let provider: Provider | undefined;
  let jwksFetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(provider!, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    if (req.url === '/jwks') jwksFetches++;
    provider!.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const build = () => {
    provider = new Provider(issuer, providerConfiguration(keys.map((key) => key.privateJwk)));
  };
  build();

  const tokenRequest = async (body: Record<string, string>, basic?: { id: string; secret: string }) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')}`;
    const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
    const json = (await response.json()) as Record<string, string>;
    if (!response.ok) throw new Error(`token endpoint: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  return {
    issuer,
    get jwksFetches() {
      return jwksFetches;
    },
    async clientCredentialsToken(scope, options = {}) {
      const client = CLIENTS[options.client ?? 'backend'];
      const body: Record<string, string> = { grant_type: 'client_credentials', scope };
      if (!options.opaque) body.resource = RESOURCE;
      return (await tokenRequest(body, client)).access_token;
    },
    async authorizationCodeTokens(account, scope) {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const query = new URLSearchParams({
        client_id: CLIENTS.app.id,
        response_type: 'code',
        redirect_uri: CLIENTS.app.redirect,
        scope: `openid ${scope}`,
        resource: RESOURCE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        login_hint: account,
        state: randomBytes(8).toString('hex'),
      });
      const code = await followToCallback(`${issuer}/auth?${query}`, CLIENTS.app.redirect);
      const tokens = await tokenRequest({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CLIENTS.app.redirect,
        client_id: CLIENTS.app.id,
        code_verifier: verifier,
        resource: RESOURCE,
      });
      return { accessToken: tokens.access_token, idToken: tokens.id_token };
    },
    async rotateKeys() {
      keys = [await newKey(), ...keys];
      build();
    },
    sign(payload = {}, header = {}) {
      const key = keys[0];
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: RESOURCE, sub: 'crafted', iat: now, exp: now + 300, scope: 'system/*.*', 'custom:tenantId': 't1', ...payload })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt', ...header })
        .sign(key.privateKey);
    },
    publicJwk: () => keys[0].publicJwk,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Map-backed storage adapter (the built-in one works too, but warns about production use). */
const stored = new Map<string, { payload: Record<string, unknown>; expires: number }>();
class MapAdapter {
  constructor(private readonly model: string) {}
  private key = (id: string) => `${this.model}:${id}`;
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    stored.set(this.key(id), { payload, expires: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    const entry = stored.get(this.key(id));
    return entry && entry.expires > Date.now() ? entry.payload : undefined;
  }
  async findByUid(uid: string) {
    for (const [key, entry] of stored) if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) return entry.payload;
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    const entry = stored.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    stored.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const [key, entry] of stored) if (entry.payload.grantId === grantId) stored.delete(key);
  }
}

function providerConfiguration(jwks: JWK[]): Record<string, unknown> {
  return {
    adapter: MapAdapter,
    jwks: { keys: jwks },
    clients: [
      { client_id: CLIENTS.backend.id, client_secret: CLIENTS.backend.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: CLIENTS.backend2.id, client_secret: CLIENTS.backend2.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: CLIENTS.kiln.id, client_secret: CLIENTS.kiln.secret, grant_types: [], response_types: [], redirect_uris: [] },
      {
        client_id: CLIENTS.app.id,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [CLIENTS.app.redirect],
      },
    ],
    routes: { jwks: '/jwks' },
    scopes: ['openid', ...SMART_SCOPES],
    // ID tokens carry the account's claims too, as Cognito's do (groups, tenant).
    claims: { openid: ['sub', 'cognito:groups', 'custom:tenantId', 'fhirUser', 'patient'] },
    conformIdTokenClaims: false,
    cookies: { keys: ['kiln-test-cookie-key'] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, ...ACCOUNTS[sub] }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string; clientId?: string }) => {
      if (token.accountId) return ACCOUNTS[token.accountId];
      return Object.values(CLIENTS).find((client) => client.id === token.clientId && 'claims' in client)?.['claims' as never];
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({ scope: SMART_SCOPES.join(' '), audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
  };
}

/** Logs the account in (login_hint) and grants whatever consent is asked, without any page. */
async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: details.params.login_hint } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: details.session?.accountId, clientId: details.params.client_id });
  const { missingOIDCScope, missingResourceScopes } = details.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

/** Follows the authorization redirects with a cookie jar until the redirect to the client; returns the code. */
async function followToCallback(start: string, redirectUri: string): Promise<string> {
  const cookies = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 12; hop++) {
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`authorization flow stopped at ${url}: ${response.status} ${(await response.text()).slice(0, 300)}`);
    await response.body?.cancel();
    const next = new URL(location, url);
    if (next.href.startsWith(redirectUri)) {
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`authorization failed: ${next.search}`);
      return code;
    }
    url = next.href;
  }
  throw new Error('authorization flow did not reach the redirect URI');
}
