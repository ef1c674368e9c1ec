/** What every scenario gets and returns, and the target-then-ceiling measurement they share. */
import { Random } from '../../src/generate/prng.js';
import type { Ceiling } from './ceiling.js';
import type { SeededPatient, Target } from './fhir.js';
import { runLoad, type LoadSpec, type Measurement } from './load.js';
import { measuringServer, type ServerCost } from './processes.js';

export interface BenchOptions {
  scenarios: string[];
  target?: string;
  token?: string;
  targetPid?: number;
  backend: 'sqlite' | 'postgres';
  pgUrl: string;
  kiln: 'dist' | 'source';
  patients: number;
  seed: number;
  synthea?: string;
  syntheaRewriteConditionals: boolean;
  duration: number;
  /** Alternating target/ceiling measurements per HTTP scenario. */
  rounds: number;
  warmup: number;
  connections: number;
  ingestConnections: number;
  seedPatients: number;
  startupRuns: number;
  /** How long the server idles after start-up before its RSS is read. */
  idleMs: number;
  ceiling: boolean;
  serverNodeArgs: string[];
  /** Extra `kiln serve` flags for the own Kiln. */
  serverArgs: string[];
  out?: string;
}

export interface BenchContext {
  options: BenchOptions;
  target: Target;
  ceiling?: Ceiling;
  log(line: string): void;
  /** Patients loaded once on the target for the read, update and create scenarios. */
  patients(): Promise<SeededPatient[]>;
}

export type Status = 'ok' | 'not-supported' | 'failed' | 'not-applicable';

export interface ScenarioResult {
  scenario: string;
  status: Status;
  note?: string;
  /** What the throughput counts, e.g. 'reads/s'. */
  unit?: string;
  target?: Omit<Measurement, 'sample'>;
  ceiling?: Omit<Measurement, 'sample'>;
  /** target throughput / ceiling throughput. */
  fractionOfCeiling?: number;
  /** The server's peak RSS during the measured run (MB), mapped database pages included. */
  peakRssMB?: number;
  /** The server's peak anonymous memory (RssAnon: heaps, stacks, malloc) during the run, sampled every 100 ms (MB). */
  peakAnonMB?: number;
  /** The server's CPU time (all threads) per unit of the throughput (µs): per resource, request, …; of the median round. */
  cpuUsPerUnit?: number;
  /** Throughput of each round (target, ceiling) when there were several. */
  rounds?: { target: number; ceiling?: number }[];
  /** Scenario-specific figures (start-up times, resources loaded, …). */
  details?: Record<string, number | string>;
}

export interface Scenario {
  name: string;
  describe: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

/** Load spec for one base URL; built afresh per run since request state (e.g. ETags) belongs to one server. */
export type SpecFor = (baseUrl: string, server: 'target' | 'ceiling') => LoadSpec;

/**
 * Measures the target, then the ceiling answering the target's own sample response under the same
 * load, `rounds` times in alternation (so both see the same moments of a noisy machine); reports
 * the median round of each and the median of the per-round fractions. Each server is warmed up
 * once; the peak-RSS mark is reset before every measured run of the target.
 */
export async function measureAgainstCeiling(ctx: BenchContext, scenario: string, unit: string, specFor: SpecFor): Promise<ScenarioResult> {
  const { options, target, ceiling } = ctx;
  const method = specFor(target.baseUrl, 'target').requests[0].method ?? 'GET';
  const rounds: ({ target: Measurement; ceiling?: Measurement } & ServerCost)[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (round === 0 && options.warmup > 0) await runLoad({ ...specFor(target.baseUrl, 'target'), duration: options.warmup });
    const { value: measured, peakRssMB, peakAnonMB, cpuS } = await measuringServer(target.pid, () => runLoad(specFor(target.baseUrl, 'target')));
    if (measured.ok === 0) {
      const why = measured.firstFailure ?? (measured.responses === 0 ? `no answer within the ${options.duration} s run` : 'no successful response');
      return { scenario, status: 'failed', unit, target: strip(measured), peakRssMB: roundTo(peakRssMB), peakAnonMB: roundTo(peakAnonMB), note: why };
    }
    let bare: Measurement | undefined;
    if (ceiling && measured.sample) {
      await ceiling.answer({ [method]: measured.sample });
      if (round === 0 && options.warmup > 0) await runLoad({ ...specFor(ceiling.baseUrl, 'ceiling'), duration: options.warmup });
      bare = await runLoad(specFor(ceiling.baseUrl, 'ceiling'));
    }
    rounds.push({ target: measured, ceiling: bare, peakRssMB, peakAnonMB, cpuS });
  }
  const middle = median(rounds, (r) => r.target.throughput);
  const result: ScenarioResult = {
    scenario,
    status: 'ok',
    unit,
    target: strip(middle.target),
    peakRssMB: roundTo(Math.max(...rounds.map((r) => r.peakRssMB ?? NaN))),
    peakAnonMB: roundTo(Math.max(...rounds.map((r) => r.peakAnonMB ?? NaN))),
    cpuUsPerUnit: cpuPerUnit(middle.cpuS, middle.target.units),
  };
  const failed = rounds.reduce((sum, r) => sum + r.target.failed, 0);
  if (failed > 0) result.note = `${failed} failed: ${rounds.find((r) => r.target.firstFailure)?.target.firstFailure}`;
  const paired = rounds.filter((r) => r.ceiling);
  if (paired.length > 0) {
    result.ceiling = strip(median(paired, (r) => r.ceiling!.throughput).ceiling!);
    result.fractionOfCeiling = median(paired.map((r) => r.target.throughput / r.ceiling!.throughput), (f) => f);
  }
  if (rounds.length > 1) result.rounds = rounds.map((r) => ({ target: roundTo(r.target.throughput, 0)!, ceiling: roundTo(r.ceiling?.throughput, 0) }));
  return result;
}

function median<T>(items: T[], by: (item: T) => number): T {
  return [...items].sort((a, b) => by(a) - by(b))[Math.floor((items.length - 1) / 2)];
}

function strip({ sample: _sample, ...measurement }: Measurement): Omit<Measurement, 'sample'> {
  return measurement;
}

/** Server CPU µs per unit of work, from CPU seconds over `units` done. */
export function cpuPerUnit(cpuS: number | undefined, units: number): number | undefined {
  return cpuS === undefined || units <= 0 ? undefined : roundTo((cpuS * 1e6) / units, 0);
}

export function roundTo(value: number | undefined, digits = 1): number | undefined {
  return value === undefined || Number.isNaN(value) ? undefined : Math.round(value * 10 ** digits) / 10 ** digits;
}

/** A load of GET requests, each to the path `nextPath` draws (its own seeded generator per run). */
export function getLoad(ctx: BenchContext, baseUrl: string, nextPath: (rng: Random) => string): LoadSpec {
  const rng = new Random(ctx.options.seed);
  return {
    baseUrl,
    headers: ctx.target.headers,
    connections: ctx.options.connections,
    duration: ctx.options.duration,
    requests: [
      {
        method: 'GET',
        setupRequest(request) {
          request.path = nextPath(rng);
          return request;
        },
      },
    ],
  };
}
