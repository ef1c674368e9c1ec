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
  await assert.rejects(async () => app.ready(), /no JSON-schema validator compiler: validate in the interaction/);
});

test('a route that declares a response schema is refused too', async () => {
  const app = buildApp({ context, baseUrl: () => 'http://kiln.test', logger: false });
  app.get('/rendered', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
  await assert.rejects(async () => app.ready(), /no response serializer compiler/);
});
