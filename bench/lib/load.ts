/** One bounded load run with autocannon, measured per response (latency, status, units of work). */
import autocannon, { type Request } from 'autocannon';
import { describeFailure } from './fhir.js';

export interface LoadSpec {
  /** FHIR base URL; request paths are relative to it (`Patient/1`). */
  baseUrl: string;
  headers: Record<string, string>;
  requests: Request[];
  connections: number;
  /** Seconds to run, or … */
  duration?: number;
  /** … the number of requests to send (then the run is also cut at `maxSeconds`). */
  amount?: number;
  maxSeconds?: number;
  /** Per-request timeout, seconds. */
  timeout?: number;
  /** Units of work a 2xx response stands for (ingest: resources in the bundle); 1 when absent. */
  unitsOf?: (context: Record<string, unknown>) => number;
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Measurement {
  /** Responses received, 2xx or not. */
  responses: number;
  ok: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  failed: number;
  statuses: Record<string, number>;
  units: number;
  elapsedS: number;
  /** units / elapsedS, counting 2xx responses only. */
  throughput: number;
  latencyMs: Latency;
  firstFailure?: string;
  /** The first 2xx response, so the ceiling can answer the same bytes. */
  sample?: { status: number; headers: Record<string, string>; body: string };
}

const KEPT_HEADERS = ['content-type', 'etag', 'last-modified', 'location'];

export function runLoad(spec: LoadSpec): Promise<Measurement> {
  const base = new URL(spec.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const absolute = (path: string | undefined) => (path === undefined || path.startsWith('/') ? path : `${prefix}/${path}`);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let units = 0;
  let errors = 0;
  let firstFailure: string | undefined;
  let sample: Measurement['sample'];
  const started = performance.now();
  let lastResponse = started;

  const requests = spec.requests.map(
    (request): Request => ({
      ...request,
      path: absolute(request.path),
      // Absent, not undefined: autocannon's own default setupRequest must survive Object.assign.
      ...(request.setupRequest && {
        setupRequest: (req: Request, context: Record<string, unknown>) => {
          const out = request.setupRequest!(req, context);
          if (out) out.path = absolute(out.path);
          return out;
        },
      }),
      onResponse(status, body, context, headers) {
        if (status >= 200 && status < 300) {
          units += spec.unitsOf ? spec.unitsOf(context) : 1;
          sample ??= { status, body, headers: pickHeaders(headers) };
        } else {
          firstFailure ??= describeFailure({ status, text: body });
        }
        request.onResponse?.(status, body, context, headers);
      },
    }),
  );

  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: base.origin,
        headers: spec.headers,
        requests,
        connections: spec.amount ? Math.min(spec.connections, spec.amount) : spec.connections,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
        timeout: spec.timeout ?? 30,
        // autocannon notices the end of a run on its sampling tick; a short tick ends runs promptly.
        sampleInt: 100,
      },
      (error) => {
        clearTimeout(timer);
        if (error) return reject(error);
        const elapsedS = Math.max(lastResponse - started, 1) / 1000;
        resolve({
          responses: latencies.length,
          ok,
          failed: latencies.length - ok + errors,
          statuses,
          units,
          elapsedS,
          throughput: units / elapsedS,
          latencyMs: percentiles(latencies),
          firstFailure: firstFailure ?? (errors ? `${errors} connection errors or timeouts` : undefined),
          sample,
        });
      },
    );
    if (spec.amount) timer = setTimeout(() => instance.stop(), (spec.maxSeconds ?? 600) * 1000);
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      lastResponse = performance.now();
      latencies.push(responseTime);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok++;
    });
    instance.on('reqError', () => errors++);
  });
}

export function percentiles(values: number[]): Latency {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1] };
}

function pickHeaders(headers: Record<string, string | string[]>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (KEPT_HEADERS.includes(name.toLowerCase())) kept[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  }
  return kept;
}
