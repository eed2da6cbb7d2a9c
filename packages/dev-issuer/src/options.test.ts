import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, type DevIssuerOptions, startDevIssuer } from './index.js';

/** Each bad option and the name its TypeError must carry. */
const BAD_OPTIONS: readonly [string, unknown, string][] = [
  ['null options', null, '"options"'],
  ['a typo in an option name', { signingalg: 'ES256' }, '"signingalg": unknown option'],
  ['an unsupported algorithm', { signingAlg: 'HS256' }, '"signingAlg"'],
  ['extraClaims as a string (spread into claims "0", "1", ...)', { extraClaims: 'tid' }, '"extraClaims"'],
  ['extraClaims as an array', { extraClaims: ['tid'] }, '"extraClaims"'],
  ['introspectorJwks without keys', { introspectorJwks: { kty: 'EC' } }, '"introspectorJwks"'],
  ['dpop as a string (truthy, but not the documented switch)', { dpop: 'true' }, '"dpop"'],
  ['mtls as a number', { mtls: 1 }, '"mtls"'],
  ['resources as an array', { resources: [] }, '"resources"'],
  ['a null resource', { resources: { 'https://x.test': null } }, '"resources["https://x.test"]"'],
  [
    'a resource scope that is not a string (a 500 at the token endpoint)',
    { resources: { 'https://x.test': { scope: ['a'], format: 'jwt' } } },
    '"resources["https://x.test"].scope"',
  ],
  [
    'a bad format',
    { resources: { 'https://x.test': { scope: 'a', format: 'JWT' } } },
    '"resources["https://x.test"].format"',
  ],
  [
    'a zero ttlSec',
    { resources: { 'https://x.test': { scope: 'a', format: 'jwt', ttlSec: 0 } } },
    '"resources["https://x.test"].ttlSec"',
  ],
  [
    'a relative resource indicator',
    { resources: { 'x.test': { scope: 'a', format: 'jwt' } } },
    '"resources["x.test"]"',
  ],
];

describe('startDevIssuer options', () => {
  it.each(BAD_OPTIONS)('rejects %s with a TypeError naming the option', async (_, options, named) => {
    const error = await startDevIssuer(options as DevIssuerOptions).then(
      (issuer) => issuer.close().then(() => undefined),
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError & { code?: string }).code).toBe('ERR_DEV_ISSUER_OPTION');
    expect((error as Error).message).toContain(`dev-issuer: invalid option ${named}`);
  });

  // introspectorJwks with signingAlg ES256: every client got oidc-provider's default RS256 signed-introspection
  // alg, no RS256 key existed, and every token request answered 400 invalid_client_metadata.
  it('accepts every documented option together, introspectorJwks with ES256 included', async () => {
    const issuer = await startDevIssuer({
      signingAlg: 'ES256',
      extraClaims: { tid: 'tenant-a' },
      resources: { 'https://x.test': { scope: 'a b', format: 'opaque', ttlSec: 60 } },
      introspectorJwks: { keys: [] },
      dpop: true,
      mtls: true,
    });
    try {
      expect(issuer.resources['https://x.test']).toEqual({ scope: 'a b', format: 'opaque', ttlSec: 60 });
      expect(await issuer.introspect(await issuer.getToken({ resource: 'https://x.test' }))).toMatchObject({
        active: true,
        scope: 'a b',
        tid: 'tenant-a',
      });
    } finally {
      await issuer.close();
    }
  });
});

describe('jwks fault control', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer();
  });

  afterAll(async () => {
    await issuer?.close();
  });

  it('refuses a setDown value it does not know (a typo would answer 503 instead of closing)', async () => {
    expect(() => issuer.jwks.setDown('close' as 'close-connection')).toThrow(/"jwks\.setDown"/);
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });

  it('refuses a latency that is not a finite number of milliseconds Node can wait', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, -1, 2 ** 31]) {
      expect(() => issuer.jwks.setLatencyMs(ms)).toThrow(/"jwks\.setLatencyMs"/);
    }
  });
});
