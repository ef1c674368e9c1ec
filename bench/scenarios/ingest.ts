/**
 * ingest: transaction bundles, one patient's record each, posted by N concurrent clients; the
 * bundles they depend on (practitioners and organizations) go first, one at a time, inside the
 * timed span. Throughput counts the resources of committed bundles.
 */
import { basename } from 'node:path';
import type { Bundle } from '../../src/fhir/types.js';
import { syntheaFiles, readSyntheaBundle } from '../../src/generate/synthea.js';
import { directoryBundles, patientBundle, patientRecord } from '../../src/generate/synthetic.js';
import { call, describeFailure, type Target } from '../lib/fhir.js';
import { runLoad, type Measurement } from '../lib/load.js';
import { measuringServer } from '../lib/processes.js';
import { cpuPerUnit, roundTo, type BenchContext, type BenchOptions, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { rewriteConditionals } from '../lib/synthea-rewrite.js';

interface Payload {
  body: string;
  resources: number;
}

interface Workload {
  source: string;
  /** Sent one by one, first (the directory the patient bundles point at). */
  prelude: Payload[];
  bundles: Payload[];
}

export const ingest: Scenario = {
  name: 'ingest',
  describe: 'transaction bundles (one patient record each), concurrent clients → resources/s',
  async run(ctx) {
    const work = workload(ctx.options);
    const total = [...work.prelude, ...work.bundles].reduce((sum, p) => sum + p.resources, 0);
    ctx.log(`ingest: ${work.source}: ${work.prelude.length + work.bundles.length} bundles, ${total} resources`);
    const details = { source: work.source, bundles: work.prelude.length + work.bundles.length, resources: total };

    const cost = await measuringServer(ctx.target.pid, () => ingestInto(ctx, ctx.target, work));
    const measured = cost.value;
    const peakRssMB = roundTo(cost.peakRssMB);
    const peakAnonMB = roundTo(cost.peakAnonMB);
    if ('failure' in measured) {
      const status = measured.unsupported ? 'not-supported' : 'failed';
      return { scenario: 'ingest', status, note: `${measured.unsupported ? 'not supported by target: ' : ''}${measured.failure}`, details, peakRssMB, peakAnonMB };
    }
    const { sample, ...target } = measured;
    const result: ScenarioResult = { scenario: 'ingest', status: 'ok', unit: 'resources/s', target, peakRssMB, peakAnonMB, cpuUsPerUnit: cpuPerUnit(cost.cpuS, target.units), details: { ...details, seconds: roundTo(measured.elapsedS, 2)! } };
    if (measured.failed > 0) result.note = `${measured.failed} of ${work.bundles.length} bundles failed: ${measured.firstFailure}`;
    if (ctx.ceiling && sample) {
      await ctx.ceiling.answer({ POST: sample });
      const bare = await ingestInto(ctx, { ...ctx.target, baseUrl: ctx.ceiling.baseUrl, pid: undefined }, work);
      if (!('failure' in bare)) {
        const { sample: _sample, ...ceiling } = bare;
        result.ceiling = ceiling;
        result.fractionOfCeiling = measured.throughput / bare.throughput;
      }
    }
    return result;
  },
};

type Failure = { failure: string; unsupported: boolean };

async function ingestInto(ctx: BenchContext, target: Target, work: Workload): Promise<Measurement | Failure> {
  const started = performance.now();
  let preludeResources = 0;
  for (const payload of work.prelude) {
    const answer = await call(target, 'POST', '', payload.body);
    if (answer.status >= 300) return { failure: describeFailure(answer), unsupported: answer.status === 501 };
    preludeResources += payload.resources;
  }
  const preludeS = (performance.now() - started) / 1000;
  const bundles = work.bundles;
  let next = 0;
  const measured = await runLoad({
    baseUrl: target.baseUrl,
    headers: { ...target.headers, 'content-type': 'application/fhir+json' },
    connections: ctx.options.ingestConnections,
    amount: bundles.length,
    maxSeconds: 1800,
    timeout: 300,
    unitsOf: (context) => context.resources as number,
    requests: [
      {
        method: 'POST',
        path: '',
        setupRequest(request, context) {
          const payload = bundles[next++ % bundles.length];
          context.resources = payload.resources;
          request.body = payload.body;
          return request;
        },
      },
    ],
  });
  // No bundle committed: the server cannot take this workload at all; say why.
  if (measured.ok === 0) {
    const statuses = Object.entries(measured.statuses).map(([status, n]) => `${status} ×${n}`).join(', ');
    return { failure: `no bundle committed (HTTP ${statuses || 'no answers'}); first failure: ${measured.firstFailure}`, unsupported: Boolean(measured.statuses['501']) };
  }
  const units = measured.units + preludeResources;
  const elapsedS = measured.elapsedS + preludeS;
  return { ...measured, units, elapsedS, throughput: units / elapsedS };
}

function workload(options: BenchOptions): Workload {
  const payload = (bundle: Bundle): Payload => ({ body: JSON.stringify(bundle), resources: bundle.entry?.length ?? 0 });
  if (options.synthea) {
    const files = syntheaFiles(options.synthea);
    if (files.length === 0) throw new Error(`no *.json or *.json.gz bundles in ${options.synthea}`);
    const load = (path: string) => payload(options.syntheaRewriteConditionals ? rewriteConditionals(readSyntheaBundle(path)) : readSyntheaBundle(path));
    const isPrelude = (path: string) => /(hospital|practitioner)Information/.test(basename(path));
    return {
      source: `Synthea bundles in ${options.synthea}${options.syntheaRewriteConditionals ? ' (conditionals rewritten: workaround)' : ''}`,
      prelude: files.filter(isPrelude).map(load),
      bundles: files.filter((path) => !isPrelude(path)).map(load),
    };
  }
  const generation = { patients: options.patients, seed: options.seed };
  return {
    source: `synthetic, ${options.patients} patients, seed ${options.seed}`,
    prelude: directoryBundles(generation).map(payload),
    bundles: Array.from({ length: options.patients }, (_, i) => payload(patientBundle(patientRecord(generation, i)))),
  };
}
