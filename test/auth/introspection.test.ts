/**
 * Opaque access tokens through RFC 7662 introspection at the real test provider, and what happens
 * when the identity provider cannot be reached (503, not 401: the caller did nothing wrong).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertInvalidToken, assertStatus, call } from './support/client.js';
import { CLIENTS, RESOURCE, type TestIdp } from './support/idp.js';
import { useProviderAndKiln } from './support/fixture.js';
import { freePort } from '../support/process.js';

let idp: TestIdp;
let kiln: TestServer;

useProviderAndKiln(
  (started) => {
    ({ idp, kiln } = started);
  },
  (provider) => ({ introspection: { url: `${provider.issuer}/token/introspection`, clientId: CLIENTS.kiln.id, clientSecret: CLIENTS.kiln.secret } }),
);

test('an opaque token is introspected: active, with its scopes and claims', async () => {
  const token = await idp.clientCredentialsToken('system/Patient.rs', { opaque: true });
  assert.equal(token.split('.').length, 1, 'opaque, not a JWT');
  assertStatus(await call(kiln.baseUrl, 'GET', 'Patient/nobody', { token }), 404, 'read allowed (nothing there)');
  assertStatus(await call(kiln.baseUrl, 'POST', 'Patient', { token }, { resourceType: 'Patient' }), 403, 'scopes still apply');
});

test('an opaque token the provider does not know is inactive: 401', async () => {
  assertInvalidToken(await call(kiln.baseUrl, 'GET', 'Patient/nobody', { token: 'A'.repeat(43) }), 'inactive');
});

test('JWTs are still verified locally alongside introspection', async () => {
  assertStatus(await call(kiln.baseUrl, 'GET', 'Patient/nobody', { token: await idp.clientCredentialsToken('system/Patient.rs') }), 404, 'jwt');
});

test('an unreachable JWKS is a 503 with Retry-After, not a 401', async () => {
  const port = await freePort();
  const server = await startTestServer({ auth: { mode: 'jwt', issuer: idp.issuer, audience: [RESOURCE], jwksUri: `http://127.0.0.1:${port}/jwks` } });
  try {
    const res = await call(server.baseUrl, 'GET', 'Patient/x', { token: await idp.sign() });
    assertStatus(res, 503, 'jwks down');
    assert.ok(res.headers.get('retry-after'));
    assertInvalidToken(await call(server.baseUrl, 'GET', 'Patient/x', { token: 'garbage' }), 'a malformed token is still a 401');
  } finally {
    await server.close();
  }
});
