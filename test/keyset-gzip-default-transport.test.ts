/**
 * Defect (the default transport; KEYSET.md "HTTP": `Accept: application/jwk-set+json, application/json`,
 * nothing about content codings).
 *
 * The default undici transport sends no `Accept-Encoding`, which RFC 9110 §12.5.3 reads as "any content
 * coding is acceptable", and does not decode one. A JWKS served gzip-encoded regardless (a pre-compressed
 * object on a static host such as S3, whose `Content-Encoding: gzip` is stored metadata) is refused as
 * "did not answer a JSON Web Key Set": a cold start answers every token 503, a running API falls to 503
 * when the stale window ends. The same set with `http: { fetch }` (which decodes it, bounded by
 * `maxResponseBytes` after decoding) is taken: the two transports disagree on the same issuer.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createValidator, TokenGuardError } from '@tokenguard/core';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
let server: Server;
let url: string;
const seen: IncomingHttpHeaders[] = [];
const pair = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const jwk = {
  ...createPublicKey(pair.publicKey).export({ format: 'jwk' }),
  kid: 'k1',
  alg: 'ES256',
  use: 'sig',
};

beforeAll(async () => {
  const body = gzipSync(JSON.stringify({ keys: [jwk] }));
  server = createServer((req, res) => {
    seen.push(req.headers);
    // As a static host serves an object stored pre-compressed: whatever the request's Accept-Encoding.
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': body.length,
      })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function outcome(fetch: typeof globalThis.fetch | undefined, jwt: string): Promise<string> {
  const v = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: url,
    ...(fetch === undefined ? {} : { http: { fetch } }),
  });
  try {
    await v.validate(jwt);
    return 'ok';
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return `${error.status} ${error.code}: ${(error.cause as Error | undefined)?.message}`;
  } finally {
    await v.close();
  }
}

describe('a gzip-encoded JWKS', () => {
  it('is taken by the default transport as by http.fetch', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 300)
      .sign(createPrivateKey(pair.privateKey));
    const withFetch = await outcome(globalThis.fetch, jwt);
    const byDefault = await outcome(undefined, jwt);
    // The default transport asked with no Accept-Encoding at all (any coding acceptable).
    expect(seen.at(-1)?.['accept-encoding']).toBeUndefined();
    expect({ withFetch, byDefault }).toEqual({ withFetch: 'ok', byDefault: 'ok' });
  });
});
