// `kiln serve` as users run it (bin/kiln.js and the bundle of `npm run build`): flags, environment,
// help, start-up errors and clean shutdown.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, spawnBuiltKiln, waitForHttp } from '../support/process.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('--help documents every option with its environment variable', async () => {
  const kiln = spawnBuiltKiln(['--help']);
  assert.equal(await kiln.exited, 0);
  for (const text of ['--port', 'PORT', '--host', 'KILN_HOST', '--data-dir', 'KILN_DATA_DIR', '--base-url', 'KILN_BASE_URL', '--fhir-version', '--config', '--database', 'KILN_DATABASE_URL']) {
    assert.ok(kiln.output().includes(text), `help mentions ${text}`);
  }
});

test('--port and --data-dir are honoured, and SIGTERM finishes in-flight work and exits 0', async () => {
  const port = await freePort();
  const dataDir = tempDir();
  const kiln = spawnBuiltKiln(['serve', '--port', String(port), '--data-dir', dataDir]);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/metadata`);
  assert.ok(existsSync(join(dataDir, 'kiln.sqlite')), 'database file created in the data dir');
  const created = await fetch(`${base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', active: true }) });
  assert.equal(created.status, 201);
  assert.match(created.headers.get('location')!, new RegExp(`^${base}/Patient/`));
  // A request whose body is still arriving when the signal comes.
  const body = JSON.stringify({ resourceType: 'Patient', active: false });
  const inFlight = new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.write(body.slice(0, 10));
    setTimeout(() => {
      kiln.child.kill('SIGTERM');
      setTimeout(() => req.end(body.slice(10)), 300);
    }, 300);
  });
  assert.equal(await inFlight, 201, 'the request in flight completes');
  assert.equal(await kiln.exited, 0);
  assert.match(kiln.output(), /SIGTERM/);
  assert.match(kiln.output(), /"status":201/, 'one structured log line per request');
});

test('PORT and KILN_DATA_DIR environment variables are honoured; data survives a restart', async () => {
  const port = await freePort();
  const dataDir = tempDir();
  const first = spawnBuiltKiln(['serve'], { PORT: String(port), KILN_DATA_DIR: dataDir });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/metadata`);
  const put = await fetch(`${base}/Patient/kept`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: 'kept' }) });
  assert.equal(put.status, 201);
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0);

  const second = spawnBuiltKiln(['serve', '--port', String(port), '--data-dir', dataDir]);
  await waitForHttp(`${base}/metadata`);
  const read = await fetch(`${base}/Patient/kept`);
  assert.equal(read.status, 200);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('a bad flag value stops start-up with a one-line message and a non-zero exit', async () => {
  const kiln = spawnBuiltKiln(['serve', '--port', 'eighty']);
  assert.equal(await kiln.exited, 2);
  assert.match(kiln.output(), /kiln: port must be a whole number/);
  assert.doesNotMatch(kiln.output(), /\n\s+at /, 'no stack trace');
});

test('a port already in use is a clear start-up error', async () => {
  const port = await freePort();
  const dataDir = tempDir();
  const first = spawnBuiltKiln(['serve', '--port', String(port), '--data-dir', dataDir]);
  await waitForHttp(`http://127.0.0.1:${port}/metadata`);
  const second = spawnBuiltKiln(['serve', '--port', String(port), '--data-dir', tempDir()]);
  assert.equal(await second.exited, 1);
  assert.match(second.output(), /cannot listen/);
  first.child.kill('SIGTERM');
  await first.exited;
});
