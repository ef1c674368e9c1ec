// Response headers of a stored version, and how a request path is split into its parts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FhirError } from '../../src/fhir/errors.js';
import { versionHeaders } from '../../src/interactions/respond.js';
import { parseRoute } from '../../src/interactions/route.js';
import type { StoredVersion } from '../../src/store/types.js';

const version = (lastUpdated: string): StoredVersion => ({ resourceType: 'Patient', id: 'p', versionId: '3', lastUpdated, deleted: false, method: 'PUT' });

test('Last-Modified is the HTTP date of the version, whatever the versions before it', () => {
  const instants = ['2026-11-28T02:06:10.424Z', '2026-11-28T02:06:10.999Z', '2026-11-28T02:06:11.000Z', '2026-11-28T02:06:10.001Z', '1999-12-31T23:59:59.999Z'];
  for (const instant of instants) {
    assert.equal(versionHeaders(version(instant))['last-modified'], new Date(instant).toUTCString(), instant);
  }
  // Instants not written by Kiln itself (other lengths, offsets) are converted as they are.
  for (const instant of ['2026-11-28T02:06:10Z', '2026-11-28T03:06:10.424+01:00', '+012026-11-28T02:06:10.424Z']) {
    assert.equal(versionHeaders(version(instant))['last-modified'], new Date(instant).toUTCString(), instant);
  }
  assert.equal(versionHeaders(version('2026-11-28T02:06:10.424Z')).etag, 'W/"3"');
});

test('path segments are percent-decoded when they hold an escape, and a bad escape is a 400', () => {
  assert.deepEqual(parseRoute('/Patient/a%2Eb', new Set(['Patient'])), parseRoute('/Patient/a.b', new Set(['Patient'])));
  assert.throws(
    () => parseRoute('/Patient/%E0%A4%A', new Set(['Patient'])),
    (error: unknown) => error instanceof FhirError && /Invalid URL segment/.test(error.message),
  );
});
