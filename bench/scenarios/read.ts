/** read: GET [base]/Patient/{id} over random ids of the seeded patients. */
import { Random } from '../../src/generate/prng.js';
import { measureAgainstCeiling, type Scenario } from '../lib/scenario.js';

export const read: Scenario = {
  name: 'read',
  describe: 'GET /Patient/{id} over random ids of the seeded patients, concurrent',
  async run(ctx) {
    const ids = (await ctx.patients()).map((p) => p.id);
    return measureAgainstCeiling(ctx, 'read', 'reads/s', (baseUrl) => {
      const rng = new Random(ctx.options.seed);
      return {
        baseUrl,
        headers: ctx.target.headers,
        connections: ctx.options.connections,
        duration: ctx.options.duration,
        requests: [
          {
            method: 'GET',
            path: `Patient/${ids[0]}`,
            setupRequest(request) {
              request.path = `Patient/${ids[Math.floor(rng.next() * ids.length)]}`;
              return request;
            },
          },
        ],
      };
    });
  },
};
