/** What every scenario gets and returns, and the target-then-ceiling measurement they share. */
import type { Ceiling } from './ceiling.js';
import type { SeededPatient, Target } from './fhir.js';
import { runLoad, type LoadSpec, type Measurement } from './load.js';
import { memoryOf, resetPeakMemory } from './processes.js';

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
  /** The server's peak RSS during the measured run (MB). */
  peakRssMB?: number;
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
 * Measures the target (after a warm-up), then the ceiling answering the target's own sample
 * response with the same load; the peak RSS mark is reset just before the measured run.
 */
export async function measureAgainstCeiling(ctx: BenchContext, scenario: string, unit: string, specFor: SpecFor, warm = true): Promise<ScenarioResult> {
  const { options, target, ceiling } = ctx;
  const run = async (baseUrl: string, server: 'target' | 'ceiling', pid?: number) => {
    if (warm && options.warmup > 0) await runLoad({ ...specFor(baseUrl, server), duration: options.warmup });
    const peakResettable = pid !== undefined && resetPeakMemory(pid);
    const measured = await runLoad(specFor(baseUrl, server));
    return { measured, peakRssMB: pid !== undefined ? memoryOf(pid)?.[peakResettable ? 'peakMB' : 'rssMB'] : undefined };
  };
  const { measured, peakRssMB } = await run(target.baseUrl, 'target', target.pid);
  const result: ScenarioResult = { scenario, status: 'ok', unit, target: strip(measured), peakRssMB: round(peakRssMB) };
  if (measured.ok === 0) return { ...result, status: 'failed', note: measured.firstFailure ?? 'no successful response' };
  if (measured.failed > 0) result.note = `${measured.failed} failed: ${measured.firstFailure}`;
  if (ceiling && measured.sample) {
    const { status, headers, body } = measured.sample;
    const method = specFor(target.baseUrl, 'target').requests[0].method ?? 'GET';
    await ceiling.answer({ [method]: { status, headers, body } });
    const { measured: bare } = await run(ceiling.baseUrl, 'ceiling');
    result.ceiling = strip(bare);
    result.fractionOfCeiling = measured.throughput / bare.throughput;
  }
  return result;
}

function strip({ sample: _sample, ...measurement }: Measurement): Omit<Measurement, 'sample'> {
  return measurement;
}

export function round(value: number | undefined, digits = 1): number | undefined {
  return value === undefined || Number.isNaN(value) ? undefined : Math.round(value * 10 ** digits) / 10 ** digits;
}
