/**
 * Behavioural promises of the core docs (packages/core/README.md, KEYSET.md, INTROSPECTION.md,
 * SCOPES-AND-TENANTS.md) that no other test pinned, checked against a real JWKS HTTP server on
 * 127.0.0.1 and the validator's `now` clock. One test per promise, grouped by doc section; each
 * quotes the line it holds the library to.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwksServer, startJwksServer } from '../../../test/support/jwks-server.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import type { KeySetEvent } from './jwks.js';
import { TENANT_PLACEHOLDER } from './tenants.js';
import { queryTokenCacheControl } from './transport.js';
import { createValidator } from './validator.js';

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const T0 = 1_800_000_000_000;

let key: SigningKey;
let other: SigningKey;
let jwks: JwksServer;
/** A JWKS server answering on any path and query, recording the request targets it saw. */
let queryServer: Server;
let queryUrl: string;
const queryTargets: string[] = [];
/** An introspection endpoint answering every token active, counting the requests it got. */
let introspectionServer: Server;
let introspectionUrl: string;
let introspections = 0;

beforeAll(async () => {
  key = generateSigningKey('ES256', { kid: 'held' });
  other = generateSigningKey('ES256', { kid: 'not-in-the-set' });
  jwks = await startJwksServer([key.publicJwk as Record<string, unknown>]);
  queryServer = createServer((req: IncomingMessage, res) => {
    queryTargets.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
  });
  await new Promise<void>((resolve) => queryServer.listen(0, '127.0.0.1', resolve));
  queryUrl = `http://127.0.0.1:${(queryServer.address() as AddressInfo).port}/tenant-keys`;
  introspectionServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      introspections++;
      const body = { active: true, iss: ISS, aud: AUD, sub: 'opaque-user', exp: T0 / 1000 + 3600 };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => introspectionServer.listen(0, '127.0.0.1', resolve));
  introspectionUrl = `http://127.0.0.1:${(introspectionServer.address() as AddressInfo).port}/introspect`;
});

afterAll(async () => {
  await jwks.close();
  queryServer.closeAllConnections();
  await new Promise((resolve) => queryServer.close(resolve));
  introspectionServer.closeAllConnections();
  await new Promise((resolve) => introspectionServer.close(resolve));
});

async function tokenAt(
  nowMs: number,
  overrides: Record<string, unknown> = {},
  signer = key,
): Promise<string> {
  return signToken(
    signer,
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: Math.floor(nowMs / 1000) }, overrides),
  );
}

describe('README "The validator"', () => {
  it('close(): "afterwards nothing more is fetched (what would need a fetch is a 503); tokens verifiable with the keys ... it holds still validate"', async () => {
    jwks.fault = 'none';
    const clock = T0;
    const validator = createValidator({ issuer: ISS, audience: AUD, jwksUri: jwks.url, now: () => clock });
    await validator.warm();
    const before = jwks.fetchCount;
    await validator.close();

    // A token signed with a key the validator holds still validates (fresh token, not a cached one).
    const auth = await validator.validate(await tokenAt(clock));
    expect(auth.subject).toBe('user-1');
    // An unknown kid would need a refetch: a 503 with Retry-After, never a 401, and nothing asked.
    const error = await failure(validator.validate(await tokenAt(clock, {}, other)));
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.headers['retry-after']).toBeDefined();
    expect(jwks.fetchCount).toBe(before);
  });

  it('close(): "cached answers it holds still validate"; an opaque token not cached is a 503, nothing sent', async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: { keys: [key.publicJwk] },
      now: () => T0,
      introspection: { clientId: 'orders-api', clientSecret: 'secret', endpoint: introspectionUrl },
    });
    expect((await validator.validate('opaque-cached')).subject).toBe('opaque-user');
    const sent = introspections;
    await validator.close();
    expect((await validator.validate('opaque-cached')).subject).toBe('opaque-user');
    const error = await failure(validator.validate('opaque-new'));
    expect(error.code).toBe('ERR_INTROSPECTION_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.headers['retry-after']).toBeDefined();
    expect(introspections).toBe(sent);
  });

  it('warm(): "rejects with ERR_KEYS_UNAVAILABLE if the issuer cannot be reached (the validator still works and retries later)"', async () => {
    let clock = T0;
    jwks.fault = 'status_500';
    const validator = createValidator({ issuer: ISS, audience: AUD, jwksUri: jwks.url, now: () => clock });
    try {
      const refused = await failure(validator.warm());
      expect(refused.code).toBe('ERR_KEYS_UNAVAILABLE');
      expect(refused.status).toBe(503);
      // The issuer recovers; past the backoff (retryMinSec 1 s, jitter in [0.5, 1]) the next request
      // fetches again and passes, with no restart.
      jwks.fault = 'none';
      clock += 2_000;
      const auth = await validator.validate(await tokenAt(clock));
      expect(auth.subject).toBe('user-1');
      expect(validator.state().issuers[0]?.keySet.status).toBe('fresh');
    } finally {
      jwks.fault = 'none';
      await validator.close();
    }
  });

  it('AuthInfo.clientId: "`client_id`, else `azp`, `cid`, `appid`"', async () => {
    const validator = createValidator({ issuer: ISS, audience: AUD, jwks: { keys: [key.publicJwk] } });
    const now = Date.now();
    const clientOf = async (claims: Record<string, unknown>) =>
      (await validator.validate(await tokenAt(now, { client_id: undefined, ...claims }))).clientId;
    expect(await clientOf({ client_id: 'c', azp: 'a', cid: 'o', appid: 'e' })).toBe('c');
    expect(await clientOf({ azp: 'a', cid: 'o', appid: 'e' })).toBe('a');
    expect(await clientOf({ cid: 'okta-client', appid: 'e' })).toBe('okta-client');
    expect(await clientOf({ appid: 'entra-app' })).toBe('entra-app');
    expect(await clientOf({})).toBeUndefined();
  });
});

describe('KEYSET.md "Controls and observability"', () => {
  it('state().keySet.uri and every event\'s uri: "origin and path, never the query"', async () => {
    const events: KeySetEvent[] = [];
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwksUri: `${queryUrl}?tenant=acme&sig=s3cr3t`,
      onEvent: (event) => events.push(event),
    });
    try {
      await validator.warm();
      // The query is sent to the server all the same; it is left out of what is reported.
      expect(queryTargets.at(-1)).toBe('/tenant-keys?tenant=acme&sig=s3cr3t');
      expect(validator.state().issuers[0]?.keySet.uri).toBe(queryUrl);
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) expect(event.uri).toBe(queryUrl);
      expect(JSON.stringify(validator.state())).not.toContain('s3cr3t');
    } finally {
      await validator.close();
    }
  });
});

describe('SCOPES-AND-TENANTS.md "The 403"', () => {
  it('"Of each any-of it names the alternative the token is closest to (fewest missing scopes, then the smaller one, then the first declared)"', async () => {
    const validator = createValidator({ issuer: ISS, audience: AUD, jwks: { keys: [key.publicJwk] } });
    const token = await tokenAt(Date.now(), { scope: 'x' });
    // Both alternatives miss one scope; the second is the smaller one, though declared last.
    const error = await failure(
      validator.validate(token, { scopes: { anyOf: [{ allOf: ['x', 'y'] }, 'z'] } }),
    );
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(error.status).toBe(403);
    expect(error.scope).toBe('z');
  });
});

describe('README "Helpers for adapters and custom transports"', () => {
  it('queryTokenCacheControl: "`private` (RFC 6750 §2.3), or `undefined` when the response already has one at least as strict (`no-store`)"', () => {
    expect(queryTokenCacheControl(undefined)).toBe('private');
    expect(queryTokenCacheControl('public, max-age=60')).toBe('private');
    // private="set-cookie" keeps one field private, not the answer.
    expect(queryTokenCacheControl('private="set-cookie"')).toBe('private');
    expect(queryTokenCacheControl('no-store')).toBeUndefined();
    expect(queryTokenCacheControl('max-age=0, No-Store')).toBeUndefined();
    expect(queryTokenCacheControl('private, max-age=60')).toBeUndefined();
    expect(queryTokenCacheControl(['max-age=0', 'no-store'])).toBeUndefined();
  });

  it('TENANT_PLACEHOLDER is the `{tenant}` the docs write in issuer templates', async () => {
    expect(TENANT_PLACEHOLDER).toBe('{tenant}');
    const validator = createValidator({
      issuer: `https://login.example/${TENANT_PLACEHOLDER}/v2.0`,
      audience: AUD,
      jwksUri: `${queryUrl}/${TENANT_PLACEHOLDER}`,
      tenants: ['acme'],
    });
    try {
      const now = Date.now();
      const token = await signToken(
        key,
        accessTokenClaims({
          iss: 'https://login.example/acme/v2.0',
          aud: AUD,
          nowSec: Math.floor(now / 1000),
        }),
      );
      const auth = await validator.validate(token);
      expect(auth.tenant).toBe('acme');
      expect(queryTargets.at(-1)).toBe('/tenant-keys/acme');
    } finally {
      await validator.close();
    }
  });
});
