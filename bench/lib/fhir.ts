/** Plain FHIR REST calls the bench makes outside measurement: probing and loading data. */
import type { Bundle, Resource } from '../../src/fhir/types.js';
import { directoryBundles, patientRecord } from '../../src/generate/synthetic.js';

export interface Target {
  /** FHIR base URL without a trailing slash. */
  baseUrl: string;
  /** Sent with every request (Accept, and Authorization with --token). */
  headers: Record<string, string>;
  /** The server's process id when known (own Kiln, or --target-pid), for its memory. */
  pid?: number;
}

export interface FhirAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export async function call(target: Target, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<FhirAnswer> {
  const response = await fetch(`${target.baseUrl}/${path}`, {
    method,
    headers: { ...target.headers, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }), ...headers },
    body,
    signal: AbortSignal.timeout(300_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The OperationOutcome's diagnostics (or the start of the body) for error messages. */
export function describeFailure(answer: Pick<FhirAnswer, 'status' | 'text'>): string {
  try {
    const outcome = JSON.parse(answer.text) as { issue?: { diagnostics?: string; code?: string }[] };
    const issue = outcome.issue?.[0];
    if (issue) return `HTTP ${answer.status} ${issue.code ?? ''}: ${issue.diagnostics ?? ''}`.trim();
  } catch {
    // not JSON
  }
  return `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
}

export interface SeededPatient {
  id: string;
  etag: string;
  resource: Resource;
}

/** Where a transaction-response entry says the resource went: `Type/id` and its ETag. */
export function locationsOf(response: Bundle): { type: string; id: string; etag?: string }[] {
  return (response.entry ?? []).map((entry) => {
    const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([^/]+)\/_history\/[^/]+$/.exec(entry.response?.location ?? '') ?? /(?:^|\/)([A-Z][A-Za-z]+)\/([^/?]+)$/.exec(entry.response?.location ?? '');
    return { type: match?.[1] ?? '', id: match?.[2] ?? '', etag: entry.response?.etag };
  });
}

/**
 * Loads `count` patients (Patient resources only, plus the practitioners and organizations they
 * point at) in transaction bundles of 100, for the read, update and create scenarios.
 */
export async function seedPatients(target: Target, count: number, seed: number): Promise<SeededPatient[]> {
  const options = { patients: count, seed: seed + 1_000_003 };
  for (const bundle of directoryBundles(options)) {
    const directory = await call(target, 'POST', '', JSON.stringify(bundle));
    if (directory.status >= 300) throw new Error(`loading practitioners and organizations failed: ${describeFailure(directory)}`);
  }
  const seeded: SeededPatient[] = [];
  for (let start = 0; start < count; start += 100) {
    const patients = Array.from({ length: Math.min(100, count - start) }, (_, i) => {
      const { id: _id, ...patient } = patientRecord(options, start + i)[0];
      return patient as Resource;
    });
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: patients.map((resource) => ({ resource, request: { method: 'POST', url: 'Patient' } })) };
    const answer = await call(target, 'POST', '', JSON.stringify(bundle));
    if (answer.status >= 300) throw new Error(`loading patients failed: ${describeFailure(answer)}`);
    const locations = locationsOf(JSON.parse(answer.text) as Bundle);
    for (const [i, { id, etag }] of locations.entries()) {
      if (!id) throw new Error('the transaction response has an entry without a location');
      seeded.push({ id, etag: etag ?? (await currentEtag(target, `Patient/${id}`)), resource: { ...patients[i], id } });
    }
  }
  return seeded;
}

async function currentEtag(target: Target, path: string): Promise<string> {
  const answer = await call(target, 'GET', path);
  const etag = answer.headers.get('etag');
  if (answer.status !== 200 || !etag) throw new Error(`GET ${path} gave no ETag (${describeFailure(answer)})`);
  return etag;
}
