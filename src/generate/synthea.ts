/** Reading the Synthea sample bundles (../shared/data/synthea): `*.json` or `*.json.gz` transaction bundles. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle } from '../fhir/types.js';

/** Bundle files in load order: the hospital and practitioner bundles first, as the patients point at them. */
export function syntheaFiles(dir: string): string[] {
  const files = readdirSync(dir).filter((name) => /\.json(\.gz)?$/.test(name));
  const rank = (name: string) => (name.startsWith('hospitalInformation') || name.includes('-hospitalInformation') ? 0 : name.includes('practitionerInformation') ? 1 : 2);
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((name) => join(dir, name));
}

export function readSyntheaBundle(path: string): Bundle {
  const raw = readFileSync(path);
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as Bundle;
}
