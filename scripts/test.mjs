#!/usr/bin/env node
// `npm test`: every test file on the default (embedded SQLite) store, then the black-box HTTP
// suite and the SMART reach tests (test/auth/smart-*) again with KILN_TEST_BACKEND=postgres
// (PostgreSQL at KILN_TEST_POSTGRES_URL, else PGlite).
// Ends with node's summary lines, summed over both passes; exits non-zero if either pass fails.
// Arguments narrow both passes to files whose path contains one of them: `npm test -- history`.
// The CLI tests (test/cli) run bin/kiln.js on the build, so dist/ is rebuilt first when src/ is newer.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const testFiles = (dir) =>
  readdirSync(dir, { recursive: true })
    .map((file) => join(dir, String(file)).split('\\').join('/'))
    .filter((file) => file.endsWith('.test.ts') && (filters.length === 0 || filters.some((f) => file.includes(f))))
    .sort();

const passes = [
  { name: 'all tests, SQLite store', files: testFiles('test'), env: {} },
  {
    name: 'HTTP suite and SMART reach tests, PostgreSQL store',
    files: [...testFiles('test/http'), ...testFiles('test/auth').filter((file) => file.includes('/smart-'))],
    env: { KILN_TEST_BACKEND: 'postgres' },
  },
];

const summaryKeys = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const totals = Object.fromEntries(summaryKeys.map((key) => [key, 0]));
let failed = false;

/** Runs one pass with the TAP reporter, echoing its output, and adds up its summary lines. */
function run(pass) {
  return new Promise((resolve) => {
    process.stdout.write(`# ---- ${pass.name} (${pass.files.length} files) ----\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=2', ...pass.files], {
      env: { ...process.env, ...pass.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let pending = '';
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const summary = /^# (\w+) ([\d.]+)$/.exec(line);
        // The pass's own summary is held back: the combined one ends the output.
        if (summary && summary[1] in totals) totals[summary[1]] += Number(summary[2]);
        else process.stdout.write(`${line}\n`);
      }
    });
    child.on('close', (code) => {
      if (pending) process.stdout.write(pending);
      if (code !== 0) failed = true;
      process.stdout.write(`# ---- ${pass.name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} ----\n`);
      resolve();
    });
  });
}

/** Whether the last step of `npm run build` (the CLI bundle) is older than some source file. */
function buildIsStale() {
  const bundle = 'dist/bundle/main.js';
  if (!existsSync(bundle)) return true;
  const built = statSync(bundle).mtimeMs;
  return readdirSync('src', { recursive: true }).some((file) => statSync(join('src', String(file))).mtimeMs > built);
}

if (passes.some((pass) => pass.files.some((file) => file.startsWith('test/cli/'))) && buildIsStale()) {
  process.stdout.write('# dist/ is older than src/: npm run build\n');
  const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) {
    process.stdout.write('# npm run build failed\n');
    process.exit(1);
  }
}

for (const pass of passes) if (pass.files.length > 0) await run(pass);
totals.duration_ms = Math.round(totals.duration_ms * 1000) / 1000;
for (const key of summaryKeys) process.stdout.write(`# ${key} ${totals[key]}\n`);
process.exitCode = failed ? 1 : 0;
