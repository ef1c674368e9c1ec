import type { AuthConfig, KilnConfig } from '../config/types.js';
import type { Principal } from './types.js';

/**
 * A claim by path: an exact key wins (`cognito:groups`, `https://example.org/tenant`), otherwise
 * dots descend into objects (`realm_access.roles`).
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let node: unknown = claims;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Sets a claim by path (creating objects for dotted paths); used when minting dev tokens. */
export function setClaim(claims: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.includes(':') ? [path] : path.split('.');
  let node = claims;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

function strings(value: unknown, separator: RegExp): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item !== '');
  if (typeof value === 'string') return value.split(separator).filter(Boolean);
  return [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `Practitioner/1`, or an absolute URL ending in it, as `Practitioner/1`. */
export function localReference(value: string | undefined): string | undefined {
  const match = value && /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(value);
  return match ? match[1] : undefined;
}

/** The principal a verified token (or introspection response) describes. */
export function principalFromClaims(claims: Record<string, unknown>, config: Pick<KilnConfig, 'tenancy'> & { auth: Pick<AuthConfig, 'claims'> }, source: Principal['source']): Principal {
  const paths = config.auth.claims;
  const scopeClaim = claimAt(claims, paths.scope) ?? claims.scp;
  const principal: Principal = {
    subject: text(claims.sub) ?? text(claims.client_id) ?? 'unknown',
    groups: strings(claimAt(claims, paths.groups), /[\s,]+/),
    scopes: strings(scopeClaim, /\s+/),
    claims,
    source,
  };
  const tenant = text(claimAt(claims, config.tenancy.claim));
  if (tenant) principal.tenant = tenant;
  const fhirUser = localReference(text(claimAt(claims, paths.fhirUser)));
  if (fhirUser) principal.fhirUser = fhirUser;
  const patient = text(claimAt(claims, paths.patient));
  if (patient) principal.patient = patient;
  return principal;
}
