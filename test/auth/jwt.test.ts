/**
 * Bearer-token authentication against a real OpenID provider on loopback (oidc-provider): JWKS
 * fetched through OIDC discovery, key rotation, client credentials, authorization code with PKCE,
 * ID tokens, and the attacks a verifier must refuse (RFC 8725, RFC 6750).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base64url, decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { loadDevKey, mintDevToken } from '../../src/auth/dev-key.js';
import { type TestServer } from '../support/server.js';
import { assertInvalidToken, assertStatus, call } from './support/client.js';
import { CLIENTS, RESOURCE, type TestIdp } from './support/idp.js';
import { useProviderAndKiln } from './support/fixture.js';

let idp: TestIdp;
let kiln: TestServer;
let base: string;

useProviderAndKiln(
  (started) => {
    ({ idp, kiln, base } = started);
  },
  // An unknown kid refetches the JWKS at once (the default waits 30 s between fetches).
  () => ({ audience: [RESOURCE, CLIENTS.app.id], clockSkewSeconds: 5, jwks: { cooldownSeconds: 0 } }),
);

describe('tokens from the provider', () => {
  test('a client-credentials JWT with system scopes creates and reads', async () => {
    const token = await idp.clientCredentialsToken('system/*.*');
    const created = assertStatus(await call(base, 'POST', 'Patient', { token }, { resourceType: 'Patient', active: true }), 201, 'create');
    assertStatus(await call(base, 'GET', `Patient/${created.id}`, { token }), 200, 'read');
  });

  test('scopes limit what a backend service may do: 403, not 401', async () => {
    const token = await idp.clientCredentialsToken('system/Patient.rs');
    const res = await call(base, 'POST', 'Patient', { token }, { resourceType: 'Patient' });
    assertStatus(res, 403, 'create without a c scope');
    assert.equal(res.headers.get('www-authenticate'), null, 'a 403 is no authentication challenge');
    assertStatus(await call(base, 'GET', 'Observation/any', { token }), 403, 'read of a type the scopes do not name');
  });

  test('authorization code with PKCE: a patient launch reads its own record only', async () => {
    const system = await idp.clientCredentialsToken('system/*.*');
    assertStatus(await call(base, 'PUT', 'Patient/pat-a', { token: system }, { resourceType: 'Patient', id: 'pat-a' }), 201, 'seed pat-a');
    assertStatus(await call(base, 'PUT', 'Patient/pat-b', { token: system }, { resourceType: 'Patient', id: 'pat-b' }), 201, 'seed pat-b');
    const { accessToken } = await idp.authorizationCodeTokens('paula', 'patient/Patient.r');
    assert.equal(decodeJwt(accessToken).patient, 'pat-a');
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: accessToken }), 200, 'own record');
    const other = await call(base, 'GET', 'Patient/pat-b', { token: accessToken });
    const unknown = await call(base, 'GET', 'Patient/never-was', { token: accessToken });
    assertStatus(other, 404, "another patient's record");
    assert.equal(other.text.replace('pat-b', 'X'), unknown.text.replace('never-was', 'X'), 'no hint that it exists');
  });

  test('authorization code: a practitioner (an admin fhirUser type) with user scopes reaches every Patient', async () => {
    const { accessToken } = await idp.authorizationCodeTokens('alice', 'user/Patient.cruds');
    assertStatus(await call(base, 'GET', 'Patient/pat-b', { token: accessToken }), 200, 'user/ scope of a Practitioner');
  });

  test('an ID token is accepted when its audience (the client id) is configured, and grants no scopes', async () => {
    const { idToken } = await idp.authorizationCodeTokens('alice', 'user/Patient.cruds');
    assert.equal(decodeJwt(idToken).aud, CLIENTS.app.id);
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: idToken }), 403, 'authenticated, not allowed');
  });

  test('key rotation: a token signed with a new key is accepted after a JWKS refresh', async () => {
    const before = await idp.clientCredentialsToken('system/*.*');
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: before }), 200, 'old key');
    const fetches = idp.jwksFetches;
    await idp.rotateKeys();
    const rotated = await idp.clientCredentialsToken('system/*.*');
    assert.notEqual((JSON.parse(Buffer.from(rotated.split('.')[0], 'base64url').toString()) as { kid: string }).kid, (JSON.parse(Buffer.from(before.split('.')[0], 'base64url').toString()) as { kid: string }).kid);
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: rotated }), 200, 'new key');
    assert.ok(idp.jwksFetches > fetches, 'Kiln refetched the JWKS for the unknown kid');
    assertStatus(await call(base, 'GET', 'Patient/pat-a', { token: before }), 200, 'the old key is still published');
  });
});

describe('attacks and bad credentials → 401 with WWW-Authenticate: Bearer error="invalid_token"', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const read = (token: string | undefined, headers?: Record<string, string>) => call(base, 'GET', 'Patient/pat-a', { token, headers });

  test('a valid crafted token passes (so the failures below are about the one thing changed)', async () => {
    assertStatus(await read(await idp.sign()), 200, 'control');
  });
  test('no credentials', async () => assertInvalidToken(await read(undefined), 'no token'));
  test('another scheme', async () => assertInvalidToken(await read(undefined, { authorization: 'Basic YTpi' }), 'basic'));
  test('garbage', async () => assertInvalidToken(await read('not-a-token'), 'garbage'));
  test('expired', async () => {
    const res = await read(await idp.sign({ exp: now() - 60 }));
    assertInvalidToken(res, 'expired');
    assert.match(res.headers.get('www-authenticate')!, /error_description="token expired"/);
  });
  test('expired within the configured skew is still accepted', async () => assertStatus(await read(await idp.sign({ exp: now() - 2 })), 200, 'skew'));
  test('not yet valid (nbf)', async () => assertInvalidToken(await read(await idp.sign({ nbf: now() + 120 })), 'nbf'));
  test('no exp at all', async () => assertInvalidToken(await read(await idp.sign({ exp: undefined })), 'no exp'));
  test('wrong audience', async () => assertInvalidToken(await read(await idp.sign({ aud: 'https://other.api' })), 'aud'));
  test('wrong issuer', async () => assertInvalidToken(await read(await idp.sign({ iss: 'https://evil.example' })), 'iss'));

  test('alg: none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ iss: idp.issuer, aud: RESOURCE, sub: 'x', exp: now() + 300, scope: 'system/*.*', 'custom:tenantId': 't1' }));
    assertInvalidToken(await read(`${header}.${payload}.`), 'alg none');
  });

  test('HS256 signed with the public key as the HMAC secret', async () => {
    const jwk = idp.publicJwk();
    const token = await new SignJWT({ iss: idp.issuer, aud: RESOURCE, sub: 'x', scope: 'system/*.*' })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    assertInvalidToken(await read(token), 'HS256 with public key');
  });

  test('tampered payload (scope escalated after signing)', async () => {
    const [header, , signature] = (await idp.sign({ scope: 'system/Patient.rs' })).split('.');
    const payload = base64url.encode(JSON.stringify({ iss: idp.issuer, aud: RESOURCE, sub: 'crafted', exp: now() + 300, scope: 'system/*.*' }));
    assertInvalidToken(await read(`${header}.${payload}.${signature}`), 'tampered');
  });

  test('signed by a key the issuer never published (unknown kid)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ iss: idp.issuer, aud: RESOURCE, sub: 'x', scope: 'system/*.*' })
      .setProtectedHeader({ alg: 'RS256', kid: 'attacker-key' })
      .setExpirationTime('5m')
      .sign(privateKey);
    assertInvalidToken(await read(token), 'unknown kid');
  });

  test("signed by a stranger's key under the issuer's kid", async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ iss: idp.issuer, aud: RESOURCE, sub: 'x', scope: 'system/*.*' })
      .setProtectedHeader({ alg: 'RS256', kid: idp.publicJwk().kid })
      .setExpirationTime('5m')
      .sign(privateKey);
    assertInvalidToken(await read(token), 'forged signature');
  });

  test('a dev-mode token (kiln token) is rejected in jwt mode', async () => {
    const key = await loadDevKey(kiln.dataDir);
    const token = await mintDevToken(key, { sub: 'dev', scope: 'system/*.*' }, 300);
    assertInvalidToken(await read(token), 'dev token');
  });
});

describe('public endpoints', () => {
  test('/metadata needs no credentials and describes the security', async () => {
    await call(base, 'GET', 'Patient/pat-a', { token: await idp.sign() }); // discovery has happened by now
    const res = assertStatus(await call(base, 'GET', 'metadata'), 200, 'metadata');
    const security = res.rest[0].security;
    assert.equal(security.service[0].coding[0].code, 'SMART-on-FHIR');
    const uris = Object.fromEntries(security.extension[0].extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]));
    assert.equal(security.extension[0].url, 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    assert.equal(uris.authorize, `${idp.issuer}/auth`);
    assert.equal(uris.token, `${idp.issuer}/token`);
  });

  test('/.well-known/smart-configuration needs no credentials and comes from the configuration', async () => {
    const res = assertStatus(await call(base, 'GET', '.well-known/smart-configuration'), 200, 'smart-configuration');
    assert.equal(res.issuer, idp.issuer);
    assert.equal(res.authorization_endpoint, `${idp.issuer}/auth`);
    assert.equal(res.token_endpoint, `${idp.issuer}/token`);
    assert.ok(res.capabilities.includes('permission-v2'));
    assert.deepEqual(res.code_challenge_methods_supported, ['S256']);
  });
});
