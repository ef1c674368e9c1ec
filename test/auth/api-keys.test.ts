/**
 * API keys: when configured, every request but /metadata and /.well-known/smart-configuration
 * needs a valid x-api-key (stored hashed); per-key rate limits answer 429 with Retry-After.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashApiKey } from '../../src/auth/api-keys.js';
import { loadDevKey, mintDevToken } from '../../src/auth/dev-key.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertInvalidToken, assertStatus, call } from './support/client.js';

let kiln: TestServer;
let base: string;

before(async () => {
  kiln = await startTestServer({
    auth: {
      apiKeys: [
        { id: 'open', sha256: hashApiKey('open-key') },
        { id: 'tight', sha256: hashApiKey('tight-key'), rateLimit: { max: 3, timeWindowMs: 60_000 } },
      ],
    },
  });
  base = kiln.baseUrl;
});
after(() => kiln?.close());

test('missing or unknown API key: 401 with an OperationOutcome and a challenge', async () => {
  for (const [apiKey, context] of [[undefined, 'missing'], ['wrong-key', 'wrong'], [hashApiKey('open-key'), 'the stored hash instead of the key']] as const) {
    const res = await call(base, 'GET', 'Patient/x', { apiKey });
    assertStatus(res, 401, context);
    assert.match(res.headers.get('www-authenticate') ?? '', /ApiKey/, context);
  }
});

test('a valid key passes (auth mode none: the key is the only credential)', async () => {
  assertStatus(await call(base, 'POST', 'Patient', { apiKey: 'open-key' }, { resourceType: 'Patient' }), 201, 'create');
});

test('/metadata and /.well-known/smart-configuration need no key', async () => {
  assertStatus(await call(base, 'GET', 'metadata'), 200, 'metadata');
  assertStatus(await call(base, 'GET', '.well-known/smart-configuration'), 404, 'no OAuth endpoints in mode none, but no 401');
});

test('per-key rate limit: 429 with Retry-After once the key has used its requests; other keys unaffected', async () => {
  for (let i = 0; i < 3; i++) assertStatus(await call(base, 'GET', 'Patient/x', { apiKey: 'tight-key' }), 404, `request ${i + 1}`);
  const limited = await call(base, 'GET', 'Patient/x', { apiKey: 'tight-key' });
  assertStatus(limited, 429, 'over the limit');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers.get('retry-after')}`);
  assert.equal(limited.body.issue[0].code, 'throttled');
  assertStatus(await call(base, 'GET', 'Patient/x', { apiKey: 'open-key' }), 404, 'another key');
  assertStatus(await call(base, 'GET', 'metadata', { apiKey: 'tight-key' }), 200, 'metadata is not limited');
});

test('with bearer authentication on, a valid key is not enough: the token is needed too', async () => {
  const server = await startTestServer({ auth: { mode: 'dev', apiKeys: [{ id: 'k', sha256: hashApiKey('k-key') }] } });
  try {
    const token = await mintDevToken(await loadDevKey(server.dataDir), { sub: 'x', 'cognito:groups': ['practitioner'] }, 300);
    assertInvalidToken(await call(server.baseUrl, 'GET', 'Patient/x', { apiKey: 'k-key' }), 'key without token');
    assertStatus(await call(server.baseUrl, 'GET', 'Patient/x', { token }), 401, 'token without key');
    assertStatus(await call(server.baseUrl, 'GET', 'Patient/x', { token, apiKey: 'k-key' }), 404, 'both');
  } finally {
    await server.close();
  }
});
