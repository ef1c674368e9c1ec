/**
 * search: a mix of common queries (by name, by demographics, a patient's observations by LOINC code,
 * conditions by SNOMED code, a patient's encounters by date). Reports 'not supported by target' when
 * the server answers 501 to GET /Patient?name=…, rather than any number.
 */
import type { Bundle } from '../../src/fhir/types.js';
import { Random } from '../../src/generate/prng.js';
import { patientBundle, patientRecord } from '../../src/generate/synthetic.js';
import { FAMILY, MRN } from '../../src/generate/vocabulary.js';
import { measureQueries } from './search-queries.js';
import { call, describeFailure, locationsOf } from '../lib/fhir.js';
import { getLoad, measureAgainstCeiling, type Scenario } from '../lib/scenario.js';

export const search: Scenario = {
  name: 'search',
  describe: 'a mix of five searches (name, gender+birthdate, Observation by patient+LOINC, Condition by SNOMED, Encounter by patient+date)',
  async run(ctx) {
    const probe = await call(ctx.target, 'GET', `Patient?name=${encodeURIComponent(FAMILY[0])}`);
    if (probe.status === 501) return { scenario: 'search', status: 'not-supported', note: `not supported by target (${describeFailure(probe)})` };
    if (probe.status !== 200) return { scenario: 'search', status: 'failed', note: describeFailure(probe) };

    // Full records (encounters, observations, conditions) so that every query has something to find.
    const patientIds: string[] = [];
    const records = Math.min(50, ctx.options.patients);
    const options = { patients: records, seed: ctx.options.seed + 2_000_003 };
    for (let i = 0; i < records; i++) {
      const answer = await call(ctx.target, 'POST', '', JSON.stringify(patientBundle(patientRecord(options, i))));
      if (answer.status >= 300) return { scenario: 'search', status: 'failed', note: `loading search data failed: ${describeFailure(answer)}` };
      patientIds.push(locationsOf(JSON.parse(answer.text) as Bundle).find((l) => l.type === 'Patient')!.id);
    }
    const queries: ((rng: Random) => string)[] = [
      (rng) => `Patient?name=${encodeURIComponent(rng.pick(FAMILY))}`,
      (rng) => `Patient?gender=female&birthdate=ge${rng.int(1930, 2015)}-01-01`,
      (rng) => `Observation?subject=Patient/${rng.pick(patientIds)}&code=${encodeURIComponent('http://loinc.org|8867-4')}`,
      () => `Condition?code=${encodeURIComponent('http://snomed.info/sct|38341003')}`,
      (rng) => `Encounter?subject=Patient/${rng.pick(patientIds)}&date=ge2020-01-01`,
    ];
    const mrns = patientIds.map((_, i) => `${MRN}|MRN-${options.seed}-${i}`);
    let next = 0;
    const result = await measureAgainstCeiling(ctx, 'search', 'searches/s', (baseUrl) => getLoad(ctx, baseUrl, (rng) => queries[next++ % queries.length](rng)));
    if (result.status !== 'ok') return result;
    // Each query shape of the search issue's mix on its own (fewer requests in a --quick run).
    const quick = ctx.options.duration <= 1;
    ctx.log('search: timing each query of the mix');
    const perQuery = await measureQueries(ctx.target, { patientIds, mrns }, ctx.options.seed, quick ? 3 : 50, quick ? 2 : 20);
    return { ...result, details: { ...result.details, ...perQuery } };
  },
};
