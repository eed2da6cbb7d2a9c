/**
 * WAS A DEFECT (failed until the README was fixed). README.md, "Scopes per route, and many tenants", configures
 * Microsoft Entra ID's v2.0 issuer with an App ID URI as the audience:
 *
 *     issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
 *     audience: 'api://orders',
 *
 * and says "auth.tenant is 'acme', or the tenant in the Entra ID issuer". But a v2.0 access token never
 * carries an App ID URI in `aud`: Microsoft's access token claims reference (MicrosoftDocs/entra-docs,
 * identity-platform/access-token-claims-reference.md) says of `aud`: "In v2.0 tokens, this value is always
 * the client ID of the API. In v1.0 tokens, it can be the client ID or the resource URI used in the
 * request." The README's own Entra recipe says the same ("v2 tokens: the API's application (client) id
 * GUID; v1: the App ID URI"). So the example, copied as written, refuses every token Entra issues for it
 * (401 ERR_AUDIENCE_MISMATCH): a v2 issuer with a v1 audience. The fix is the example's audience (the API's
 * client id, as in the recipe); this test then passes.
 *
 * The example runs as written (its `createValidator({ issuers })` block evaluated from README.md, the
 * reader's `customers` given), its Entra ID issuer discovered over real HTTP at Microsoft's paths
 * (test/support/vendor-hosts.ts, through the documented `http.fetch` option), and is handed a v2.0 token
 * shaped as Microsoft documents it for the API the example names.
 */
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { readmeValidatorOptions } from './support/readme-blocks.js';
import { startVendorHosts, type VendorHosts } from './support/vendor-hosts.js';

const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA_ISSUER = `https://login.microsoftonline.com/${TID}/v2.0`;
/** The application (client) id Entra gives the API whose App ID URI the example names. */
const API_CLIENT_ID = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let hosts: VendorHosts;
let key: SigningKey;
let validator: Validator;
let configuredAudience: string;

beforeAll(async () => {
  hosts = await startVendorHosts();
  key = generateSigningKey('RS256');
  const { alg: _alg, ...servedJwk } = key.publicJwk; // Entra's keys endpoint lists no alg
  hosts.serve(`${ENTRA_ISSUER}/.well-known/openid-configuration`, {
    issuer: ENTRA_ISSUER,
    jwks_uri: `https://login.microsoftonline.com/${TID}/discovery/v2.0/keys`,
    token_endpoint: `https://login.microsoftonline.com/${TID}/oauth2/v2.0/token`,
  });
  hosts.serve(`https://login.microsoftonline.com/${TID}/discovery/v2.0/keys`, {
    keys: [{ ...servedJwk, issuer: ENTRA_ISSUER }],
  });
  const options = readmeValidatorOptions({
    section: 'Scopes per route, and many tenants',
    after: 'issuers: [',
    scope: { customers: { byTenant: async (tenant: string) => ({ active: tenant === TID }) } },
  });
  const entra = options.issuers?.find((entry) => entry.issuer.includes('login.microsoftonline.com'));
  configuredAudience = String(entra?.audience);
  validator = createValidator({ ...options, http: { fetch: hosts.fetch } });
});

afterAll(async () => {
  await validator?.close();
  await hosts?.close();
});

describe('README "Scopes per route, and many tenants": the Entra ID v2.0 entry', () => {
  it("accepts a v2.0 access token Entra issues for the example's API, its tenant from the issuer", async () => {
    // v2.0: aud is always the API's client id. Where the example names one (a GUID, or a placeholder for
    // it), that is the token's aud; where it names an App ID URI, Entra still puts the client id there.
    const aud =
      GUID.test(configuredAudience) || /CLIENT_ID/.test(configuredAudience)
        ? configuredAudience
        : API_CLIENT_ID;
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(
      key,
      {
        aud,
        iss: ENTRA_ISSUER,
        iat: now,
        nbf: now,
        exp: now + 3600,
        azp: 'c7a1b6b3-0e1d-4f43-9b2e-2f7e3c3b1a90',
        azpacr: '1',
        scp: 'Orders.Read',
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
        oid: '00000000-0000-0000-66f3-3332eca7ea81',
        tid: TID,
        ver: '2.0',
      },
      { typ: 'JWT' },
    );
    const outcome = await validator.validate(token).then(
      (auth) => ({ tenant: auth.tenant, scopes: [...auth.scopes] }),
      (error: unknown) => (isTokenGuardError(error) ? { refused: error.code } : { threw: String(error) }),
    );
    expect(outcome).toEqual({ tenant: TID, scopes: ['Orders.Read'] });
  });
});
