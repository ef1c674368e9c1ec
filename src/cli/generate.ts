/**
 * `kiln generate`: deterministic synthetic FHIR R4 data, as transaction bundles (one file per
 * bundle, or one bundle per line on stdout) or as bulk-data NDJSON (one file per resource type, or
 * one resource per line on stdout).
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Resource } from '../fhir/types.js';
import { directoryBundles, directoryResources, patientBundle, patientRecord, resolveReferences, type GenerateOptions } from '../generate/synthetic.js';

const usage = `Usage: kiln generate --patients N [--seed S] [--format transaction|ndjson] [--out DIR]

  --patients N   number of patients (each ~40-120 resources), required
  --seed S       PRNG seed (default 1); the same N and S always give the same output
  --format F     transaction (default): transaction Bundles; the first bundle(s) PUT the
                 Organizations and Practitioners, then one POST bundle per patient with
                 urn:uuid references. ndjson: resources with ids and literal references.
  --out DIR      write files into DIR (bundle-000001.json … or <Type>.ndjson); default stdout,
                 one bundle or resource per line
`;

export async function generateCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { patients: { type: 'string' }, seed: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const patients = Number(values.patients);
  const seed = Number(values.seed ?? '1');
  const format = values.format ?? 'transaction';
  if (!Number.isInteger(patients) || patients < 1) return fail('--patients must be a whole number ≥ 1');
  if (!Number.isInteger(seed)) return fail('--seed must be a whole number');
  if (format !== 'transaction' && format !== 'ndjson') return fail(`--format must be transaction or ndjson, got '${format}'`);

  const options: GenerateOptions = { patients, seed };
  const counts = new Map<string, number>();
  const count = (resources: Resource[]) => resources.forEach((r) => counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1));
  const started = Date.now();
  const sink = values.out ? new DirectorySink(values.out) : new StdoutSink();

  const directory = directoryResources(options);
  count(directory);
  if (format === 'transaction') {
    for (const bundle of directoryBundles(options)) await sink.bundle(bundle);
    for (let i = 0; i < patients; i++) {
      const record = patientRecord(options, i);
      count(record);
      await sink.bundle(patientBundle(record));
    }
  } else {
    for (const resource of directory) await sink.resource(resource);
    for (let i = 0; i < patients; i++) {
      const record = resolveReferences(patientRecord(options, i));
      count(record);
      for (const resource of record) await sink.resource(resource);
    }
  }
  await sink.close();
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const byType = [...counts].sort((a, b) => b[1] - a[1]).map(([type, n]) => `${type} ${n}`).join(', ');
  process.stderr.write(`kiln generate: ${patients} patients, ${total} resources (${byType}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`kiln generate: ${message}\n\n${usage}`);
  return 2;
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

interface Sink {
  bundle(bundle: Resource): Promise<void>;
  resource(resource: Resource): Promise<void>;
  close(): Promise<void>;
}

class StdoutSink implements Sink {
  bundle(bundle: Resource) {
    return write(process.stdout, `${JSON.stringify(bundle)}\n`);
  }
  resource(resource: Resource) {
    return write(process.stdout, `${JSON.stringify(resource)}\n`);
  }
  async close() {}
}

class DirectorySink implements Sink {
  private bundles = 0;
  private readonly streams = new Map<string, Writable>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async bundle(bundle: Resource) {
    const stream = createWriteStream(join(this.dir, `bundle-${String(++this.bundles).padStart(6, '0')}.json`));
    stream.end(JSON.stringify(bundle));
    await once(stream, 'finish');
  }

  resource(resource: Resource) {
    let stream = this.streams.get(resource.resourceType);
    if (!stream) this.streams.set(resource.resourceType, (stream = createWriteStream(join(this.dir, `${resource.resourceType}.ndjson`))));
    return write(stream, `${JSON.stringify(resource)}\n`);
  }

  async close() {
    await Promise.all([...this.streams.values()].map((stream) => new Promise((resolve) => stream.end(resolve))));
  }
}
