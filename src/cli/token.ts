import { setClaim } from '../auth/claims.js';
import type { KilnConfig } from '../config/types.js';

/** `kiln token`'s own options (parseArgs form). */
export const tokenOptions = {
  sub: { type: 'string' },
  groups: { type: 'string' },
  scope: { type: 'string' },
  tenant: { type: 'string' },
  patient: { type: 'string' },
  'fhir-user': { type: 'string' },
  'expires-in': { type: 'string' },
} as const;

export const tokenUsage = `kiln token options (dev mode: signs with the key in the data directory):
  --sub ID                     subject (required)
  --groups a,b                 groups, for the rbac strategy (e.g. practitioner)
  --scope "…"                  space-separated scopes, for the smart strategy (e.g. "user/*.cruds")
  --tenant ID                  tenant, when multi-tenancy is on
  --patient ID                 SMART launch patient (for patient/ scopes)
  --fhir-user Type/id          SMART fhirUser (for user/ scopes)
  --expires-in SECONDS         lifetime (default 3600)`;

/**
 * `kiln token --sub alice --groups practitioner --scope "…" --tenant t1`: prints a bearer token that
 * a Kiln in dev mode with the same data directory accepts. Claims go where the configured claim
 * paths say, so the token exercises the same principal mapping as real ones.
 */
export async function tokenCommand(config: KilnConfig, options: Record<string, string | undefined>): Promise<number> {
  if (!options.sub) {
    process.stderr.write(`kiln token: --sub is required\n\n${tokenUsage}\n`);
    return 2;
  }
  const expiresIn = options['expires-in'] ?? '3600';
  if (!/^\d{1,9}$/.test(expiresIn) || Number(expiresIn) < 1) {
    process.stderr.write(`kiln token: --expires-in must be a positive number of seconds, got '${expiresIn}'\n`);
    return 2;
  }
  const claims: Record<string, unknown> = { sub: options.sub };
  const paths = config.auth.claims;
  if (options.groups) setClaim(claims, paths.groups, options.groups.split(',').map((g) => g.trim()).filter(Boolean));
  if (options.scope) setClaim(claims, paths.scope, options.scope.trim());
  if (options.tenant) setClaim(claims, config.tenancy.claim, options.tenant);
  if (options.patient) setClaim(claims, paths.patient, options.patient);
  if (options['fhir-user']) setClaim(claims, paths.fhirUser, options['fhir-user']);
  // jose loads only for this command, not with every `kiln serve`.
  const { loadDevKey, mintDevToken } = await import('../auth/dev-key.js');
  const key = await loadDevKey(config.dataDir);
  process.stdout.write(`${await mintDevToken(key, claims, Number(expiresIn))}\n`);
  if (config.auth.mode !== 'dev') {
    process.stderr.write(`kiln token: note: auth.mode is '${config.auth.mode}'; dev tokens are accepted only with --auth-mode dev\n`);
  }
  return 0;
}
