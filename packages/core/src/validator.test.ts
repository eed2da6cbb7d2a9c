import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  type AsymmetricAlg,
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  secretSigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { type ErrorCode, TokenGuardError } from './errors.js';
import type { KeySetEvent } from './jwks.js';
import { OFF_THREAD_MAX_IN_FLIGHT } from './jws.js';
import type { ValidatorOptions } from './options.js';
import { createValidator, lookupVerified, type Validator, validateFound } from './validator.js';

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

let clockMs = NOW_SEC * 1000;
const now = () => clockMs;

const keys = {} as Record<AsymmetricAlg, SigningKey>;
let rsaNoAlg: SigningKey;
let ecOther: SigningKey;

/** The same RSA key pair, published and used under another algorithm and kid. */
function asAlg(key: SigningKey, alg: string, kid = `rsa-${alg.toLowerCase()}`): SigningKey {
  return { ...key, alg, kid, publicJwk: { ...key.publicJwk, alg, kid } };
}

beforeAll(() => {
  const rsa = generateSigningKey('RS256', { kid: 'rsa-rs256' });
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const)
    keys[alg] = asAlg(rsa, alg);
  for (const alg of ['ES256', 'ES384', 'ES512', 'EdDSA'] as const) keys[alg] = generateSigningKey(alg);
  rsaNoAlg = {
    ...rsa,
    kid: 'rsa-no-alg',
    publicJwk: { ...rsa.publicJwk, kid: 'rsa-no-alg', alg: undefined },
  };
  delete rsaNoAlg.publicJwk.alg;
  ecOther = generateSigningKey('ES256');
});

beforeEach(() => {
  clockMs = NOW_SEC * 1000;
});

function validatorWith(overrides: Partial<ValidatorOptions> = {}) {
  return createValidator({
    issuer: ISS,
    audience: AUD,
    jwks: jwksOf(...Object.values(keys), rsaNoAlg),
    now,
    ...overrides,
  } as ValidatorOptions);
}

function claims(overrides: Record<string, unknown> = {}) {
  return accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, overrides);
}

async function tokenWith(overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return signToken(keys.ES256, claims(overrides), header);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Validates `token` until the validator caches its verification (the second time: VerifiedCache). */
async function cacheVerified(validator: Validator, token: string): Promise<void> {
  const before = validator.state().tokenCache.entries;
  await validator.validate(token);
  expect(validator.state().tokenCache.entries).toBe(before);
  await validator.validate(token);
  expect(validator.state().tokenCache.entries).toBe(before + 1);
}

/**
 * Holds every thread of libuv's pool: each opens a FIFO for reading, which blocks until a writer
 * opens it. Work queued meanwhile (an off-thread verification) waits until `release()`.
 */
async function occupyThreadPool(): Promise<{ release(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenguard-pool-'));
  const fifos = Array.from({ length: OFF_THREAD_MAX_IN_FLIGHT / 4 }, (_, i) => join(dir, `fifo-${i}`));
  execFileSync('mkfifo', fifos);
  const readers = fifos.map((fifo) => open(fifo, 'r'));
  let released: Promise<void> | undefined;
  const release = async () => {
    for (const fifo of fifos) {
      // A writer that does not block: ENXIO until the reader's open has reached the FIFO.
      for (;;) {
        try {
          closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    for (const reader of await Promise.all(readers)) await reader.close();
    await rm(dir, { recursive: true });
  };
  return {
    release: () => {
      released ??= release();
      return released;
    },
  };
}

async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<TokenGuardError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).code).toBe(code);
    return error as TokenGuardError;
  }
  throw new Error(`expected ${code}, but the token was accepted`);
}

describe('validate: algorithms', () => {
  it.each([
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ] as const)('accepts a %s token from the configured key set', async (alg) => {
    const token = await signToken(keys[alg], claims());
    const auth = await validatorWith().validate(token);
    expect(auth.subject).toBe('user-1');
  });

  it('accepts an HS256 token with the configured secret', async () => {
    const token = await signToken(secretSigningKey(SECRET), claims(), { kid: undefined });
    const auth = await createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now }).validate(token);
    expect(auth.subject).toBe('user-1');
  });

  it('keeps the shared secret (string or bytes) out of validator.options in JSON and util.inspect', async () => {
    for (const secret of [SECRET, new TextEncoder().encode(SECRET)]) {
      const validator = createValidator({ issuer: ISS, audience: AUD, secret, now });
      for (const text of [JSON.stringify(validator.options), inspect(validator.options, { depth: 10 })]) {
        expect(text).not.toContain(SECRET);
        // A byte secret would print as {"0":97,...} in JSON and as Uint8Array(37) [...] in inspect.
        expect(text).not.toMatch(/"0":97|Uint8Array|Buffer/);
      }
      const token = await signToken(secretSigningKey(SECRET), claims(), { kid: undefined });
      expect((await validator.validate(token)).subject).toBe('user-1');
    }
  });

  it('accepts an HS256 token that carries a kid when one secret is configured', async () => {
    const token = await signToken(secretSigningKey(SECRET), claims(), { kid: 'key-2024' });
    await expect(
      createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now }).validate(token),
    ).resolves.toBeDefined();
  });

  it('rejects an HS256 token signed with another secret', async () => {
    const token = await signToken(secretSigningKey('x'.repeat(40)), claims(), { kid: undefined });
    const validator = createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now });
    await rejection(validator.validate(token), 'ERR_SIGNATURE_INVALID');
  });

  it('rejects an algorithm outside the allow-list', async () => {
    const token = await signToken(keys.RS256, claims());
    await rejection(validatorWith({ algorithms: ['ES256'] }).validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
  });

  it('rejects HS256 against a public key set (algorithm confusion)', async () => {
    const pem = keys.RS256.privateKey.export({ type: 'pkcs1', format: 'pem' });
    const token = await signToken(secretSigningKey(pem.toString()), claims(), { kid: keys.RS256.kid });
    await rejection(validatorWith().validate(token), 'ERR_ALGORITHM_NOT_ALLOWED');
  });

  it('rejects alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims())).toString('base64url');
    await rejection(validatorWith().validate(`${header}.${payload}.AAAA`), 'ERR_ALGORITHM_NOT_ALLOWED');
    await rejection(validatorWith().validate(`${header}.${payload}.`), 'ERR_TOKEN_MALFORMED');
  });
});

describe('validate: input forms', () => {
  it('accepts the Bearer header form and the bare token', async () => {
    const token = await tokenWith();
    const validator = validatorWith();
    expect((await validator.validate(`Bearer ${token}`)).token).toBe(token);
    expect((await validator.validate(`bearer ${token}`)).token).toBe(token);
    expect((await validator.validate(token)).token).toBe(token);
  });

  it('rejects with ERR_INTERNAL (500, not a 401) carrying the realm when a callback throws, cached token or not', async () => {
    let broken = false;
    const clock = () => {
      if (broken) throw new Error('clock failure');
      return clockMs;
    };
    const token = await tokenWith();
    const validator = validatorWith({ realm: 'api', now: clock });
    await cacheVerified(validator, token);
    broken = true;
    for (const input of [token, `Bearer ${token}`, await tokenWith({ jti: 'another' })]) {
      const error = await validator.validate(input).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(TokenGuardError);
      expect(error).toMatchObject({ code: 'ERR_INTERNAL', status: 500, oauthError: undefined, realm: 'api' });
      expect((error as TokenGuardError).cause).toMatchObject({ message: 'clock failure' });
      expect((error as TokenGuardError).headers['www-authenticate']).toBeUndefined();
    }
  });

  it('fails closed (ERR_INTERNAL) when the clock answers no finite number: an expired token never passes', async () => {
    for (const answer of [Number.NaN, Number.POSITIVE_INFINITY, undefined, '1700000000000']) {
      let ms: unknown = clockMs;
      const validator = validatorWith({ now: () => ms as number });
      const token = await tokenWith({ exp: Math.floor(clockMs / 1000) - 3600 });
      const cached = await tokenWith({ jti: `cached-${String(answer)}` });
      await cacheVerified(validator, cached);
      ms = answer;
      for (const input of [token, cached]) {
        const error = await rejection(validator.validate(input), 'ERR_INTERNAL');
        expect(error.status).toBe(500);
        expect((error.cause as Error).message).toContain('"now" option answered');
      }
    }
  });

  it('rejects no token with ERR_TOKEN_MISSING and a bare challenge', async () => {
    const validator = validatorWith({ realm: 'api' });
    for (const input of [undefined, null, '', '   ']) {
      const error = await rejection(validator.validate(input), 'ERR_TOKEN_MISSING');
      expect(error.status).toBe(401);
      expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
    }
  });

  it('holds a header value to the b64token grammar before anything else, for every kind of token', async () => {
    const validator = validatorWith({ realm: 'api' });
    const token = await tokenWith();
    await cacheVerified(validator, token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // Outside the grammar (a cached token, a fresh one, longer than a token, opaque): a 400 with the realm.
    for (const credentials of [
      `${token},x`,
      `"${token}"`,
      `${token}=a`,
      `${header}.${payload}.${signature.slice(0, -1)}\u0141`,
      `${'x'.repeat(8192)},`,
      'opaque,value',
    ]) {
      const error = await rejection(validator.validate(`Bearer ${credentials}`), 'ERR_INVALID_REQUEST');
      expect(error.status).toBe(400);
      expect(error.realm).toBe('api');
    }
    // Within the grammar: what the bare token gets.
    for (const credentials of [
      `${token}=`,
      `${header}.${payload}.${signature.slice(0, -2)}+/`,
      'x'.repeat(9000),
      'opaque',
    ]) {
      const bare = (await validator.validate(credentials).catch((e: unknown) => e)) as TokenGuardError;
      const viaHeader = (await validator
        .validate(`Bearer ${credentials}`)
        .catch((e: unknown) => e)) as TokenGuardError;
      expect(bare).toBeInstanceOf(TokenGuardError);
      expect(viaHeader.code).toBe(bare.code);
    }
    expect((await validator.validate(`Bearer ${token}`)).subject).toBe('user-1');
    expect((await validator.validate(`Bearer ${await tokenWith({ sub: 'fresh' })}`)).subject).toBe('fresh');
  });

  it('rejects Bearer with no token as invalid_request', async () => {
    const error = await rejection(validatorWith().validate('Bearer '), 'ERR_INVALID_REQUEST');
    expect(error.status).toBe(400);
  });

  it('rejects a header of another scheme as ERR_TOKEN_MISSING', async () => {
    await rejection(validatorWith().validate('Basic dXNlcjpwYXNz'), 'ERR_TOKEN_MISSING');
  });

  it('rejects something that is not a JWT when no introspection is configured', async () => {
    const error = await rejection(validatorWith().validate('opaque-token-value'), 'ERR_TOKEN_NOT_JWT');
    expect(error.status).toBe(401);
  });

  it('rejects a token longer than maxTokenLength', async () => {
    const token = await tokenWith({ padding: 'x'.repeat(300) });
    await rejection(validatorWith({ maxTokenLength: 256 }).validate(token), 'ERR_TOKEN_TOO_LARGE');
    await rejection(validatorWith().validate(`${'a'.repeat(8193)}.b.c`), 'ERR_TOKEN_TOO_LARGE');
  });

  it('accepts a token exactly maxTokenLength long', async () => {
    const token = await tokenWith();
    await expect(validatorWith({ maxTokenLength: token.length }).validate(token)).resolves.toBeDefined();
  });
});

describe('validate: AuthInfo', () => {
  it('fills every field from the verified claims', async () => {
    const token = await tokenWith({ aud: [AUD, 'https://other.example'], scope: 'read  write' });
    const auth = await validatorWith().validate(token);
    expect(auth.subject).toBe('user-1');
    expect(auth.clientId).toBe('client-1');
    expect(auth.issuer).toBe(ISS);
    expect(auth.audience).toEqual([AUD, 'https://other.example']);
    expect([...auth.scopes].sort()).toEqual(['read', 'write']);
    expect(auth.scopes).toBeInstanceOf(Set);
    expect(auth.expiresAt).toEqual(new Date((NOW_SEC + 300) * 1000));
    expect(auth.source).toBe('jwt');
    expect(auth.claims.jti).toMatch(/^jti-/);
    expect(auth.token).toBe(token);
  });

  it('gives a single audience as a list', async () => {
    expect((await validatorWith().validate(await tokenWith())).audience).toEqual([AUD]);
  });

  it('falls back to azp for the client id', async () => {
    const auth = await validatorWith().validate(await tokenWith({ client_id: undefined, azp: 'azp-client' }));
    expect(auth.clientId).toBe('azp-client');
  });

  it('reads scopes from an scp array and from scope and scp together', async () => {
    const scp = await validatorWith().validate(await tokenWith({ scp: ['a', 'b'] }));
    expect([...scp.scopes].sort()).toEqual(['a', 'b']);
    const both = await validatorWith().validate(await tokenWith({ scope: 'a c', scp: ['b'] }));
    expect([...both.scopes].sort()).toEqual(['a', 'b', 'c']);
  });

  it('gives an empty scope set when the token has none', async () => {
    expect((await validatorWith().validate(await tokenWith())).scopes.size).toBe(0);
  });

  it('keeps the token out of JSON.stringify and util.inspect', async () => {
    const token = await tokenWith({ scope: 'read' });
    const auth = await validatorWith().validate(token);
    const signature = token.split('.')[2] as string;
    expect(JSON.stringify(auth)).not.toContain(signature);
    expect(inspect(auth, { depth: 10, showHidden: true, getters: false })).not.toContain(signature);
    expect(Object.keys(auth)).not.toContain('token');
    expect(JSON.parse(JSON.stringify(auth)).subject).toBe('user-1');
  });

  it('prints every field with util.inspect', async () => {
    const auth = await validatorWith().validate(await tokenWith({ scope: 'read' }));
    const printed = inspect(auth, { depth: 10 });
    for (const part of ['user-1', 'client-1', ISS, AUD, "'read'", 'jwt']) expect(printed).toContain(part);
    expect(printed).toContain(new Date((NOW_SEC + 300) * 1000).toISOString());
  });

  it('keeps every field but the token as an own property, so a copy or structuredClone keeps them', async () => {
    const auth = await validatorWith().validate(await tokenWith({ scope: 'read' }));
    const copy = { ...auth };
    expect(copy).toMatchObject({ subject: 'user-1', clientId: 'client-1', issuer: ISS, source: 'jwt' });
    expect([...copy.scopes]).toEqual(['read']);
    expect(copy.expiresAt).toEqual(auth.expiresAt);
    expect(copy).not.toHaveProperty('token');
    expect(structuredClone(copy).subject).toBe('user-1');
  });
});

describe('validate: cache of verified tokens', () => {
  it('never answers a token with the verification of another that ends the same way', async () => {
    const validator = validatorWith();
    const token = await tokenWith({ scope: 'read' });
    await cacheVerified(validator, token);
    // Same signature (so the same last characters), other claims: a forgery the cache must not vouch for.
    const [header, , signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${b64(claims({ sub: 'admin', scope: 'admin' }))}.${signature}`;
    await rejection(validator.validate(forged), 'ERR_SIGNATURE_INVALID');
    // The genuine token is still answered, from the cache or afresh.
    expect((await validator.validate(token)).subject).toBe('user-1');
  });

  it('answers a repeated token with the promise made when it was cached, and only while the entry may be used', async () => {
    const validator = validatorWith();
    const token = await tokenWith({ scope: 'read' });
    await cacheVerified(validator, token);
    const first = validator.validate(token);
    expect(validator.validate(token)).toBe(first);
    const auth = await first;
    expect(auth.subject).toBe('user-1');
    // With requirements, the cached verification is checked against them: a promise of its own.
    const required = validator.validate(token, { scopes: ['read'] });
    expect(required).not.toBe(first);
    expect(await required).toBe(auth);
    await rejection(validator.validate(token, { scopes: ['write'] }), 'ERR_INSUFFICIENT_SCOPE');
    // Past the token's expiry the entry is dropped and the token is judged afresh.
    clockMs = (NOW_SEC + 300 + 5) * 1000;
    await rejection(validator.validate(token), 'ERR_TOKEN_EXPIRED');
    expect(validator.state().tokenCache.entries).toBe(0);
  });

  it("gives the entry's promise to the bare token only: a header, a failing clock or no cache answer with their own", async () => {
    let broken = false;
    const validator = validatorWith({
      now: () => {
        if (broken) throw new Error('clock failure');
        return clockMs;
      },
      realm: 'api',
    });
    const token = await tokenWith();
    await cacheVerified(validator, token);
    const shared = validator.validate(token);
    const auth = await shared;
    // A header holding the cached token: its credentials are answered from the cache, in a promise of their own.
    const viaHeader = validator.validate(`Bearer ${token}`);
    expect(viaHeader).not.toBe(shared);
    expect(await viaHeader).toBe(auth);
    // A clock failing on a hit: a rejection of its own (ERR_INTERNAL, realm), the entry kept as it was.
    broken = true;
    const failed = validator.validate(token);
    expect(failed).not.toBe(shared);
    expect(await rejection(failed, 'ERR_INTERNAL')).toMatchObject({ status: 500, realm: 'api' });
    broken = false;
    expect(validator.validate(token)).toBe(shared);
    expect(validator.state().tokenCache.entries).toBe(1);
    // Without a cache of verified tokens, every call makes its own promise.
    const uncached = validatorWith({ tokenCache: false });
    const first = uncached.validate(token);
    const second = uncached.validate(token);
    expect(second).not.toBe(first);
    expect((await first).subject).toBe((await second).subject);
  });

  it('answers nothing else that ends like a cached token (the cache is indexed by the end, matched whole)', async () => {
    const validator = validatorWith();
    const token = await tokenWith();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    await cacheVerified(validator, token);
    await rejection(validator.validate(signature.slice(-32)), 'ERR_TOKEN_NOT_JWT');
    await rejection(
      validator.validate(`${header}.${payload}.x${signature.slice(-32)}`),
      'ERR_TOKEN_MALFORMED',
    );
    await rejection(validator.validate(`${header}.${payload}.${signature}x`), 'ERR_TOKEN_MALFORMED');
    expect((await validator.validate(token)).subject).toBe('user-1');
  });
});

describe('validate: verifyOffThread', () => {
  /** Whether `promise` settles while only microtasks run (no turn of the event loop). */
  async function settlesInMicrotasks(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    const done = promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (let i = 0; i < 100; i++) await Promise.resolve();
    const early = settled;
    await done;
    return early;
  }

  it.each(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const)(
    'accepts a %s token verified off the event loop, with the AuthInfo the inline path gives',
    async (alg) => {
      const token = await signToken(keys[alg], claims({ scope: 'orders:read profile' }));
      const offThread = await validatorWith({ verifyOffThread: true }).validate(token);
      const inline = await validatorWith().validate(token);
      expect(offThread.subject).toBe('user-1');
      expect([...offThread.scopes]).toEqual(['orders:read', 'profile']);
      expect({ ...offThread, scopes: [...offThread.scopes] }).toEqual({
        ...inline,
        scopes: [...inline.scopes],
      });
    },
  );

  it('refuses a forged signature, then checks the claims of a genuine one', async () => {
    const validator = validatorWith({ verifyOffThread: true });
    const [header, , signature] = (await tokenWith()).split('.') as [string, string, string];
    await rejection(
      validator.validate(`${header}.${b64(claims({ sub: 'admin' }))}.${signature}`),
      'ERR_SIGNATURE_INVALID',
    );
    await rejection(
      validator.validate(await signToken({ ...ecOther, kid: keys.ES256.kid }, claims())),
      'ERR_SIGNATURE_INVALID',
    );
    await rejection(validator.validate(await tokenWith({ exp: NOW_SEC - 3600 })), 'ERR_TOKEN_EXPIRED');
  });

  it('leaves the event loop for a fresh token only; a cached one and an HS256 one settle at once', async () => {
    const validator = validatorWith({ verifyOffThread: true });
    const token = await tokenWith();
    expect(await settlesInMicrotasks(validator.validate(token))).toBe(false);
    expect(await settlesInMicrotasks(validator.validate(token))).toBe(false);
    // Verified twice: cached, answered without the thread pool.
    expect(await settlesInMicrotasks(validator.validate(token))).toBe(true);
    // The default verifies inline: a fresh token settles in microtasks.
    expect(await settlesInMicrotasks(validatorWith().validate(await tokenWith({ sub: 'other' })))).toBe(true);
    const hmac = createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now, verifyOffThread: true });
    const hs256 = await signToken(secretSigningKey(SECRET), claims());
    expect(await settlesInMicrotasks(hmac.validate(hs256))).toBe(true);
  });

  it('answers many fresh tokens in flight at once, each with its own claims', async () => {
    const validator = validatorWith({ verifyOffThread: true });
    const tokens = await Promise.all(
      Array.from({ length: 16 }, (_, i) => signToken(keys.RS256, claims({ sub: `user-${i}` }))),
    );
    const results = await Promise.all(tokens.map((token) => validator.validate(token)));
    expect(results.map((auth) => auth.subject)).toEqual(tokens.map((_, i) => `user-${i}`));
  });
});

describe('validate: time', () => {
  it('accepts a token until exp + tolerance and rejects it from then on', async () => {
    const token = await tokenWith();
    const exp = NOW_SEC + 300;
    clockMs = (exp + 5 - 1) * 1000;
    await expect(validatorWith().validate(token)).resolves.toBeDefined();
    clockMs = (exp + 5) * 1000;
    const error = await rejection(validatorWith().validate(token), 'ERR_TOKEN_EXPIRED');
    expect(error.status).toBe(401);
    expect(error.wwwAuthenticate).toContain('error="invalid_token"');
  });

  it('stops answering from its cache once the token expires', async () => {
    const token = await tokenWith();
    const validator = validatorWith();
    await cacheVerified(validator, token);
    clockMs = (NOW_SEC + 300 + 5) * 1000;
    await rejection(validator.validate(token), 'ERR_TOKEN_EXPIRED');
  });

  it('honours clockToleranceSec 0', async () => {
    const token = await tokenWith();
    clockMs = (NOW_SEC + 300) * 1000;
    await rejection(validatorWith({ clockToleranceSec: 0 }).validate(token), 'ERR_TOKEN_EXPIRED');
  });

  it('rejects an exp no Date can hold, so AuthInfo stays serialisable', async () => {
    await rejection(validatorWith().validate(await tokenWith({ exp: 1e13 })), 'ERR_CLAIM_INVALID');
    const auth = await validatorWith().validate(await tokenWith({ exp: 8.64e12 }));
    expect(() => JSON.stringify(auth)).not.toThrow();
  });

  it('rejects a token without exp, or with a non-numeric exp', async () => {
    await rejection(validatorWith().validate(await tokenWith({ exp: undefined })), 'ERR_CLAIM_MISSING');
    await rejection(
      validatorWith().validate(await tokenWith({ exp: String(NOW_SEC + 300) })),
      'ERR_CLAIM_INVALID',
    );
  });

  it('rejects a token before nbf - tolerance and accepts it from then on', async () => {
    await rejection(
      validatorWith().validate(await tokenWith({ nbf: NOW_SEC + 6 })),
      'ERR_TOKEN_NOT_YET_VALID',
    );
    await expect(validatorWith().validate(await tokenWith({ nbf: NOW_SEC + 5 }))).resolves.toBeDefined();
  });

  it('rejects a token issued in the future', async () => {
    const error = await rejection(
      validatorWith().validate(await tokenWith({ iat: NOW_SEC + 60 })),
      'ERR_TOKEN_NOT_YET_VALID',
    );
    expect(error.message).toMatch(/issued in the future/);
  });

  it('rejects a token older than maxTokenAgeSec', async () => {
    const token = await tokenWith({ iat: NOW_SEC - 120 });
    await rejection(validatorWith({ maxTokenAgeSec: 60 }).validate(token), 'ERR_TOKEN_TOO_OLD');
    await expect(validatorWith({ maxTokenAgeSec: 200 }).validate(token)).resolves.toBeDefined();
  });

  it('stops answering from its cache once the token is too old', async () => {
    const token = await tokenWith();
    const validator = validatorWith({ maxTokenAgeSec: 60 });
    await cacheVerified(validator, token);
    clockMs = (NOW_SEC + 66) * 1000;
    await rejection(validator.validate(token), 'ERR_TOKEN_TOO_OLD');
  });

  it('requires iat when maxTokenAgeSec is set', async () => {
    const token = await tokenWith({ iat: undefined });
    await rejection(validatorWith({ maxTokenAgeSec: 60 }).validate(token), 'ERR_CLAIM_MISSING');
    await expect(validatorWith().validate(token)).resolves.toBeDefined();
  });
});

describe('validate: claims', () => {
  it('rejects a token that lacks a requiredClaims entry, naming it', async () => {
    const error = await rejection(
      validatorWith({ requiredClaims: ['jti', 'tenant_id'] }).validate(await tokenWith()),
      'ERR_CLAIM_MISSING',
    );
    expect(error.claim).toBe('tenant_id');
    await expect(
      validatorWith({ requiredClaims: ['jti', 'tenant_id'] }).validate(await tokenWith({ tenant_id: 't1' })),
    ).resolves.toBeDefined();
  });

  it('rejects when validateClaims returns false', async () => {
    const validator = validatorWith({ validateClaims: (c) => c.sub === 'someone-else' });
    await rejection(validator.validate(await tokenWith()), 'ERR_CLAIM_INVALID');
  });

  it('rejects when validateClaims throws, without echoing its message', async () => {
    const validator = validatorWith({
      validateClaims: () => {
        throw new Error('internal detail');
      },
    });
    const error = await rejection(validator.validate(await tokenWith()), 'ERR_CLAIM_INVALID');
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('internal detail');
  });

  it('rejects when an async validateClaims resolves to false, and accepts when it resolves true', async () => {
    const seen: unknown[] = [];
    const validator = validatorWith({
      validateClaims: async (c, context) => {
        seen.push(context.issuer, context.header.alg);
        return c.scope === 'ok';
      },
    });
    await rejection(validator.validate(await tokenWith({ scope: 'no' })), 'ERR_CLAIM_INVALID');
    await expect(validator.validate(await tokenWith({ scope: 'ok' }))).resolves.toBeDefined();
    expect(seen).toEqual([ISS, 'ES256', ISS, 'ES256']);
  });

  it('passes a TokenGuardError thrown by validateClaims through unchanged', async () => {
    const own = new TokenGuardError('ERR_CLAIM_INVALID', { message: 'The token is not for this region' });
    const validator = validatorWith({
      validateClaims: () => {
        throw own;
      },
    });
    expect(await rejection(validator.validate(await tokenWith()), 'ERR_CLAIM_INVALID')).toBe(own);
  });

  it('rejects a sub, client_id or jti that is not a string', async () => {
    await rejection(validatorWith().validate(await tokenWith({ sub: 42 })), 'ERR_CLAIM_INVALID');
    await rejection(validatorWith().validate(await tokenWith({ client_id: ['a'] })), 'ERR_CLAIM_INVALID');
  });
});

describe('validate: typ', () => {
  it.each(['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+Jwt'])('accepts typ %s', async (typ) => {
    await expect(validatorWith().validate(await tokenWith({}, { typ }))).resolves.toBeDefined();
  });

  it('rejects typ JWT by default', async () => {
    await rejection(validatorWith().validate(await tokenWith({}, { typ: 'JWT' })), 'ERR_TYPE_MISMATCH');
  });

  it('accepts typ JWT when configured', async () => {
    const validator = validatorWith({ typ: ['at+jwt', 'JWT'] });
    await expect(validator.validate(await tokenWith({}, { typ: 'JWT' }))).resolves.toBeDefined();
    await expect(validator.validate(await tokenWith({}, { typ: 'at+jwt' }))).resolves.toBeDefined();
    await rejection(validator.validate(await tokenWith({}, { typ: 'id+jwt' })), 'ERR_TYPE_MISMATCH');
  });

  it('rejects a missing typ unless allowMissingTyp', async () => {
    const token = await tokenWith({}, { typ: undefined });
    await rejection(validatorWith().validate(token), 'ERR_TYPE_MISMATCH');
    await expect(validatorWith({ allowMissingTyp: true }).validate(token)).resolves.toBeDefined();
  });

  it('rejects a typ that is not a string', async () => {
    await rejection(validatorWith().validate(await tokenWith({}, { typ: 1 })), 'ERR_TYPE_MISMATCH');
  });
});

describe('validate: issuer and audience', () => {
  it('rejects another issuer', async () => {
    const error = await rejection(
      validatorWith().validate(await tokenWith({ iss: 'https://evil.example' })),
      'ERR_ISSUER_MISMATCH',
    );
    expect(error.status).toBe(401);
    await rejection(validatorWith().validate(await tokenWith({ iss: `${ISS}/` })), 'ERR_ISSUER_MISMATCH');
  });

  it('rejects a token without iss', async () => {
    await rejection(validatorWith().validate(await tokenWith({ iss: undefined })), 'ERR_CLAIM_MISSING');
  });

  it('rejects another audience', async () => {
    await rejection(
      validatorWith().validate(await tokenWith({ aud: 'https://other.example' })),
      'ERR_AUDIENCE_MISMATCH',
    );
    await rejection(
      validatorWith().validate(await tokenWith({ aud: ['https://a.example', 'https://b.example'] })),
      'ERR_AUDIENCE_MISMATCH',
    );
  });

  it('rejects a token without aud, or with a malformed aud', async () => {
    await rejection(validatorWith().validate(await tokenWith({ aud: undefined })), 'ERR_CLAIM_MISSING');
    await rejection(validatorWith().validate(await tokenWith({ aud: [AUD, 3] })), 'ERR_CLAIM_INVALID');
  });

  it('accepts a token whose aud list contains this API', async () => {
    await expect(
      validatorWith().validate(await tokenWith({ aud: ['https://x.example', AUD] })),
    ).resolves.toBeDefined();
  });

  it('accepts any of several configured audiences', async () => {
    const validator = validatorWith({ audience: ['https://x.example', AUD] });
    await expect(validator.validate(await tokenWith())).resolves.toBeDefined();
    await rejection(
      validator.validate(await tokenWith({ aud: 'https://y.example' })),
      'ERR_AUDIENCE_MISMATCH',
    );
  });

  it('skips the audience check when audience is null', async () => {
    const validator = validatorWith({ audience: null });
    await expect(
      validator.validate(await tokenWith({ aud: 'https://anything.example' })),
    ).resolves.toBeDefined();
    await expect(validator.validate(await tokenWith({ aud: undefined }))).resolves.toBeDefined();
  });
});

describe('validate: signature and keys', () => {
  it('rejects a flipped signature', async () => {
    const token = await signToken(keys.RS256, claims());
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] as number) ^ 1;
    await rejection(
      validatorWith().validate(`${h}.${p}.${sig.toString('base64url')}`),
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('rejects a tampered payload', async () => {
    const token = await tokenWith({ scope: 'read' });
    const [h, , s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify(claims({ scope: 'read admin' }))).toString('base64url');
    await rejection(validatorWith().validate(`${h}.${forged}.${s}`), 'ERR_SIGNATURE_INVALID');
  });

  it("rejects a token signed by another key under a known key's kid", async () => {
    const token = await signToken({ ...ecOther, kid: keys.ES256.kid }, claims());
    await rejection(validatorWith().validate(token), 'ERR_SIGNATURE_INVALID');
  });

  it('rejects an unknown kid', async () => {
    const token = await signToken(ecOther, claims());
    const error = await rejection(validatorWith().validate(token), 'ERR_KEY_NOT_FOUND');
    expect(error.status).toBe(401);
  });

  it('rejects an RSA key named in an ES256 header', async () => {
    const token = await signToken({ ...ecOther, kid: rsaNoAlg.kid }, claims());
    await rejection(validatorWith().validate(token), 'ERR_KEY_NOT_FOUND');
  });

  it("rejects a key whose JWK alg is not the token's alg", async () => {
    // keys.RS512's JWK says RS512; the same RSA key signs RS256 under that kid.
    const token = await signToken({ ...keys.RS256, kid: keys.RS512.kid }, claims());
    await rejection(validatorWith().validate(token), 'ERR_KEY_NOT_FOUND');
  });

  it('rejects an EC key of another curve', async () => {
    const p384 = { ...keys.ES384, publicJwk: { ...keys.ES384.publicJwk, alg: undefined } };
    delete p384.publicJwk.alg;
    const token = await signToken({ ...ecOther, kid: p384.kid }, claims());
    await rejection(validatorWith({ jwks: jwksOf(p384) }).validate(token), 'ERR_KEY_NOT_FOUND');
  });

  it('never uses a key marked use: enc, or whose key_ops lack verify', async () => {
    const events: KeySetEvent[] = [];
    const enc = { ...keys.ES256, publicJwk: { ...keys.ES256.publicJwk, use: 'enc' } };
    const validator = validatorWith({ jwks: jwksOf(enc), onEvent: (event) => events.push(event) });
    await rejection(validator.validate(await tokenWith()), 'ERR_KEY_NOT_FOUND');
    expect(events).toContainEqual(expect.objectContaining({ type: 'key_skipped', kid: keys.ES256.kid }));
    const ops = {
      ...keys.ES256,
      publicJwk: { ...keys.ES256.publicJwk, use: undefined, key_ops: ['encrypt'] },
    };
    delete ops.publicJwk.use;
    await rejection(validatorWith({ jwks: jwksOf(ops) }).validate(await tokenWith()), 'ERR_KEY_NOT_FOUND');
  });

  it('accepts a token without kid when a key of the right type fits', async () => {
    await expect(validatorWith().validate(await tokenWith({}, { kid: undefined }))).resolves.toBeDefined();
  });

  it('never takes the key from the token (jwk header)', async () => {
    const token = await signToken(ecOther, claims(), { kid: 'attacker', jwk: ecOther.publicJwk });
    await rejection(validatorWith().validate(token), 'ERR_KEY_NOT_FOUND');
  });

  it('never fetches jku or x5u', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(ecOther)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      const token = await signToken(ecOther, claims(), { jku: url, x5u: url });
      await rejection(validatorWith().validate(token), 'ERR_KEY_NOT_FOUND');
      expect(hits).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects unknown crit parameters', async () => {
    // jose refuses to sign with an unknown crit, so this token is signed with node:crypto directly.
    const header = { alg: 'ES256', kid: keys.ES256.kid, typ: 'at+jwt', crit: ['x-policy'], 'x-policy': 1 };
    const input = `${b64(header)}.${b64(claims())}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: keys.ES256.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const token = `${input}.${signature.toString('base64url')}`;
    await rejection(validatorWith().validate(token), 'ERR_TOKEN_MALFORMED');
    // The same token without crit verifies, so the rejection is about crit alone.
    const plain = `${b64({ ...header, crit: undefined })}.${b64(claims())}`;
    const plainSig = sign('sha256', Buffer.from(plain), {
      key: keys.ES256.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    await expect(
      validatorWith().validate(`${plain}.${plainSig.toString('base64url')}`),
    ).resolves.toBeDefined();
  });
});

describe('validate: requirements', () => {
  it('rejects a missing scope with 403 insufficient_scope naming it', async () => {
    const token = await tokenWith({ scope: 'read' });
    const error = await rejection(
      validatorWith({ realm: 'api' }).validate(token, { scopes: ['read', 'write'] }),
      'ERR_INSUFFICIENT_SCOPE',
    );
    expect(error.status).toBe(403);
    expect(error.oauthError).toBe('insufficient_scope');
    expect(error.message).toContain('write');
    expect(error.wwwAuthenticate).toMatch(
      /^Bearer realm="api", error="insufficient_scope", .*scope="read write"$/,
    );
  });

  it('accepts when every required scope is present, from scope or scp', async () => {
    const validator = validatorWith();
    await expect(
      validator.validate(await tokenWith({ scope: 'read write' }), { scopes: ['read', 'write'] }),
    ).resolves.toBeDefined();
    await expect(
      validator.validate(await tokenWith({ scp: ['write'] }), { scopes: ['write'] }),
    ).resolves.toBeDefined();
  });

  it('check() applies requirements to a verified token, with the realm', async () => {
    const validator = validatorWith({ realm: 'orders' });
    const auth = await validator.validate(await tokenWith({ scope: 'read' }));
    expect(() => validator.check(auth, { scopes: ['read'] })).not.toThrow();
    try {
      validator.check(auth, { scopes: ['write'] });
      throw new Error('passed');
    } catch (error) {
      expect((error as TokenGuardError).code).toBe('ERR_INSUFFICIENT_SCOPE');
      expect((error as TokenGuardError).wwwAuthenticate).toMatch(
        /^Bearer realm="orders", error="insufficient_scope"/,
      );
    }
  });

  it('checks requirements on a cached token too', async () => {
    const token = await tokenWith({ scope: 'read' });
    const validator = validatorWith();
    await cacheVerified(validator, token);
    await validator.validate(token, { scopes: ['read'] });
    await rejection(validator.validate(token, { scopes: ['write'] }), 'ERR_INSUFFICIENT_SCOPE');
  });
});

describe('validate: remote key set', () => {
  let server: Server;
  let jwksUri: string;
  let body = '';
  let status = 200;
  let fetches = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    body = JSON.stringify(jwksOf(keys.ES256, keys.RS256));
    status = 200;
    fetches = 0;
  });

  it('accepts a token verified with keys fetched from jwksUri, fetching once', async () => {
    const validator = validatorWith({ jwks: undefined, jwksUri });
    try {
      await validator.validate(`Bearer ${await tokenWith()}`);
      await validator.validate(await signToken(keys.RS256, claims()));
      expect(fetches).toBe(1);
    } finally {
      await validator.close();
    }
  });

  it.skipIf(process.platform === 'win32')(
    'does not cache a verification that was on the thread pool while a key left the set (verifyOffThread)',
    async () => {
      const events: KeySetEvent[] = [];
      const validator = validatorWith({
        jwks: undefined,
        jwksUri,
        verifyOffThread: true,
        onEvent: (event) => events.push(event),
      });
      try {
        await validator.warm();
        // Signed before the pool is held: signing uses it too.
        const token = await tokenWith({ sub: 'straddles' });
        const pool = await occupyThreadPool();
        // Released even when the test fails or times out: later tests need the pool.
        onTestFinished(() => pool.release());
        let settled = false;
        const pending = validator.validate(token).finally(() => {
          settled = true;
        });
        // The ES256 verification waits for a thread; meanwhile the RSA key leaves the set.
        body = JSON.stringify(jwksOf(keys.ES256));
        await validator.refreshKeys();
        expect(events).toContainEqual(expect.objectContaining({ type: 'key_removed', kid: keys.RS256.kid }));
        expect(settled).toBe(false);
        await pool.release();
        // Verified with a key still in the set: accepted, but not remembered, not even as seen once.
        expect((await pending).subject).toBe('straddles');
        await cacheVerified(validator, token);
      } finally {
        await validator.close();
      }
    },
  );

  it('does not cache a found token verified in the phase batch while a key left the set', async () => {
    const token = await tokenWith({ sub: 'straddles' });
    let refreshing = false;
    let found: Promise<unknown> | undefined;
    let settled = false;
    const validator = validatorWith({
      jwks: undefined,
      jwksUri,
      // The refreshed set is in place; its removals are announced next, in the same turn.
      onEvent: (event) => {
        if (!refreshing || event.type !== 'fetched' || found !== undefined) return;
        found = validateFound(validator, token, undefined, false).finally(() => {
          settled = true;
        });
      },
    });
    try {
      await validator.warm();
      body = JSON.stringify(jwksOf(keys.ES256));
      refreshing = true;
      await validator.refreshKeys();
      expect(found).toBeDefined();
      expect(settled).toBe(false); // still waiting for the end of the phase: it straddles the removal
      expect(await found).toMatchObject({ subject: 'straddles' });
      // Verified with a key still in the set: accepted, but not remembered, not even as seen once.
      await cacheVerified(validator, token);
    } finally {
      await validator.close();
    }
  });

  it('does not give a found token the verdict of a copy asked for with keys since replaced', async () => {
    const token = await tokenWith({ sub: 'rotated' });
    // The issuer replaces the key under the same kid (the old one is compromised, say).
    const replacement: SigningKey = {
      ...ecOther,
      kid: keys.ES256.kid,
      publicJwk: { ...ecOther.publicJwk, kid: keys.ES256.kid },
    };
    let refreshing = false;
    let before: Promise<unknown> | undefined;
    let after: Promise<unknown> | undefined;
    const validator = validatorWith({
      jwks: undefined,
      jwksUri,
      onEvent: (event) => {
        if (!refreshing) return;
        // Read while parsing the new set: the old set is still in place. The first copy is asked for.
        if (event.type === 'key_skipped' && before === undefined) {
          before = validateFound(validator, token, undefined, false);
        }
        // The new set is in place and the old key announced gone: a second copy, same phase.
        if (event.type === 'key_removed' && after === undefined) {
          after = validateFound(validator, token, undefined, false);
        }
      },
    });
    try {
      await validator.warm();
      body = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'refused' }, ...jwksOf(replacement).keys] });
      refreshing = true;
      await validator.refreshKeys();
      expect(before).toBeDefined();
      expect(after).toBeDefined();
      // The first copy was verified with the key in the set when it was asked for (as before).
      expect(await before).toMatchObject({ subject: 'rotated' });
      // The second has only the replacement: refused, as validate refuses it now, and never cached.
      await rejection(after as Promise<unknown>, 'ERR_SIGNATURE_INVALID');
      await rejection(validator.validate(token), 'ERR_SIGNATURE_INVALID');
      expect(validator.state().tokenCache.entries).toBe(0);
    } finally {
      await validator.close();
    }
  });

  it('answers 503 with Retry-After and no challenge when the key set cannot be had', async () => {
    status = 500;
    body = 'oops';
    const validator = validatorWith({ jwks: undefined, jwksUri, realm: 'api' });
    try {
      const error = await rejection(validator.validate(await tokenWith()), 'ERR_KEYS_UNAVAILABLE');
      expect(error.status).toBe(503);
      expect(error.wwwAuthenticate).toBeUndefined();
      expect(error.headers['www-authenticate']).toBeUndefined();
      expect(Number(error.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(error.toJSON().error).toBe('temporarily_unavailable');
    } finally {
      await validator.close();
    }
  });

  it('answers 503 when the key set host refuses connections', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const validator = validatorWith({ jwks: undefined, jwksUri: `http://127.0.0.1:${port}/jwks` });
    try {
      const error = await rejection(validator.validate(await tokenWith()), 'ERR_KEYS_UNAVAILABLE');
      expect(error.status).toBe(503);
    } finally {
      await validator.close();
    }
  });
});

describe('errors never contain the token', () => {
  it('keeps the token out of message, description, toString, JSON, challenge and inspect', async () => {
    const validator = validatorWith({ realm: 'api', maxTokenAgeSec: 600 });
    const cases: [Promise<string>, ErrorCode][] = [
      [tokenWith({ exp: NOW_SEC - 100 }), 'ERR_TOKEN_EXPIRED'],
      [tokenWith({ aud: 'https://other.example' }), 'ERR_AUDIENCE_MISMATCH'],
      [tokenWith({ iss: 'https://evil.example' }), 'ERR_ISSUER_MISMATCH'],
      [tokenWith({}, { typ: 'JWT' }), 'ERR_TYPE_MISMATCH'],
      [signToken(ecOther, claims()), 'ERR_KEY_NOT_FOUND'],
      [tokenWith({ nbf: NOW_SEC + 100 }), 'ERR_TOKEN_NOT_YET_VALID'],
      [tokenWith({ iat: NOW_SEC - 1000 }), 'ERR_TOKEN_TOO_OLD'],
      [tokenWith({ sub: 7 }), 'ERR_CLAIM_INVALID'],
      [tokenWith({ scope: 'read' }), 'ERR_INSUFFICIENT_SCOPE'],
      [signToken({ ...ecOther, kid: keys.ES256.kid }, claims()), 'ERR_SIGNATURE_INVALID'],
      [Promise.resolve('eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJl'), 'ERR_TOKEN_MALFORMED'],
    ];
    for (const [pending, code] of cases) {
      const token = await pending;
      for (const input of [token, `Bearer ${token}`]) {
        const error = await rejection(validator.validate(input, { scopes: ['write'] }), code);
        const parts = token.split('.');
        const texts = [
          error.message,
          error.description,
          error.toString(),
          JSON.stringify(error),
          JSON.stringify(error.toJSON()),
          error.wwwAuthenticate ?? '',
          inspect(error, { depth: 5 }),
        ];
        for (const text of texts) {
          expect(text, code).not.toContain(token);
          for (const part of parts.slice(1)) expect(text, code).not.toContain(part);
        }
      }
    }
  });
});

describe('lookupVerified (internal)', () => {
  const hsOptions = (extra: Partial<ValidatorOptions> = {}): ValidatorOptions =>
    ({
      issuer: ISS,
      audience: AUD,
      secret: SECRET,
      now: () => NOW_SEC * 1000,
      realm: 'r',
      ...extra,
    }) as ValidatorOptions;
  const hsToken = () =>
    signToken(secretSigningKey(SECRET), accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }));

  it('answers exactly a token the cache holds, without verifying anything', async () => {
    const validator = createValidator(hsOptions());
    const token = await hsToken();
    const auth = await validator.validate(token);
    expect(lookupVerified(validator, token)).toBe(false); // seen once: not stored yet
    await validator.validate(token);
    expect((lookupVerified(validator, token) || undefined)?.subject).toBe(auth.subject);
    expect(lookupVerified(validator, `${token}x`)).toBe(false);
    expect(lookupVerified(validator, `Bearer ${token}`)).toBe(false);
    expect(lookupVerified(validator, 'not a token at all!')).toBe(false);
    expect(lookupVerified(createValidator(hsOptions()), token)).toBe(false);
  });

  it('holds nothing with the cache off, and nothing past a token expiry', async () => {
    const off = createValidator(hsOptions({ tokenCache: false }));
    const token = await hsToken();
    await off.validate(token);
    await off.validate(token);
    expect(lookupVerified(off, token)).toBeUndefined();
    let nowMs = NOW_SEC * 1000;
    const validator = createValidator(hsOptions({ now: () => nowMs }));
    await validator.validate(token);
    await validator.validate(token);
    nowMs += 3_600_000;
    expect(lookupVerified(validator, token)).toBe(false);
  });

  it('throws what validate rejects with when the clock fails: ERR_INTERNAL with the realm', async () => {
    let fail = false;
    const validator = createValidator(
      hsOptions({
        now: () => {
          if (fail) throw new Error('clock');
          return NOW_SEC * 1000;
        },
      }),
    );
    const token = await hsToken();
    await validator.validate(token);
    await validator.validate(token);
    fail = true;
    const error = (() => {
      try {
        lookupVerified(validator, token);
      } catch (e) {
        return e;
      }
    })() as TokenGuardError;
    expect(error.code).toBe('ERR_INTERNAL');
    expect(error.realm).toBe('r');
  });
});

describe('tokens found in a request (validateFound, internal): verified at the end of the phase', () => {
  /** Records when each promise settles, and when an immediate queued after the asking runs. */
  function recordSettling(entries: Record<string, Promise<unknown>>): {
    order: string[];
    done: Promise<unknown>;
  } {
    const order: string[] = [];
    const settled = Promise.allSettled(
      Object.entries(entries).map(([name, promise]) =>
        promise.then(
          () => order.push(name),
          (error: TokenGuardError) => order.push(`${name}: ${error.code}`),
        ),
      ),
    );
    const immediate = new Promise((resolve) =>
      setImmediate(() => resolve(order.push('an immediate queued after them'))),
    );
    return { order, done: Promise.all([settled, immediate]) };
  }

  function tampered(token: string): string {
    const at = token.lastIndexOf('.') + 5;
    return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  }

  it.each(['RS256', 'PS256', 'ES256', 'EdDSA'] as const)(
    '%s: found tokens are verified together once the phase ends, each with its own verdict; validate() does not wait',
    async (alg) => {
      const validator = validatorWith();
      const [first, second, third, direct] = await Promise.all(
        ['first', 'second', 'third', 'direct'].map((sub) => signToken(keys[alg], claims({ sub }))),
      );
      const found = (token: string) => validateFound(validator, token, undefined, false);
      const answers = {
        first: found(first as string),
        tampered: found(tampered(second as string)),
        third: found(third as string),
        direct: validator.validate(direct as string),
      };
      const { order, done } = recordSettling(answers);
      await done;
      expect((await answers.first).subject).toBe('first');
      expect((await answers.third).subject).toBe('third');
      expect(order).toEqual([
        'direct',
        'first',
        'tampered: ERR_SIGNATURE_INVALID',
        'third',
        'an immediate queued after them',
      ]);
    },
  );

  it('HMAC, the cache and verifyOffThread do not wait for the phase', async () => {
    const hs = createValidator({ issuer: ISS, audience: AUD, secret: SECRET, now });
    const hsToken = await signToken(secretSigningKey(SECRET), claims());
    const cachedValidator = validatorWith();
    const cached = await signToken(keys.RS256, claims({ sub: 'cached' }));
    await cacheVerified(cachedValidator, cached);
    const offThread = validatorWith({ verifyOffThread: true });
    const { order, done } = recordSettling({
      hmac: validateFound(hs, hsToken, undefined, false),
      cached: validateFound(cachedValidator, cached, undefined, false),
      batched: validateFound(validatorWith(), await signToken(keys.RS256, claims()), undefined, false),
    });
    await done;
    expect(order).toEqual(['hmac', 'cached', 'batched', 'an immediate queued after them']);
    // Off the thread: on libuv's pool, as before (its answer comes after a poll, not in this phase).
    await expect(
      validateFound(offThread, await signToken(keys.ES256, claims()), undefined, false),
    ).resolves.toMatchObject({ source: 'jwt' });
  });

  it("the route's requirements are applied to each found token once it is verified", async () => {
    const validator = validatorWith();
    const token = await signToken(keys.RS256, claims({ scope: 'orders:read' }));
    const other = await signToken(keys.RS256, claims({ scope: 'orders:read' }));
    const [allowed, refused] = await Promise.allSettled([
      validateFound(validator, token, { scopes: ['orders:read'] }, false),
      validateFound(validator, other, { scopes: ['orders:write'] }, false),
    ]);
    expect(allowed.status).toBe('fulfilled');
    expect(refused.status === 'rejected' && (refused.reason as TokenGuardError).code).toBe(
      'ERR_INSUFFICIENT_SCOPE',
    );
  });

  it.skipIf(process.platform === 'win32')(
    'verifyOffThread: a found token waits for a thread of the pool, not for the phase',
    async () => {
      const validator = validatorWith({ verifyOffThread: true });
      // Signed before the pool is held: signing uses it too.
      const token = await signToken(keys.ES256, claims({ sub: 'off-thread' }));
      const pool = await occupyThreadPool();
      onTestFinished(() => pool.release());
      let settled = false;
      const answer = validateFound(validator, token, undefined, false).finally(() => {
        settled = true;
      });
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      await pool.release();
      expect((await answer).subject).toBe('off-thread');
    },
  );

  it('rejects each bad token as validate() does: same code, message, status, challenge and realm', async () => {
    const options = { realm: 'api', algorithms: ['RS256', 'ES256', 'EdDSA'] } as Partial<ValidatorOptions>;
    const bad: Record<string, string> = {
      expired: await signToken(keys.RS256, claims({ exp: NOW_SEC - 3600 })),
      'not yet valid': await signToken(keys.ES256, claims({ nbf: NOW_SEC + 3600 })),
      'another audience': await signToken(keys.EdDSA, claims({ aud: 'https://other.example' })),
      'another issuer': await signToken(keys.RS256, claims({ iss: 'https://other.example' })),
      'a bad signature': tampered(await signToken(keys.ES256, claims())),
      'a bad signature and expired': tampered(await signToken(keys.RS256, claims({ exp: NOW_SEC - 3600 }))),
      'an algorithm not allowed': await signToken(keys.PS256, claims()),
      'an unknown kid': await signToken({ ...ecOther, kid: 'unknown' }, claims()),
    };
    const outcome = (answer: Promise<unknown>) =>
      answer.then(
        () => 'accepted',
        (error: TokenGuardError) => ({
          type: error.constructor.name,
          code: error.code,
          message: error.message,
          status: error.status,
          challenge: error.wwwAuthenticate,
          realm: error.realm,
        }),
      );
    for (const [name, token] of Object.entries(bad)) {
      // Two validators: neither answer comes from a cache the other filled.
      const found = await outcome(validateFound(validatorWith(options), token, undefined, false));
      const direct = await outcome(validatorWith(options).validate(token));
      expect(found, name).toEqual(direct);
      expect(found, name).toMatchObject({ realm: 'api' });
    }
    const scoped = await signToken(keys.ES256, claims({ scope: 'orders:read' }));
    const requirements = { scopes: ['orders:write'] };
    expect(await outcome(validateFound(validatorWith(options), scoped, requirements, false))).toEqual(
      await outcome(validatorWith(options).validate(scoped, requirements)),
    );
  });
});
