/**
 * Multi-tenancy: every FHIR URL is /tenant/{id}/…, the token's tenant must match the path, and
 * the store scopes every query by tenant, so ids repeat across tenants and nothing crosses over.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadDevKey, mintDevToken } from '../../src/auth/dev-key.js';
import { entryStatus } from '../http/helpers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertStatus, call } from './support/client.js';

let kiln: TestServer;
let root: string;
const t1 = () => `${root}/tenant/t1`;
const t2 = () => `${root}/tenant/t2`;
const tokens: Record<string, string> = {};

before(async () => {
  kiln = await startTestServer({ auth: { mode: 'dev' }, tenancy: { enabled: true } });
  root = kiln.baseUrl;
  const key = await loadDevKey(kiln.dataDir);
  const mint = (tenant: string | undefined) => mintDevToken(key, { sub: `user-${tenant}`, 'cognito:groups': ['practitioner'], ...(tenant ? { 'custom:tenantId': tenant } : {}) }, 300);
  tokens.t1 = await mint('t1');
  tokens.t2 = await mint('t2');
  tokens.none = await mint(undefined);
  assertStatus(await call(t1(), 'PUT', 'Patient/same', { token: tokens.t1 }, { resourceType: 'Patient', id: 'same', name: [{ family: 'One' }] }), 201, 't1 seed');
  assertStatus(await call(t2(), 'PUT', 'Patient/same', { token: tokens.t2 }, { resourceType: 'Patient', id: 'same', name: [{ family: 'Two' }] }), 201, 't2 seed');
  assertStatus(await call(t1(), 'PUT', 'Patient/only-t1', { token: tokens.t1 }, { resourceType: 'Patient', id: 'only-t1' }), 201, 't1 only');
});
after(() => kiln?.close());

describe('tenants are separate', () => {
  test('the same id in two tenants holds two resources', async () => {
    assert.equal(assertStatus(await call(t1(), 'GET', 'Patient/same', { token: tokens.t1 }), 200, 't1').name[0].family, 'One');
    assert.equal(assertStatus(await call(t2(), 'GET', 'Patient/same', { token: tokens.t2 }), 200, 't2').name[0].family, 'Two');
    assertStatus(await call(t2(), 'GET', 'Patient/only-t1', { token: tokens.t2 }), 404, 'a t1 id in t2');
  });

  test("a token of one tenant cannot use another tenant's URLs (403), and one without a tenant none", async () => {
    assertStatus(await call(t2(), 'GET', 'Patient/same', { token: tokens.t1 }), 403, 't1 token on t2');
    assertStatus(await call(t2(), 'GET', 'Patient/no-such', { token: tokens.t1 }), 403, 'same answer whether or not the resource exists');
    assertStatus(await call(t2(), 'POST', '', { token: tokens.t1 }, { resourceType: 'Bundle', type: 'batch', entry: [] }), 403, 'bundle');
    assertStatus(await call(t1(), 'GET', 'Patient/same', { token: tokens.none }), 403, 'no tenant claim');
  });

  test('history never shows another tenant’s versions', async () => {
    const history = assertStatus(await call(t2(), 'GET', '_history', { token: tokens.t2 }), 200, 'system history');
    const ids = history.entry.map((e: { resource: { id: string } }) => e.resource.id);
    assert.deepEqual(ids, ['same']);
    assert.equal(history.entry[0].resource.name[0].family, 'Two');
    assert.ok(history.entry[0].fullUrl.startsWith(`${root}/tenant/t2/`), history.entry[0].fullUrl);
    assertStatus(await call(t2(), 'GET', 'Patient/only-t1/_history', { token: tokens.t2 }), 404, 'instance history');
  });

  test("Bundle entries stay in the Bundle's tenant, even with absolute URLs of another", async () => {
    const res = await call(t2(), 'POST', '', { token: tokens.t2 }, {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Patient/only-t1' } },
        { request: { method: 'GET', url: `${root}/tenant/t1/Patient/only-t1` } },
        { request: { method: 'GET', url: 'tenant/t1/Patient/only-t1' } },
        { request: { method: 'DELETE', url: 'Patient/only-t1' } },
        { request: { method: 'GET', url: `${root}/tenant/t2/Patient/same` } },
      ],
    });
    assert.deepEqual(assertStatus(res, 200, 'batch').entry.map(entryStatus), [404, 400, 404, 200, 200]);
    assertStatus(await call(t1(), 'GET', 'Patient/only-t1', { token: tokens.t1 }), 200, 'the t2 delete did not touch t1');
  });

  test('Location headers carry the tenant prefix', async () => {
    const res = await call(t1(), 'POST', 'Patient', { token: tokens.t1 }, { resourceType: 'Patient' });
    assertStatus(res, 201, 'create');
    assert.ok(res.headers.get('location')!.startsWith(`${root}/tenant/t1/Patient/`), res.headers.get('location')!);
  });
});

describe('tenant URLs', () => {
  test('URLs without a valid /tenant/{id}/ prefix are 404', async () => {
    assertStatus(await call(root, 'GET', 'Patient/same', { token: tokens.t1 }), 404, 'no prefix');
    assertStatus(await call(root, 'GET', 'tenant/bad!id/Patient/same', { token: tokens.t1 }), 404, 'bad id');
    assertStatus(await call(root, 'GET', `tenant/${'x'.repeat(65)}/Patient/same`, { token: tokens.t1 }), 404, 'too long');
  });

  test('metadata and smart-configuration are public per tenant; the CapabilityStatement names the tenant base', async () => {
    const metadata = assertStatus(await call(t1(), 'GET', 'metadata'), 200, 'metadata');
    assert.equal(metadata.implementation.url, t1());
    assertStatus(await call(t1(), 'GET', '.well-known/smart-configuration'), 404, 'dev mode has no OAuth endpoints');
  });

  test('auth mode none with tenancy: tenants still separate', async () => {
    const open = await startTestServer({ tenancy: { enabled: true } });
    try {
      await call(`${open.baseUrl}/tenant/a`, 'PUT', 'Patient/p', {}, { resourceType: 'Patient', id: 'p', active: true });
      assertStatus(await call(`${open.baseUrl}/tenant/a`, 'GET', 'Patient/p'), 200, 'a');
      assertStatus(await call(`${open.baseUrl}/tenant/b`, 'GET', 'Patient/p'), 404, 'b');
    } finally {
      await open.close();
    }
  });
});
