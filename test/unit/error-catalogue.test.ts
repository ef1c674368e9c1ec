import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorStatus } from '../../src/fhir/errors.js';

test('docs/fhir-api.md lists every error category with its status', () => {
  const docs = readFileSync(new URL('../../docs/fhir-api.md', import.meta.url), 'utf8');
  for (const [category, status] of Object.entries(errorStatus)) {
    assert.match(docs, new RegExp(`\\| \`${category}\` \\| ${status} \\|`), `${category} (${status}) is missing from the error catalogue`);
  }
});
