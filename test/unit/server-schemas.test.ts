// The Fastify app carries no schema compilers: Kiln validates in its interactions, and loading
// ajv and fast-json-stringify for Fastify alone cost ~75 ms of every start-up.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { defaultConfig } from '../../src/config/load.js';
import type { InteractionContext } from '../../src/interactions/types.js';
import { buildApp } from '../../src/server/app.js';

const context = { config: defaultConfig() } as InteractionContext;

test('building the app loads neither of Fastify\'s schema compilers', async () => {
  const app = buildApp({ context, baseUrl: () => 'http://kiln.test', logger: false });
  await app.ready();
  const loaded = Object.keys(createRequire(import.meta.url).cache);
  assert.equal(loaded.filter((path) => /@fastify[\\/](ajv-compiler|fast-json-stringify-compiler)[\\/]/.test(path)).length, 0);
  await app.close();
});

test('a route that declares a Fastify schema is refused with a clear message', async () => {
  const app = buildApp({ context, baseUrl: () => 'http://kiln.test', logger: false });
  app.post('/checked', { schema: { body: { type: 'object' } } }, async () => ({}));
  await assert.rejects(async () => app.ready(), /no JSON-schema validator compiler of its own: give the route one, or call app.setValidatorCompiler\(\)/);
});

test('a route that declares a response schema is refused too', async () => {
  const app = buildApp({ context, baseUrl: () => 'http://kiln.test', logger: false });
  app.get('/rendered', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
  await assert.rejects(async () => app.ready(), /no response serializer compiler of its own: .*app.setSerializerCompiler\(\)/);
});

test('a compiler set on the app serves routes that declare schemas', async () => {
  const app = buildApp({ context, baseUrl: () => 'http://kiln.test', logger: false });
  app.setValidatorCompiler(() => (data) => (typeof data === 'object' && data !== null && 'name' in data ? true : { error: new Error('name is required') }));
  app.setSerializerCompiler(() => (data) => JSON.stringify({ echoed: data }));
  app.post('/checked', { schema: { body: { type: 'object' }, response: { 200: { type: 'object' } } } }, async (request) => request.body);
  await app.ready();
  const send = (body: unknown) => app.inject({ method: 'POST', url: '/checked', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  assert.equal((await send({ name: 'x' })).body, '{"echoed":{"name":"x"}}');
  assert.equal((await send({ other: 1 })).statusCode, 400);
  await app.close();
});
