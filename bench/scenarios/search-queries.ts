/**
 * Latency of each query of the search issue's mix on its own: p50/p95/p99 over sequential
 * requests, so that a slow query shape is not hidden in the mix's average.
 */
import type { Bundle } from '../../src/fhir/types.js';
import { Random } from '../../src/generate/prng.js';
import { FAMILY } from '../../src/generate/vocabulary.js';
import { call, describeFailure } from '../lib/fhir.js';
import type { Target } from '../lib/fhir.js';

const LOINC_HEART_RATE = encodeURIComponent('http://loinc.org|8867-4');

export interface QueryContext {
  patientIds: string[];
  mrns: string[];
}

/** The mix: each entry names a query shape and draws a concrete URL from the seeded data. */
export const QUERY_MIX: Record<string, (rng: Random, data: QueryContext) => string> = {
  'patient by name': (rng) => `Patient?name=${encodeURIComponent(rng.pick(FAMILY))}`,
  'patient by birthdate range': (rng) => {
    const year = rng.int(1930, 2010);
    return `Patient?birthdate=ge${year}-01-01&birthdate=lt${year + 5}-01-01`;
  },
  'patient by identifier': (rng, data) => `Patient?identifier=${encodeURIComponent(rng.pick(data.mrns))}`,
  'observations by patient+code+date': (rng, data) => `Observation?subject=Patient/${rng.pick(data.patientIds)}&code=${LOINC_HEART_RATE}&date=ge2015-01-01`,
  'chained (subject:Patient.name)': (rng) => `Observation?code=${LOINC_HEART_RATE}&subject:Patient.name=${encodeURIComponent(rng.pick(FAMILY))}`,
  '_has (patients with a heart rate)': (rng) => `Patient?name=${encodeURIComponent(rng.pick(FAMILY))}&_has:Observation:subject:code=${LOINC_HEART_RATE}`,
  '_include (observations + patient)': (rng, data) => `Observation?subject=Patient/${rng.pick(data.patientIds)}&_include=Observation:subject`,
  '_sort (-date)': (rng, data) => `Observation?subject=Patient/${rng.pick(data.patientIds)}&_sort=-date&_count=20`,
  '_total=accurate': () => `Observation?code=${LOINC_HEART_RATE}&_total=accurate&_count=10`,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} / p95 ${percentile(sorted, 95).toFixed(1)} / p99 ${percentile(sorted, 99).toFixed(1)} ms`;
};

async function timed(target: Target, path: string): Promise<{ ms: number; bundle: Bundle }> {
  const start = performance.now();
  const answer = await call(target, 'GET', path);
  const ms = performance.now() - start;
  if (answer.status !== 200) throw new Error(`${path}: ${describeFailure(answer)}`);
  return { ms, bundle: JSON.parse(answer.text) as Bundle };
}

/**
 * Runs every query of the mix `requests` times, then pages `pages` deep through one large result
 * by its `next` links; returns a line per query shape.
 */
export async function measureQueries(target: Target, data: QueryContext, seed: number, requests: number, pages: number): Promise<Record<string, string>> {
  const results: Record<string, string> = {};
  for (const [name, query] of Object.entries(QUERY_MIX)) {
    const rng = new Random(seed);
    const samples: number[] = [];
    for (let i = 0; i < requests; i++) samples.push((await timed(target, query(rng, data))).ms);
    results[name] = summary(samples);
  }
  const pageTimes: number[] = [];
  let path: string | undefined = `Observation?code=${LOINC_HEART_RATE}&_count=20`;
  for (let page = 0; page < pages && path; page++) {
    const { ms, bundle } = await timed(target, path);
    pageTimes.push(ms);
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    path = next?.startsWith(`${target.baseUrl}/`) ? next.slice(target.baseUrl.length + 1) : undefined;
  }
  results[`deep paging (${pageTimes.length} pages of 20)`] = summary(pageTimes);
  return results;
}
