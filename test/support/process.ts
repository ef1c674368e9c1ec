import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliEntry = fileURLToPath(new URL('./kiln-cli.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/kiln.js');
const bundle = join(root, 'dist/bundle/main.js');

export interface KilnProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns `kiln …` (from source) as its own process. */
export function spawnKiln(args: string[], env: NodeJS.ProcessEnv = {}): KilnProcess {
  return spawnNode(['--import', 'tsx', cliEntry, ...args], env);
}

/**
 * Spawns `kiln …` as users run it: bin/kiln.js, which loads the bundle of `npm run build`
 * (scripts/build-bundle.mjs). `npm test` rebuilds dist/ first when src/ is newer.
 */
export function spawnBuiltKiln(args: string[], env: NodeJS.ProcessEnv = {}): KilnProcess {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build (npm test does it)`);
  const stale = newerThan(join(root, 'src'), statSync(bundle).mtimeMs);
  if (stale) throw new Error(`${stale} is newer than the bundle: run npm run build (npm test does it)`);
  return spawnNode([bin, ...args], { KILN_UNBUNDLED: '', ...env });
}

/** A file under `dir` modified after `mtimeMs`, if any. */
function newerThan(dir: string, mtimeMs: number): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && statSync(path).mtimeMs > mtimeMs) return path;
  }
  return undefined;
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): KilnProcess {
  const child = spawn(process.execPath, args, { env: { ...process.env, KILN_LOG_LEVEL: 'info', ...env } });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `url` until it answers, or fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
