// `kiln migrate` on the embedded SQLite store (the PostgreSQL case is in test/postgres/server.test.ts).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrateCommand } from '../../src/cli/migrate.js';
import { defaultConfig, mergeConfig } from '../../src/config/load.js';
import { migrations } from '../../src/store/sql/schema.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

async function captureStdout(work: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await work(), out };
  } finally {
    process.stdout.write = write;
  }
}

test('kiln migrate creates and migrates the SQLite file, then finds nothing to do; the store opens on it', async () => {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'kiln-migrate-')), 'nested');
  try {
    const config = mergeConfig(defaultConfig(), { dataDir });
    const latest = migrations[migrations.length - 1].version;
    const first = await captureStdout(() => migrateCommand(config));
    assert.equal(first.code, 0);
    assert.match(first.out, new RegExp(`^kiln migrate: SQLite .*kiln\\.sqlite: applied ${migrations.length} migrations?, schema version is now ${latest}\\n$`));
    assert.ok(existsSync(join(dataDir, 'kiln.sqlite')));
    const second = await captureStdout(() => migrateCommand(config));
    assert.equal(second.code, 0);
    assert.match(second.out, new RegExp(`schema version ${latest} is up to date, nothing to do\\n$`));
    const store = await openSqliteStore(dataDir);
    assert.equal(await store.readCurrent('', 'Patient', 'x'), undefined);
    await store.close();
  } finally {
    await rm(join(dataDir, '..'), { recursive: true, force: true });
  }
});
