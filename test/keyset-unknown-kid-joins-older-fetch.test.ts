/**
 * Defect (KEYSET.md, "Unknown `kid`": "refetch at once, so a rotated-in key is accepted on its first
 * request; if the set still lacks it, start the cooldown and answer 401 ERR_KEY_NOT_FOUND").
 *
 * A token whose `kid` is unknown joins whatever fetch is already in flight, even one that left for the
 * issuer before the key was published (here a refresh ahead of expiry, started by ordinary traffic).
 * That older answer lacks the key, so the rotated-in token is refused with 401 and the unknown-kid
 * cooldown starts: every token signed with the new key is refused for `unknownKidCooldownSec` (10 s by
 * default), although the issuer published the key before any of them reached the API, and no refetch
 * was made after the token arrived. (The same happens on a cold cache: a token joining the first fetch,
 * begun before its key was published, is refused the same way.)
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, TokenGuardError, type Validator } from '@tokenguard/core';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function makeKey(kid: string): Key {
  const pair = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const jwk = createPublicKey(pair.publicKey).export({ format: 'jwk' });
  return {
    kid,
    privateKey: createPrivateKey(pair.privateKey),
    jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' },
  };
}

let k1: Key;
let k2: Key;
/** The keys the issuer publishes now. Each answer carries the keys published when its request arrived. */
let published: Record<string, unknown>[] = [];
let latencyMs = 0;
let requests = 0;
let server: Server;
let url: string;
let clock = T0;
let validator: Validator | undefined;

beforeAll(async () => {
  k1 = makeKey('k1');
  k2 = makeKey('k2');
  server = createServer((_req, res) => {
    requests++;
    const body = JSON.stringify({ keys: published });
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  await validator?.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function sign(key: Key): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read', client_id: 'c' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('u')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key.privateKey);
}

async function outcome(jwt: string): Promise<string> {
  try {
    await validator?.validate(jwt);
    return 'ok';
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

describe('a rotated-in key while a refresh ahead of expiry is in flight', () => {
  it('is accepted on its first request (it was published before the request came)', {
    timeout: 8000,
  }, async () => {
    published = [k1.jwk];
    validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: url, now: () => clock });
    await validator.warm();
    expect(requests).toBe(1);

    // Ordinary traffic in the last 30 s of the max age starts a background refresh; the issuer is a
    // little slow (300 ms) to answer it.
    latencyMs = 300;
    clock = T0 + 580_000;
    expect(await outcome(await sign(k1))).toBe('ok');
    await vi.waitFor(() => expect(requests).toBe(2));

    // The issuer now publishes k2 and signs with it; the first k2 token reaches the API after that.
    published = [k1.jwk, k2.jwk];
    const rotated = await sign(k2);
    const first = await outcome(rotated);
    const second = await outcome(rotated);
    expect({ first, second }).toEqual({ first: 'ok', second: 'ok' });
  });
});

describe('a rotated-in key while the cold-start fetch is in flight', () => {
  it('is accepted: the request that joined the first fetch fetches once more', {
    timeout: 8000,
  }, async () => {
    await validator?.close();
    published = [k1.jwk];
    latencyMs = 300;
    requests = 0;
    clock = T0;
    validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: url, now: () => clock });
    const first = outcome(await sign(k1));
    await vi.waitFor(() => expect(requests).toBe(1));
    published = [k1.jwk, k2.jwk];
    const rotated = outcome(await sign(k2));
    expect(await Promise.all([first, rotated])).toEqual(['ok', 'ok']);
    expect(requests).toBe(2);
  });
});

describe('random kids while a refresh ahead of expiry is in flight', () => {
  it('cost one more fetch in all, then fail fast for the cooldown', { timeout: 8000 }, async () => {
    await validator?.close();
    published = [k1.jwk];
    latencyMs = 0;
    requests = 0;
    clock = T0;
    validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: url, now: () => clock });
    await validator.warm();
    latencyMs = 300;
    clock = T0 + 580_000;
    const good = await sign(k1);
    expect(await outcome(good)).toBe('ok'); // starts the refresh ahead
    await vi.waitFor(() => expect(requests).toBe(2));
    const storm = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sign({ ...k1, kid: `random-${i}` }).then(outcome)),
    );
    expect(new Set(storm)).toEqual(new Set(['401 ERR_KEY_NOT_FOUND']));
    expect(requests).toBe(3);
    expect(await outcome(await sign({ ...k1, kid: 'random-late' }))).toBe('401 ERR_KEY_NOT_FOUND');
    expect(requests).toBe(3);
    expect(await outcome(good)).toBe('ok');
  });
});
