/** read: GET [base]/Patient/{id} over random ids of the seeded patients. */
import { getLoad, measureAgainstCeiling, type Scenario } from '../lib/scenario.js';

export const read: Scenario = {
  name: 'read',
  describe: 'GET /Patient/{id} over random ids of the seeded patients, concurrent',
  async run(ctx) {
    const ids = (await ctx.patients()).map((p) => p.id);
    return measureAgainstCeiling(ctx, 'read', 'reads/s', (baseUrl) =>
      getLoad(ctx, baseUrl, (rng) => `Patient/${ids[Math.floor(rng.next() * ids.length)]}`),
    );
  },
};
