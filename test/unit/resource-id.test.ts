// Ids of new resources (src/interactions/resource-id.ts): UUIDv7, in creation order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeOrderedUuid } from '../../src/interactions/resource-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

test('version 7 UUIDs, valid FHIR ids, carrying their millisecond', () => {
  const at = Date.UTC(2026, 10, 27, 12, 0, 0);
  const id = timeOrderedUuid(at);
  assert.match(id, UUID_V7);
  assert.match(id, FHIR_ID);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
});

test('each id sorts after the one before, within a millisecond and past 4,096 of them', () => {
  const at = Date.UTC(2027, 0, 1);
  const ids = Array.from({ length: 10_000 }, () => timeOrderedUuid(at));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${ids[i]} after ${ids[i - 1]}`);
  assert.equal(new Set(ids).size, ids.length);
  const later = timeOrderedUuid(at + 1);
  assert.ok(later > ids[ids.length - 1], 'a clock that lags behind borrowed milliseconds does not go back');
});

test('the random part differs from id to id, past the random bytes drawn ahead at once', () => {
  const randomParts = Array.from({ length: 3_000 }, () => timeOrderedUuid().replace(/-/g, '').slice(16));
  assert.equal(new Set(randomParts).size, randomParts.length);
});
