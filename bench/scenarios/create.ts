/** create: POST [base]/Observation, bodies cycling over generated vital signs of the seeded patients. */
import type { Resource } from '../../src/fhir/types.js';
import { patientRecord } from '../../src/generate/synthetic.js';
import { measureAgainstCeiling, type Scenario } from '../lib/scenario.js';

const DISTINCT_BODIES = 50;

export const create: Scenario = {
  name: 'create',
  describe: 'POST /Observation (a vital sign of a seeded patient), concurrent',
  async run(ctx) {
    const patients = await ctx.patients();
    const bodies = patients.slice(0, DISTINCT_BODIES).map((patient, i) => {
      const observation = patientRecord({ patients: patients.length, seed: ctx.options.seed }, i).find((r) => r.resourceType === 'Observation')!;
      const { id: _id, encounter: _encounter, ...rest } = observation;
      return JSON.stringify({ ...rest, subject: { reference: `Patient/${patient.id}` } } satisfies Resource);
    });
    return measureAgainstCeiling(ctx, 'create', 'creates/s', (baseUrl) => ({
      baseUrl,
      headers: { ...ctx.target.headers, 'content-type': 'application/fhir+json' },
      connections: ctx.options.connections,
      duration: ctx.options.duration,
      requests: bodies.map((body) => ({ method: 'POST', path: 'Observation', body })),
    }));
  },
};
