// cloneJson (src/fhir/clone.ts): deep copies of parsed JSON, as Bundle transactions make of entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneJson } from '../../src/fhir/clone.js';

test('a deep copy: equal, sharing no object or array with the original', () => {
  const original = JSON.parse('{"resourceType":"Patient","name":[{"given":["Ada","B"],"family":"L"}],"active":true,"multipleBirthInteger":2,"deceasedBoolean":null}');
  const copy = cloneJson(original);
  assert.deepEqual(copy, original);
  copy.name[0].given.push('C');
  copy.name[0].family = 'M';
  assert.deepEqual(original.name, [{ given: ['Ada', 'B'], family: 'L' }]);
  assert.equal(cloneJson('text'), 'text');
  assert.equal(cloneJson(null), null);
});

test('a "__proto__" key stays a plain own property of the copy, as JSON.parse made it', () => {
  const original = JSON.parse('{"a":{"__proto__":{"polluted":true},"b":1}}');
  const copy = cloneJson(original);
  assert.equal(Object.getPrototypeOf(copy.a), Object.prototype);
  assert.equal(copy.a.polluted, undefined);
  assert.deepEqual(Object.keys(copy.a), ['__proto__', 'b']);
  assert.deepEqual(JSON.stringify(copy), JSON.stringify(original));
});
