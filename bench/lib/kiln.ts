/** Starting the bench's own Kiln: a fresh data directory or PostgreSQL database per run, its own process. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, spawnProcess, waitForOk, type Spawned } from './processes.js';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export type Backend = 'sqlite' | 'postgres';
export type KilnBuild = 'dist' | 'source';

export interface KilnStorage {
  /** Server flags selecting the storage (`--data-dir …` or `--database …`). */
  flags: string[];
  describe: string;
  dispose(): Promise<void>;
}

/** A fresh, empty place for Kiln's data. */
export async function freshStorage(backend: Backend, pgUrl: string): Promise<KilnStorage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  if (backend === 'sqlite') {
    return { flags: ['--data-dir', dataDir], describe: `sqlite (${dataDir})`, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `kiln_bench_${process.pid}_${Date.now()}`;
  await adminQuery(pgUrl, `CREATE DATABASE ${name}`);
  return {
    flags: ['--data-dir', dataDir, '--database', `${pgUrl.replace(/\/+$/, '')}/${name}`],
    describe: `postgres (${name})`,
    async dispose() {
      rmSync(dataDir, { recursive: true, force: true });
      await adminQuery(pgUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(pgUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${pgUrl.replace(/\/+$/, '')}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface KilnServer {
  baseUrl: string;
  process: Spawned;
  /** Milliseconds from spawn to the first 2xx answer of GET /metadata. */
  startupMs: number;
}

export async function startKiln(build: KilnBuild, storage: KilnStorage, nodeArgs: string[] = [], serverArgs: string[] = []): Promise<KilnServer> {
  const port = await freePort();
  const entry = build === 'dist' ? ['bin/kiln.js'] : ['--import', 'tsx', 'bench/kiln-source.ts'];
  const args = [...nodeArgs, ...entry, 'serve', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', ...storage.flags, ...serverArgs];
  const since = performance.now();
  const child = spawnProcess(args, { cwd: ROOT, env: { KILN_CONFIG: '' } });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    const startupMs = await waitForOk(`${baseUrl}/metadata`, since, { alive: () => child.child.exitCode === null });
    return { baseUrl, process: child, startupMs };
  } catch (error) {
    await child.stop();
    throw new Error(`Kiln did not start: ${(error as Error).message}\n${child.output().trim()}`);
  }
}

/** Builds dist/ (and the CLI bundle that bin/kiln.js runs) when it is missing or older than any file in src/, so `--kiln dist` measures the current code. */
export function ensureBuilt(log: (line: string) => void): void {
  const dist = join(ROOT, 'dist');
  if (existsSync(join(dist, 'bundle/main.js')) && newestMtime(dist) >= newestMtime(join(ROOT, 'src'))) return;
  log('dist/ is missing or older than src/: running npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error('npm run build failed; fix the build or run the bench with --kiln source');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
