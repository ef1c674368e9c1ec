/**
 * SMART App Launch clinical scopes, v1 (`patient/Observation.read`) and v2
 * (`patient/Observation.rs?category=laboratory`): https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  context: ScopeContext;
  /** A resource type, or '*' for all. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
  /** v2 search restriction: the resources must also match these search parameters. */
  query?: [string, string][];
  /** The scope as granted. */
  raw: string;
}

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.+))?$/;
const V1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const V2_ORDER = 'cruds';

/** A clinical scope, or undefined for anything else (openid, launch/patient, a malformed scope …). */
export function parseScope(raw: string): ResourceScope | undefined {
  const match = SCOPE.exec(raw);
  if (!match) return undefined;
  const [, context, resourceType, access, query] = match;
  const permissions = V1[access] ?? v2Permissions(access);
  if (!permissions) return undefined;
  // v1 scopes had no search restriction: a query only makes sense with v2 letters.
  if (query !== undefined && V1[access]) return undefined;
  const scope: ResourceScope = { context: context as ScopeContext, resourceType, permissions: new Set(permissions), raw };
  if (query !== undefined) scope.query = [...new URLSearchParams(query)];
  return scope;
}

/** v2 letters: a non-empty subset of c, r, u, d, s, in that order, each at most once. */
function v2Permissions(access: string): Permission[] | undefined {
  let position = -1;
  for (const letter of access) {
    const next = V2_ORDER.indexOf(letter);
    if (next <= position) return undefined;
    position = next;
  }
  return access.length > 0 ? ([...access] as Permission[]) : undefined;
}

export function parseScopes(scopes: readonly string[]): ResourceScope[] {
  return scopes.map(parseScope).filter((scope): scope is ResourceScope => scope !== undefined);
}
