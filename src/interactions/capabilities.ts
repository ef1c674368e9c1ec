// capabilities: https://hl7.org/fhir/R4/http.html#capabilities
import { readFileSync } from 'node:fs';
import type { Resource } from '../fhir/types.js';
import { prebuiltSearchSection } from './capability-prebuilt.js';
import { searchSection, type SearchSection } from './capability-search.js';
import type { InteractionContext } from './types.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
export const KILN_VERSION = packageJson.version;

const typeInteractions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'];

/** The per-type part of the statement depends only on the configuration: built once per server. */
const resourceSections = new WeakMap<InteractionContext['config'], object[]>();

const serialized = new WeakMap<InteractionContext['config'], Map<string, string>>();

/**
 * The statement as JSON text, built once per base URL and security section (which changes only
 * when OIDC discovery completes), since clients ask for it often and it is large.
 */
export function capabilityStatementJson(ctx: InteractionContext, baseUrl: string): string {
  let byKey = serialized.get(ctx.config);
  if (!byKey) serialized.set(ctx.config, (byKey = new Map()));
  const key = `${baseUrl} ${JSON.stringify(ctx.capabilitySecurity?.() ?? null)}`;
  let json = byKey.get(key);
  if (json === undefined) {
    json = JSON.stringify(capabilityStatement(ctx, baseUrl));
    if (byKey.size > 100) byKey.clear();
    byKey.set(key, json);
  }
  return json;
}

/** A CapabilityStatement describing what this server really does, built from its configuration. */
export function capabilityStatement(ctx: InteractionContext, baseUrl: string): Resource {
  let resources = resourceSections.get(ctx.config);
  if (!resources) {
    resources = buildResourceSections(ctx);
    resourceSections.set(ctx.config, resources);
  }
  return statementFor(ctx, baseUrl, resources);
}

/** Prebuilt for HL7's R4 parameters, else computed from the registry in use. */
function searchPart(ctx: InteractionContext): SearchSection {
  const fingerprint = ctx.searchParameterFingerprint;
  return (fingerprint !== undefined ? prebuiltSearchSection(fingerprint) : undefined) ?? searchSection(ctx.searchParameters);
}

function buildResourceSections(ctx: InteractionContext): object[] {
  const search = searchPart(ctx);
  return [...ctx.resourceTypes].sort().map((type) => ({
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: typeInteractions.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: ctx.config.limits.maxConditionalDeletes > 1 ? 'multiple' : 'single',
    ...search.types[type],
    ...(type === 'Patient' ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] } : {}),
  }));
}

function statementFor(ctx: InteractionContext, baseUrl: string, resources: object[]): Resource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'Kiln',
    kind: 'instance',
    software: { name: 'Kiln', version: KILN_VERSION },
    implementation: { description: 'Kiln FHIR server', url: baseUrl },
    fhirVersion: ctx.config.fhirVersion,
    format: ['json', 'application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        ...securitySection(ctx),
        resource: resources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        searchParam: searchPart(ctx).system,
      },
    ],
  };
}

/** rest.security when authentication is on (SMART service coding and oauth-uris extension). */
function securitySection(ctx: InteractionContext): { security?: Record<string, unknown> } {
  const security = ctx.capabilitySecurity?.();
  return security ? { security } : {};
}
