/**
 * Dev mode (a signing key in the data directory, tokens from `kiln token`) with the RBAC strategy
 * and the seed's default groups: practitioner, non-practitioner, auditor.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { loadDevKey, mintDevToken } from '../../src/auth/dev-key.js';
import { entryStatus } from '../http/helpers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { assertInvalidToken, assertStatus, call } from './support/client.js';

let kiln: TestServer;
let base: string;
const token = async (groups: string[], extra: Record<string, unknown> = {}) =>
  mintDevToken(await loadDevKey(kiln.dataDir), { sub: 'someone', 'cognito:groups': groups, ...extra }, 300);

before(async () => {
  kiln = await startTestServer({ auth: { mode: 'dev' } });
  base = kiln.baseUrl;
});
after(() => kiln?.close());

describe('RBAC default groups (as in the seed)', () => {
  test('practitioner: create, read, update, delete, history, transaction on every type', async () => {
    const t = await token(['practitioner']);
    const patient = assertStatus(await call(base, 'POST', 'Patient', { token: t }, { resourceType: 'Patient' }), 201, 'create');
    assertStatus(await call(base, 'PUT', `Patient/${patient.id}`, { token: t }, { ...patient, active: true }), 200, 'update');
    assertStatus(await call(base, 'GET', `Patient/${patient.id}/_history`, { token: t }), 200, 'history');
    assertStatus(await call(base, 'GET', '_history', { token: t }), 200, 'system history');
    const bundle = assertStatus(await call(base, 'POST', '', { token: t }, { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Claim' }, resource: { resourceType: 'Claim', status: 'active', use: 'claim', type: { text: 't' }, patient: { reference: `Patient/${patient.id}` }, created: '2024-01-01', provider: { display: 'p' }, priority: { text: 'normal' }, insurance: [{ sequence: 1, focal: true, coverage: { display: 'c' } }] } }] }), 200, 'transaction');
    assertStatus(await call(base, 'PUT', 'Claim/claim-1', { token: t }, { ...bundle.entry[0].resource, id: 'claim-1' }), 201, 'update-create');
    assertStatus(await call(base, 'DELETE', `Patient/${patient.id}`, { token: t }), 200, 'delete');
  });

  test('auditor: read, vread and search Patient only', async () => {
    const practitioner = await token(['practitioner']);
    await call(base, 'PUT', 'Patient/audited', { token: practitioner }, { resourceType: 'Patient', id: 'audited' });
    const t = await token(['auditor']);
    assertStatus(await call(base, 'GET', 'Patient/audited', { token: t }), 200, 'read');
    assertStatus(await call(base, 'GET', 'Patient/audited/_history/1', { token: t }), 200, 'vread');
    assertStatus(await call(base, 'POST', 'Patient', { token: t }, { resourceType: 'Patient' }), 403, 'create');
    assertStatus(await call(base, 'GET', 'Patient/audited/_history', { token: t }), 403, 'history');
    assertStatus(await call(base, 'GET', 'Claim/claim-1', { token: t }), 403, 'other type');
  });

  test('non-practitioner: read the financial types only', async () => {
    const t = await token(['non-practitioner']);
    assertStatus(await call(base, 'GET', 'Claim/claim-1', { token: t }), 200, 'Claim');
    assertStatus(await call(base, 'GET', 'Patient/audited', { token: t }), 403, 'Patient');
    assertStatus(await call(base, 'PUT', 'Claim/claim-1', { token: t }, { resourceType: 'Claim', id: 'claim-1' }), 403, 'update');
  });

  test('no group, or an unknown one: authenticated but not allowed (403)', async () => {
    assertStatus(await call(base, 'GET', 'Patient/audited', { token: await token([]) }), 403, 'no groups');
    assertStatus(await call(base, 'GET', 'Patient/audited', { token: await token(['admin']) }), 403, 'unknown group');
  });

  test('Bundles: the envelope needs transaction/batch, and each entry its own permission', async () => {
    const t = await token(['auditor']);
    assertStatus(await call(base, 'POST', '', { token: t }, { resourceType: 'Bundle', type: 'transaction', entry: [] }), 403, 'transaction envelope');
    const custom = await startTestServer({ auth: { mode: 'dev', rbac: { groups: { batcher: [{ interactions: ['batch'], resourceTypes: ['*'] }], auditor: [{ interactions: ['read'], resourceTypes: ['Patient'] }] } } } });
    try {
      const devToken = await mintDevToken(await loadDevKey(custom.dataDir), { sub: 'x', 'cognito:groups': ['auditor', 'batcher'] }, 300);
      const res = await call(custom.baseUrl, 'POST', '', { token: devToken }, {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } }, { request: { method: 'GET', url: 'Patient/nope' } }],
      });
      assert.deepEqual(assertStatus(res, 200, 'batch').entry.map(entryStatus), [403, 404]);
    } finally {
      await custom.close();
    }
  });
});

describe('dev mode tokens', () => {
  test('missing, foreign or expired dev tokens are 401', async () => {
    assertInvalidToken(await call(base, 'GET', 'Patient/audited'), 'none');
    const other = await startTestServer({ auth: { mode: 'dev' } });
    try {
      const foreign = await mintDevToken(await loadDevKey(other.dataDir), { sub: 'x', 'cognito:groups': ['practitioner'] }, 300);
      assertInvalidToken(await call(base, 'GET', 'Patient/audited', { token: foreign }), 'another data directory’s key');
    } finally {
      await other.close();
    }
    const expired = await mintDevToken(await loadDevKey(kiln.dataDir), { sub: 'x', 'cognito:groups': ['practitioner'] }, -600);
    assert.ok(decodeJwt(expired).exp! < Date.now() / 1000);
    assertInvalidToken(await call(base, 'GET', 'Patient/audited', { token: expired }), 'expired');
  });

  test('`kiln token --sub alice --groups practitioner --tenant t1` mints a token this server accepts', () => {
    const cli = fileURLToPath(new URL('../support/kiln-cli.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'token', '--data-dir', kiln.dataDir, '--auth-mode', 'dev', '--sub', 'alice', '--groups', 'practitioner', '--scope', 'user/*.cruds', '--tenant', 't1', '--fhir-user', 'Practitioner/alice'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const minted = run.stdout.trim();
    assert.equal(decodeProtectedHeader(minted).typ, 'kiln-dev+jwt');
    const claims = decodeJwt(minted);
    assert.deepEqual([claims.sub, claims['cognito:groups'], claims.scope, claims['custom:tenantId'], claims.fhirUser], ['alice', ['practitioner'], 'user/*.cruds', 't1', 'Practitioner/alice']);
    return call(base, 'GET', 'Patient/audited', { token: minted }).then((res) => assertStatus(res, 200, 'accepted'));
  });

  test('`kiln token` without --sub is a usage error', () => {
    const cli = fileURLToPath(new URL('../support/kiln-cli.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'token', '--data-dir', kiln.dataDir], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--sub is required/);
  });

  test('metadata names no OAuth endpoints in dev mode; smart-configuration is 404', async () => {
    const metadata = assertStatus(await call(base, 'GET', 'metadata'), 200, 'metadata');
    assert.match(metadata.rest[0].security.description, /kiln token/);
    assertStatus(await call(base, 'GET', '.well-known/smart-configuration'), 404, 'smart-configuration');
  });
});
