// The bench harness end to end on tiny data (own Kiln from source, every scenario, ~1 s each), so it cannot rot.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BenchReport } from '../../bench/lib/report.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm run bench --quick runs every scenario and reports sane numbers', { timeout: 150_000 }, async () => {
  const out = join(dir, 'report.json');
  const run = await runBench(['--quick', '--kiln', 'source', '--duration', '0.3', '--warmup', '0', '--idle-ms', '100', '--out', out]);
  assert.equal(run.code, 0, `bench exited ${run.code}\n${run.stderr}\n${run.stdout}`);
  assert.match(run.stdout, /scenario\s+throughput\s+p50 ms\s+p95 ms\s+p99 ms.*CPU µs\/unit/);

  const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
  assert.ok(report.machine.cores >= 1 && report.machine.node.startsWith('v'));
  const byName = new Map(report.results.map((r) => [r.scenario, r]));
  assert.deepEqual([...byName.keys()], ['startup', 'ingest', 'create', 'read', 'update', 'search']);

  const startup = byName.get('startup')!;
  assert.equal(startup.status, 'ok', startup.note);
  assert.ok(Number(startup.details!.firstStartMs) > 0 && Number(startup.details!.idleRssMB) > 0);

  for (const name of ['ingest', 'create', 'read', 'update']) {
    const r = byName.get(name)!;
    assert.equal(r.status, 'ok', `${name}: ${r.note}`);
    const { target, ceiling } = r;
    assert.ok(target && target.throughput > 0 && target.ok > 0, `${name} throughput`);
    assert.equal(target.failed, 0, `${name}: ${r.note}`);
    const { p50, p95, p99, max } = target.latencyMs;
    assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= max, `${name} latency ${JSON.stringify(target.latencyMs)}`);
    assert.ok(ceiling && ceiling.throughput > 0, `${name} ceiling`);
    assert.ok(r.fractionOfCeiling! > 0);
    assert.ok(r.peakRssMB! > 10, `${name} peak RSS ${r.peakRssMB}`);
    assert.ok(r.peakAnonMB! > 10, `${name} peak anonymous memory ${r.peakAnonMB}`);
    assert.ok(r.cpuUsPerUnit! > 0, `${name} server CPU per unit ${r.cpuUsPerUnit}`);
  }
  assert.equal(byName.get('ingest')!.details!.resources, byName.get('ingest')!.target!.units);

  // Search is either measured or honestly reported as unsupported, never a made-up figure.
  const search = byName.get('search')!;
  assert.ok(search.status === 'ok' || search.status === 'not-supported', `search: ${search.status} ${search.note}`);
  if (search.status === 'not-supported') assert.equal(search.target, undefined);
});

test('bench rejects unknown scenarios and options with usage', async () => {
  const run = await runBench(['nosuch']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown scenario\(s\): nosuch/);
  assert.match(run.stderr, /Usage: npm run bench/);
});
