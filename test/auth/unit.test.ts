// Authentication and authorization building blocks, called directly (no server).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashApiKey, matchApiKey } from '../../src/auth/api-keys.js';
import { claimAt, principalFromClaims } from '../../src/auth/claims.js';
import { checkAnonymousBinding, isLoopback } from '../../src/auth/index.js';
import { createRbacAuthorizer } from '../../src/auth/rbac/index.js';
import { withinReach } from '../../src/auth/reach.js';
import { createSmartAuthorizer } from '../../src/auth/smart/index.js';
import { parseScope } from '../../src/auth/smart/scopes.js';
import type { AccessTarget, Principal } from '../../src/auth/types.js';
import { ConfigError, defaultConfig, loadConfig, mergeConfig } from '../../src/config/load.js';
import type { FhirRequest } from '../../src/interactions/types.js';

const request = { method: 'GET', path: '', query: [], headers: {}, tenant: '', baseUrl: 'http://kiln.test' } as FhirRequest;
const BASE = 'http://kiln.test';

function principal(extra: Partial<Principal>): Principal {
  return { subject: 's', groups: [], scopes: [], claims: {}, source: 'jwt', ...extra };
}

test('SMART scopes: v1 and v2 forms, search restrictions, and what is not a clinical scope', () => {
  assert.deepEqual([...parseScope('patient/Observation.read')!.permissions], ['r', 's']);
  assert.deepEqual([...parseScope('user/*.write')!.permissions], ['c', 'u', 'd']);
  assert.deepEqual([...parseScope('system/*.*')!.permissions], ['c', 'r', 'u', 'd', 's']);
  assert.deepEqual([...parseScope('patient/Observation.rs')!.permissions], ['r', 's']);
  assert.deepEqual(parseScope('patient/Observation.rs?category=laboratory')!.query, [['category', 'laboratory']]);
  for (const bad of ['patient/Observation.sr', 'patient/Observation.rr', 'patient/Observation.x', 'patient/observation.r', 'openid', 'launch/patient', 'fhirUser', 'patient/Observation.read?category=x', 'admin/Patient.r']) {
    assert.equal(parseScope(bad), undefined, bad);
  }
});

test('SMART decisions: permission letters per interaction, contexts and reach', () => {
  const smart = createSmartAuthorizer({ adminTypes: ['Practitioner'] });
  const target = (interaction: AccessTarget['interaction'], resourceType = 'Observation'): AccessTarget => ({ interaction, resourceType });
  const patient = principal({ scopes: ['patient/Observation.rs'], patient: 'p1' });
  assert.deepEqual(smart.authorize(patient, request, target('read')), { allowed: true, reach: [[{ kind: 'compartment', compartment: 'Patient', id: 'p1' }]] });
  assert.equal(smart.authorize(patient, request, target('create')).allowed, false);
  assert.equal(smart.authorize(patient, request, target('read', 'Patient')).allowed, false);
  assert.equal(smart.authorize(principal({ scopes: ['patient/Observation.rs'] }), request, target('read')).allowed, false, 'patient scope without launch patient');
  const system = principal({ scopes: ['system/Observation.cruds'] });
  assert.deepEqual(smart.authorize(system, request, target('delete')), { allowed: true });
  assert.equal(smart.authorize(system, request, { interaction: 'history-system' }).allowed, false, 'system level needs a * scope');
  const admin = principal({ scopes: ['user/*.rs'], fhirUser: 'Practitioner/9' });
  assert.deepEqual(smart.authorize(admin, request, target('read')), { allowed: true });
  const relative = principal({ scopes: ['user/*.rs'], fhirUser: 'RelatedPerson/7' });
  assert.deepEqual(smart.authorize(relative, request, target('read')).reach, [[{ kind: 'references', reference: 'RelatedPerson/7' }]]);
  const restricted = principal({ scopes: ['patient/Observation.rs?category=laboratory'], patient: 'p1' });
  assert.equal(smart.authorize(restricted, request, target('read')).reach![0].length, 2);
  assert.equal(smart.authorize(principal({ scopes: ['openid'] }), request, { interaction: 'batch' }).allowed, false);
  assert.equal(smart.authorize(patient, request, { interaction: 'transaction' }).allowed, true, 'entries are checked one by one');
});

test('reach: Patient compartment from the CompartmentDefinition, user references, v2 search restrictions', () => {
  const lab = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }] };
  const compartment = [[{ kind: 'compartment' as const, compartment: 'Patient' as const, id: 'p1' }]];
  assert.equal(withinReach(compartment, lab, BASE), true);
  assert.equal(withinReach(compartment, { ...lab, subject: { reference: `${BASE}/Patient/p1` } }, BASE), true, 'absolute reference to this server');
  assert.equal(withinReach(compartment, { ...lab, subject: { reference: 'http://elsewhere/Patient/p1' } }, BASE), false, "another server's Patient/p1");
  assert.equal(withinReach(compartment, { ...lab, subject: { reference: 'Patient/p2' } }, BASE), false);
  assert.equal(withinReach(compartment, { ...lab, subject: { reference: 'Group/p1' } }, BASE), false);
  assert.equal(withinReach(compartment, { ...lab, subject: undefined, performer: [{ reference: 'Patient/p1' }] }, BASE), true, 'performer is a compartment param of Observation');
  assert.equal(withinReach(compartment, { ...lab, subject: undefined, focus: [{ reference: 'Patient/p1' }] }, BASE), false, 'focus is not');
  assert.equal(withinReach(compartment, { resourceType: 'Patient', id: 'p1' }, BASE), true);
  assert.equal(withinReach(compartment, { resourceType: 'Practitioner', id: 'p1' }, BASE), false, 'not a compartment type');
  const laboratory = [[...compartment[0], { kind: 'matches' as const, query: [['category', 'laboratory']] as [string, string][] }]];
  assert.equal(withinReach(laboratory, lab, BASE), true);
  assert.equal(withinReach(laboratory, { ...lab, category: [{ coding: [{ code: 'vital-signs' }] }] }, BASE), false);
  const unsupported = [[{ kind: 'matches' as const, query: [['date', 'ge2020']] as [string, string][] }]];
  assert.equal(withinReach(unsupported, lab, BASE), false, 'restrictions Kiln cannot evaluate deny');
  const references = [[{ kind: 'references' as const, reference: 'RelatedPerson/7' }]];
  assert.equal(withinReach(references, { ...lab, performer: [{ reference: 'RelatedPerson/7' }] }, BASE), true, 'a reference search parameter (performer)');
  assert.equal(withinReach(references, { ...lab, performer: [{ reference: `${BASE}/RelatedPerson/7` }] }, BASE), true, 'absolute reference to this server');
  assert.equal(withinReach(references, { ...lab, extension: [{ url: 'x', valueReference: { reference: 'RelatedPerson/7' } }] }, BASE), false, 'no search parameter covers an extension');
  assert.equal(withinReach(references, lab, BASE), false);
  assert.equal(withinReach(references, { resourceType: 'RelatedPerson', id: '7' }, BASE), true);
});

test('RBAC: the seed default groups', () => {
  const rbac = createRbacAuthorizer();
  const as = (group: string) => principal({ groups: [group] });
  assert.equal(rbac.authorize(as('practitioner'), request, { interaction: 'delete', resourceType: 'Patient' }).allowed, true);
  assert.equal(rbac.authorize(as('practitioner'), request, { interaction: 'history-system' }).allowed, true);
  assert.equal(rbac.authorize(as('non-practitioner'), request, { interaction: 'read', resourceType: 'Claim' }).allowed, true);
  assert.equal(rbac.authorize(as('non-practitioner'), request, { interaction: 'create', resourceType: 'Claim' }).allowed, false);
  assert.equal(rbac.authorize(as('non-practitioner'), request, { interaction: 'read', resourceType: 'Patient' }).allowed, false);
  assert.equal(rbac.authorize(as('auditor'), request, { interaction: 'search-type', resourceType: 'Patient' }).allowed, true);
  assert.equal(rbac.authorize(as('auditor'), request, { interaction: 'history-instance', resourceType: 'Patient' }).allowed, false);
  assert.equal(rbac.authorize(as('toString'), request, { interaction: 'read', resourceType: 'Patient' }).allowed, false, 'no prototype groups');
  const custom = createRbacAuthorizer({ nurse: [{ interactions: ['read', 'search'], resourceTypes: ['Observation'] }] });
  assert.equal(custom.authorize(as('nurse'), request, { interaction: 'read', resourceType: 'Observation' }).allowed, true);
  assert.equal(custom.authorize(as('practitioner'), request, { interaction: 'read', resourceType: 'Observation' }).allowed, false, 'configured groups replace the defaults');
});

test('claims: Cognito paths by default, dotted paths, scope and scp', () => {
  const config = defaultConfig();
  const p = principalFromClaims({ sub: 'u1', 'cognito:groups': ['practitioner'], 'custom:tenantId': 't9', scope: 'a b', fhirUser: 'https://x/fhir/Practitioner/3', patient: 'p1' }, config, 'jwt');
  assert.deepEqual([p.subject, p.groups, p.tenant, p.scopes, p.fhirUser, p.patient], ['u1', ['practitioner'], 't9', ['a', 'b'], 'Practitioner/3', 'p1']);
  assert.deepEqual(principalFromClaims({ client_id: 'svc', scp: ['x'] }, config, 'jwt').scopes, ['x']);
  assert.deepEqual(claimAt({ realm_access: { roles: ['r'] } }, 'realm_access.roles'), ['r']);
});

test('API keys: stored as SHA-256, matched in constant time', () => {
  const keys = [{ id: 'one', sha256: hashApiKey('secret-one') }, { id: 'two', sha256: hashApiKey('secret-two') }];
  assert.equal(matchApiKey(keys, 'secret-two')?.id, 'two');
  assert.equal(matchApiKey(keys, 'secret-three'), undefined);
  assert.equal(matchApiKey(keys, undefined), undefined);
  assert.equal(matchApiKey(keys, keys[0].sha256), undefined, 'the hash itself is not the key');
});

test('anonymous access only on loopback unless allowed explicitly', () => {
  for (const host of ['127.0.0.1', '127.8.0.1', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org']) assert.equal(isLoopback(host), false, host);
  assert.throws(() => checkAnonymousBinding(mergeConfig(defaultConfig(), { host: '0.0.0.0' })), /--allow-anonymous/);
  checkAnonymousBinding(mergeConfig(defaultConfig(), { host: '0.0.0.0', allowAnonymous: true }));
  checkAnonymousBinding(mergeConfig(defaultConfig(), { host: '0.0.0.0', auth: { mode: 'dev' } }));
});

test('auth configuration: flags and environment, and refusals', () => {
  const config = loadConfig({ 'auth-mode': 'jwt', 'oidc-issuer': 'https://idp.example', 'allow-anonymous': 'true' }, { KILN_OIDC_AUDIENCE: 'a, b', KILN_AUTH_STRATEGY: 'smart', KILN_MULTI_TENANCY: 'yes' });
  assert.deepEqual([config.auth.mode, config.auth.issuer, config.auth.audience, config.auth.strategy, config.allowAnonymous, config.tenancy.enabled], ['jwt', 'https://idp.example', ['a', 'b'], 'smart', true, true]);
  assert.equal(mergeConfig(defaultConfig(), { auth: { mode: 'jwt', issuer: 'https://i', audience: 'single' as never } }).auth.audience[0], 'single');
  assert.throws(() => loadConfig({ 'auth-mode': 'jwt' }, {}), /auth.issuer/);
  assert.throws(() => loadConfig({ 'auth-mode': 'jwt', 'oidc-issuer': 'https://i' }, {}), /auth.audience/);
  assert.throws(() => loadConfig({ 'auth-mode': 'magic' }, {}), ConfigError);
  assert.throws(() => mergeConfig(defaultConfig(), { auth: { algorithms: ['RS256', 'HS256'] } }), /HS256/);
  assert.throws(() => mergeConfig(defaultConfig(), { auth: { algorithms: ['none'] } }), /none/);
  assert.throws(() => mergeConfig(defaultConfig(), { auth: { apiKeys: [{ id: 'k', sha256: 'plain-text-key' }] } }), /64 hex/);
  assert.throws(() => mergeConfig(defaultConfig(), { auth: { rbac: { groups: { g: [{ interactions: ['fly'], resourceTypes: ['*'] }] } } } }), /unknown interaction 'fly'/);
  assert.throws(() => loadConfig({ 'multi-tenancy': 'perhaps' }, {}), /true or false/);
});
