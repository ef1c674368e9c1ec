/**
 * `npm run bench -- [scenario…] [options]`: starts its own Kiln (or uses --target), loads data,
 * runs the scenarios with autocannon against the server and against a bare-Fastify ceiling, prints
 * a table and writes JSON to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startCeiling, type Ceiling } from './lib/ceiling.js';
import { seedPatients, type SeededPatient, type Target } from './lib/fhir.js';
import { ensureBuilt, freshStorage, ROOT, startKiln, type KilnServer, type KilnStorage } from './lib/kiln.js';
import { waitForOk } from './lib/processes.js';
import { loadAverage, machine, revision, table, type BenchReport } from './lib/report.js';
import type { BenchContext, BenchOptions, Scenario, ScenarioResult } from './lib/scenario.js';
import { create } from './scenarios/create.js';
import { ingest } from './scenarios/ingest.js';
import { read } from './scenarios/read.js';
import { search } from './scenarios/search.js';
import { startup } from './scenarios/startup.js';
import { update } from './scenarios/update.js';

/** In the order they run: start-up first, while nothing else loads the machine. */
export const SCENARIOS: Scenario[] = [startup, ingest, create, read, update, search];

const usage = `Usage: npm run bench -- [scenario…] [options]

Scenarios (default: all, in this order):
${SCENARIOS.map((s) => `  ${s.name.padEnd(9)} ${s.describe}`).join('\n')}

Options:
  --target URL            benchmark a running FHIR R4 server at URL instead of starting Kiln
  --token T               send Authorization: Bearer T to the target
  --target-pid PID        read the target's memory from /proc/PID (with --target)
  --backend B             sqlite (default) or postgres, for the bench's own Kiln
  --pg-url URL            PostgreSQL server for --backend postgres; a fresh database is created
                          and dropped per run (default postgres://postgres@127.0.0.1:5432)
  --kiln K                dist (default; built when older than src/) or source (tsx)
  --patients N            patients ingested (default 200)
  --seed S                generator seed (default 1)
  --synthea DIR           ingest the Synthea bundles in DIR instead of synthetic data
  --synthea-rewrite-conditionals
                          WORKAROUND for servers without conditional create/references: rewrite
                          them into PUTs with derived ids (changes the workload; labelled)
  --duration S            seconds per measured HTTP run (default 10)
  --rounds N              measure target and ceiling N times in alternation and report the
                          medians (default 1; more gives steadier figures on a noisy machine)
  --warmup S              seconds of warm-up before the first measured run (default 2)
  --connections N         concurrent connections for create/read/update/search (default 10)
  --ingest-connections N  concurrent clients for ingest (default 4)
  --seed-patients N       patients loaded for create/read/update (default 1000)
  --startup-runs N        starts measured, the first on empty storage (default 3, at least 2)
  --idle-ms MS            idle time after start-up before the RSS is read (default 2000)
  --no-ceiling            skip the bare-Fastify ceiling runs
  --server-node-args=A    extra node flags for the own Kiln, e.g. --server-node-args="--cpu-prof"
  --server-args=A         extra \`kiln serve\` flags for the own Kiln (with --synthea,
                          --max-transaction-entries 10000 is added: its bundles exceed the default)
  --quick                 a smoke run: 5 patients, 1 s per scenario, small everything
  --out FILE              write the JSON report to FILE (default bench/results/<date>-<server>.json)
  -h, --help              this help
`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      token: { type: 'string' },
      'target-pid': { type: 'string' },
      backend: { type: 'string' },
      'pg-url': { type: 'string' },
      kiln: { type: 'string' },
      patients: { type: 'string' },
      seed: { type: 'string' },
      synthea: { type: 'string' },
      'synthea-rewrite-conditionals': { type: 'boolean' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'ingest-connections': { type: 'string' },
      'seed-patients': { type: 'string' },
      'startup-runs': { type: 'string' },
      'idle-ms': { type: 'string' },
      'no-ceiling': { type: 'boolean' },
      'server-node-args': { type: 'string' },
      'server-args': { type: 'string' },
      quick: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new UsageRequest();
  const quick = values.quick ?? false;
  const num = (name: string, raw: string | undefined, fallback: number, min = 0) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}, got '${raw}'`);
    return value;
  };
  const unknown = positionals.filter((p) => !SCENARIOS.some((s) => s.name === p));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const backend = values.backend ?? 'sqlite';
  if (backend !== 'sqlite' && backend !== 'postgres') throw new Error(`--backend must be sqlite or postgres, got '${backend}'`);
  const kiln = values.kiln ?? 'dist';
  if (kiln !== 'dist' && kiln !== 'source') throw new Error(`--kiln must be dist or source, got '${kiln}'`);
  if (values.target && !/^https?:\/\//.test(values.target)) throw new Error(`--target must be an http(s) URL, got '${values.target}'`);
  return {
    scenarios: positionals.length ? positionals : SCENARIOS.map((s) => s.name),
    target: values.target?.replace(/\/+$/, ''),
    token: values.token,
    targetPid: values['target-pid'] === undefined ? undefined : num('target-pid', values['target-pid'], 0, 1),
    backend,
    pgUrl: values['pg-url'] ?? 'postgres://postgres@127.0.0.1:5432',
    kiln,
    patients: num('patients', values.patients, quick ? 5 : 200, 1),
    seed: num('seed', values.seed, 1),
    synthea: values.synthea,
    syntheaRewriteConditionals: values['synthea-rewrite-conditionals'] ?? false,
    duration: num('duration', values.duration, quick ? 1 : 10, 0.1),
    rounds: Math.round(num('rounds', values.rounds, 1, 1)),
    warmup: num('warmup', values.warmup, quick ? 0.3 : 2),
    connections: num('connections', values.connections, quick ? 4 : 10, 1),
    ingestConnections: num('ingest-connections', values['ingest-connections'], quick ? 2 : 4, 1),
    seedPatients: num('seed-patients', values['seed-patients'], quick ? 20 : 1000, 1),
    startupRuns: num('startup-runs', values['startup-runs'], quick ? 2 : 3, 2),
    idleMs: num('idle-ms', values['idle-ms'], quick ? 300 : 2000),
    ceiling: !values['no-ceiling'],
    serverNodeArgs: values['server-node-args']?.split(/\s+/).filter(Boolean) ?? [],
    // Synthea patient bundles hold up to ~3,400 entries, over Kiln's default transaction limit.
    serverArgs: [...(values.synthea ? ['--max-transaction-entries', '10000'] : []), ...(values['server-args']?.split(/\s+/).filter(Boolean) ?? [])],
    out: values.out,
  };
}

class UsageRequest extends Error {}

export async function runBench(options: BenchOptions, log: (line: string) => void): Promise<BenchReport> {
  const selected = SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const loadAtStart = loadAverage();
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const results: ScenarioResult[] = [];
  const attempt = async (scenario: Scenario, ctx: BenchContext) => {
    const started = Date.now();
    log(`${scenario.name}: running`);
    try {
      results.push(await scenario.run(ctx));
    } catch (error) {
      results.push({ scenario: scenario.name, status: 'failed', note: (error as Error).message });
    }
    log(`${scenario.name}: ${results.at(-1)!.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };

  if (!options.target && options.kiln === 'dist') ensureBuilt(log);
  const baseContext = { options, log, target: { baseUrl: options.target ?? '', headers }, patients: async () => [] as SeededPatient[] };
  if (selected.includes(startup)) await attempt(startup, baseContext);
  const rest = selected.filter((s) => s !== startup);

  let storage: KilnStorage | undefined;
  let kiln: KilnServer | undefined;
  let ceiling: Ceiling | undefined;
  try {
    let target: Target;
    if (options.target) {
      await waitForOk(`${options.target}/metadata`, performance.now(), { timeoutMs: 10_000, headers });
      target = { baseUrl: options.target, headers, pid: options.targetPid };
    } else if (rest.length) {
      storage = await freshStorage(options.backend, options.pgUrl);
      kiln = await startKiln(options.kiln, storage, options.serverNodeArgs, options.serverArgs);
      log(`Kiln (${options.kiln}, ${storage.describe}) listening on ${kiln.baseUrl}, pid ${kiln.process.pid}`);
      target = { baseUrl: kiln.baseUrl, headers, pid: kiln.process.pid };
    } else {
      target = baseContext.target;
    }
    if (options.ceiling && rest.length) ceiling = await startCeiling();
    let seeded: Promise<SeededPatient[]> | undefined;
    const ctx: BenchContext = {
      options,
      target,
      ceiling,
      log,
      patients: () =>
        (seeded ??= (async () => {
          const started = Date.now();
          const patients = await seedPatients(target, options.seedPatients, options.seed);
          log(`loaded ${patients.length} patients in ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return patients;
        })()),
    };
    for (const scenario of rest) await attempt(scenario, ctx);
  } finally {
    await ceiling?.process.stop();
    await kiln?.process.stop();
    await storage?.dispose();
  }
  const { token: _token, ...shown } = options;
  return {
    date: new Date().toISOString(),
    machine: machine(),
    revision: revision(ROOT),
    loadAverage: { start: loadAtStart, end: loadAverage() },
    server: options.target ?? `kiln (${options.kiln}, ${options.backend}${options.serverArgs.length ? `, ${options.serverArgs.join(' ')}` : ''})`,
    options: shown,
    results,
  };
}

export async function cli(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof UsageRequest) {
      process.stdout.write(usage);
      return 0;
    }
    process.stderr.write(`bench: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const report = await runBench(options, (line) => process.stderr.write(`[bench] ${line}\n`));
  process.stdout.write(`${table(report)}\n`);
  const label = options.target ? new URL(options.target).host.replace(/[^A-Za-z0-9.-]/g, '_') : options.backend;
  const out = options.out ?? join(ROOT, 'bench/results', `${report.date.replace(/[:.]/g, '-')}-${label}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`[bench] results written to ${out}\n`);
  return report.results.some((r) => r.status === 'failed') ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await cli(process.argv.slice(2));
