/** OpenID Connect discovery (OpenID Connect Discovery 1.0 §4), fetched once and cached. */
export interface OidcMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  registration_endpoint?: string;
  scopes_supported?: string[];
  grant_types_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
  [field: string]: unknown;
}

export interface Discovery {
  /** The issuer's metadata; a failed fetch is not cached, so the next call tries again. */
  metadata(): Promise<OidcMetadata>;
  /** What is known without fetching (undefined before the first successful fetch). */
  known(): OidcMetadata | undefined;
}

export function createDiscovery(issuer: string, timeoutMs = 5000): Discovery {
  let pending: Promise<OidcMetadata> | undefined;
  let cached: OidcMetadata | undefined;
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  async function load(): Promise<OidcMetadata> {
    const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`OIDC discovery at ${url} answered ${response.status}`);
    const metadata = (await response.json()) as OidcMetadata;
    // Discovery §4.3: the issuer in the document must be exactly the one it was fetched for.
    if (metadata.issuer !== issuer) throw new Error(`OIDC discovery at ${url} names issuer '${metadata.issuer}', expected '${issuer}'`);
    if (typeof metadata.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
    cached = metadata;
    return metadata;
  }
  return {
    metadata() {
      if (cached) return Promise.resolve(cached);
      pending ??= load().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    known: () => cached,
  };
}
