import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';

test('defaults when nothing is given', () => {
  const config = loadConfig({}, {});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.dataDir, './data');
  assert.equal(config.fhirVersion, '4.0.1');
  assert.equal(config.limits.maxBatchEntries, 1000);
  assert.equal(config.limits.maxTransactionEntries, 1000);
  assert.equal(config.limits.maxBodyBytes, 16 * 1024 * 1024);
});

test('defaults < config file < environment < flags', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-config-')), 'kiln.json');
  writeFileSync(file, JSON.stringify({ port: 1111, host: '0.0.0.0', dataDir: '/file', limits: { maxBatchEntries: 5 } }));
  const config = loadConfig({ config: file, port: '3333' }, { PORT: '2222', KILN_DATA_DIR: '/env' });
  assert.equal(config.port, 3333);
  assert.equal(config.dataDir, '/env');
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.limits.maxBatchEntries, 5);
  assert.equal(config.limits.maxTransactionEntries, 1000, 'nested defaults survive a partial file');
});

test('every flag has its environment twin', () => {
  const config = loadConfig({}, { KILN_HOST: '::1', KILN_BASE_URL: 'https://fhir.example.org/r4/', KILN_FHIR_VERSION: '3.0.2', KILN_MAX_TRANSACTION_ENTRIES: '7', KILN_LOG_LEVEL: 'warn' });
  assert.equal(config.host, '::1');
  assert.equal(config.baseUrl, 'https://fhir.example.org/r4', 'trailing slash removed');
  assert.equal(config.fhirVersion, '3.0.2');
  assert.equal(config.limits.maxTransactionEntries, 7);
  assert.equal(config.logging.level, 'warn');
});

test('bad values are clear errors', () => {
  assert.throws(() => loadConfig({ port: 'eighty' }, {}), ConfigError);
  assert.throws(() => loadConfig({ 'fhir-version': '5.0.0' }, {}), /fhirVersion must be 4.0.1 or 3.0.2/);
  assert.throws(() => loadConfig({ 'max-batch-entries': '0' }, {}), /maxBatchEntries/);
  assert.throws(() => loadConfig({ config: '/nonexistent/kiln.json' }, {}), /Cannot read config file/);
});
