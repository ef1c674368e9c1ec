// Start-up: anonymous access beyond loopback needs --allow-anonymous, and the log says which mode is active.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, spawnKiln, waitForHttp } from '../support/process.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-auth-cli-'));
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('auth mode none refuses to bind a non-loopback address without --allow-anonymous', async () => {
  const kiln = spawnKiln(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', tempDir()]);
  assert.equal(await kiln.exited, 1);
  assert.match(kiln.output(), /--allow-anonymous/);
  assert.doesNotMatch(kiln.output(), /\n\s+at /, 'no stack trace');
});

test('the start-up log names the authentication mode', async () => {
  for (const [args, expected] of [
    [[], /authentication: none \(anonymous, loopback only\)/],
    [['--auth-mode', 'dev', '--auth-strategy', 'smart'], /authentication: dev, authorization: smart/],
  ] as const) {
    const port = await freePort();
    const kiln = spawnKiln(['serve', '--port', String(port), '--data-dir', tempDir(), ...args]);
    await waitForHttp(`http://127.0.0.1:${port}/metadata`);
    kiln.child.kill('SIGTERM');
    assert.equal(await kiln.exited, 0);
    assert.match(kiln.output(), expected);
  }
});

test('--help lists the auth flags and kiln token', async () => {
  const kiln = spawnKiln(['--help']);
  assert.equal(await kiln.exited, 0);
  for (const text of ['--auth-mode', 'KILN_AUTH_MODE', '--allow-anonymous', '--oidc-issuer', '--oidc-audience', '--multi-tenancy', 'kiln token', '--sub']) {
    assert.ok(kiln.output().includes(text), `help mentions ${text}`);
  }
});
