/**
 * update: PUT [base]/Patient/{id} with If-Match. Each connection leases a patient, so no two
 * updates of one resource race; the ETag of each answer is the precondition of the next update.
 */
import { Random } from '../../src/generate/prng.js';
import type { SeededPatient } from '../lib/fhir.js';
import { measureAgainstCeiling, type Scenario } from '../lib/scenario.js';

export const update: Scenario = {
  name: 'update',
  describe: 'PUT /Patient/{id} with If-Match (a changed phone number), concurrent, one lease per resource',
  async run(ctx) {
    const patients = await ctx.patients();
    if (patients.length < 2 * ctx.options.connections) throw new Error(`update needs at least ${2 * ctx.options.connections} seeded patients (--seed-patients)`);
    // The body is a template with the changing part cut out, so building a request is a concatenation.
    const templates = patients.map((p) => JSON.stringify({ ...p.resource, telecom: [{ system: 'phone', value: '555-0-@@', use: 'home' }] }).split('@@'));
    const etags = new Map(patients.map((p) => [p.id, p.etag]));
    // Updates still in flight when a run stops may have happened: their ETags are unknown, so later runs skip them.
    const inFlight = { target: new Set<number>(), ceiling: new Set<number>() };
    const unknownEtag = new Set<number>();

    return measureAgainstCeiling(ctx, 'update', 'updates/s', (baseUrl, server) => {
      const rng = new Random(ctx.options.seed);
      if (server === 'target') inFlight.target.forEach((i) => unknownEtag.add(i));
      inFlight[server].clear();
      const free: number[] = patients.map((_, i) => i).filter((i) => server === 'ceiling' || !unknownEtag.has(i));
      let counter = 0;
      const etagOf = (i: number) => (server === 'target' ? etags.get(patients[i].id)! : 'W/"1"');
      return {
        baseUrl,
        headers: { ...ctx.target.headers, 'content-type': 'application/fhir+json' },
        connections: ctx.options.connections,
        duration: ctx.options.duration,
        requests: [
          {
            method: 'PUT',
            path: `Patient/${patients[0].id}`,
            setupRequest(request, context) {
              // An empty pool only happens when leases were dropped after 412s; then reuse one (it may fail).
              const index = free.length > 0 ? free.splice(Math.floor(rng.next() * free.length), 1)[0] : Math.floor(rng.next() * patients.length);
              context.lease = index;
              inFlight[server].add(index);
              const [head, tail] = templates[index];
              request.path = `Patient/${patients[index].id}`;
              request.body = `${head}${++counter}${tail}`;
              request.headers = { ...request.headers, 'if-match': etagOf(index) };
              return request;
            },
            onResponse(status, body, context, headers) {
              const index = context.lease as number;
              inFlight[server].delete(index);
              if (status >= 200 && status < 300 && server === 'target') {
                const etag = headerValue(headers, 'etag') ?? versionEtag(body);
                if (etag) etags.set(patients[index].id, etag);
              }
              if (status !== 412) free.push(index);
            },
          },
        ],
      };
    });
  },
};

function headerValue(headers: Record<string, string | string[]>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  return undefined;
}

function versionEtag(body: string): string | undefined {
  try {
    const versionId = (JSON.parse(body) as SeededPatient['resource']).meta?.versionId;
    return versionId ? `W/"${versionId}"` : undefined;
  } catch {
    return undefined;
  }
}
