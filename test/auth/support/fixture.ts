import { after, before } from 'node:test';
import type { KilnOverrides } from '../../../src/index.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { RESOURCE, startIdp, type TestIdp } from './idp.js';

export interface ProviderAndKiln {
  idp: TestIdp;
  kiln: TestServer;
  base: string;
}

type AuthOverrides = NonNullable<KilnOverrides['auth']>;

/**
 * For the enclosing test file: a real OpenID provider on loopback and a Kiln in jwt mode (smart
 * strategy) that trusts it, both closed afterwards. `auth` adds to or overrides that auth
 * configuration, `overrides` the rest of Kiln's; `onStart` receives both once they run (to keep
 * them, mint tokens, seed data).
 */
export function useProviderAndKiln(
  onStart: (started: ProviderAndKiln) => void | Promise<void>,
  auth: (idp: TestIdp) => AuthOverrides = () => ({}),
  overrides: Omit<KilnOverrides, 'auth'> = {},
): void {
  let idp: TestIdp | undefined;
  let kiln: TestServer | undefined;
  before(async () => {
    idp = await startIdp();
    kiln = await startTestServer({ ...overrides, auth: { mode: 'jwt', issuer: idp.issuer, audience: [RESOURCE], strategy: 'smart', ...auth(idp) } });
    await onStart({ idp, kiln, base: kiln.baseUrl });
  });
  after(async () => {
    await kiln?.close();
    await idp?.close();
  });
}
