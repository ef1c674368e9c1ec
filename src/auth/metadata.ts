import type { KilnConfig, SmartEndpoints } from '../config/types.js';
import type { Discovery, OidcMetadata } from './discovery.js';

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';
const SECURITY_SERVICE = 'http://terminology.hl7.org/CodeSystem/restful-security-service';

/**
 * What Kiln tells clients about its security: /.well-known/smart-configuration and the
 * CapabilityStatement's rest.security. Endpoints come from configuration, else from the issuer's
 * OIDC discovery document (once it has been fetched).
 */
export interface SecurityMetadata {
  /** The smart-configuration document, or undefined when Kiln knows no OAuth endpoints. */
  smartConfiguration(): Promise<Record<string, unknown> | undefined>;
  /** CapabilityStatement.rest.security, or undefined in mode none. */
  capabilitySecurity(): Record<string, unknown> | undefined;
}

export function createSecurityMetadata(config: KilnConfig, discovery: Discovery | undefined): SecurityMetadata {
  const { auth } = config;
  const endpoints = (oidc: OidcMetadata | undefined): SmartEndpoints => ({
    authorize: oidc?.authorization_endpoint,
    token: oidc?.token_endpoint,
    introspect: auth.introspection?.url ?? oidc?.introspection_endpoint,
    revoke: oidc?.revocation_endpoint,
    register: oidc?.registration_endpoint,
    ...definedOnly(auth.smart.endpoints),
  });
  return {
    async smartConfiguration() {
      if (auth.mode === 'none') return undefined;
      let oidc: OidcMetadata | undefined;
      if (discovery) oidc = await discovery.metadata().catch(() => discovery.known());
      const uris = endpoints(oidc);
      if (!uris.authorize || !uris.token) return undefined;
      return definedOnly({
        issuer: auth.issuer,
        jwks_uri: auth.jwksUri ?? oidc?.jwks_uri,
        authorization_endpoint: uris.authorize,
        token_endpoint: uris.token,
        introspection_endpoint: uris.introspect,
        revocation_endpoint: uris.revoke,
        registration_endpoint: uris.register,
        management_endpoint: uris.manage,
        grant_types_supported: oidc?.grant_types_supported ?? ['authorization_code', 'client_credentials'],
        token_endpoint_auth_methods_supported: oidc?.token_endpoint_auth_methods_supported,
        scopes_supported: oidc?.scopes_supported,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        capabilities: auth.smart.capabilities,
      });
    },
    capabilitySecurity() {
      if (auth.mode === 'none') return undefined;
      const smart = auth.strategy === 'smart';
      const code = smart ? 'SMART-on-FHIR' : 'OAuth';
      const security: Record<string, unknown> = {
        cors: false,
        service: [{ coding: [{ system: SECURITY_SERVICE, code, display: code }], text: smart ? 'OAuth2 using SMART-on-FHIR profile' : 'OAuth2 bearer tokens' }],
        description: auth.mode === 'dev' ? 'Development mode: bearer tokens minted by `kiln token`' : `Bearer tokens issued by ${auth.issuer}`,
      };
      const uris = endpoints(discovery?.known());
      const extension = Object.entries(uris)
        .filter(([, uri]) => uri)
        .map(([name, uri]) => ({ url: name, valueUri: uri }));
      if (extension.length > 0) security.extension = [{ url: OAUTH_URIS, extension }];
      return security;
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
