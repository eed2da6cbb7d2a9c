import { createSecretKey, sign } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DpopProofRequest, dpopProof, dpopProofClaims, proofJwk } from '../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import type { DpopOptions, ValidatorOptions } from './options.js';
import { type AuthenticateOptions, authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const ORIGIN = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
const ALGS_TEXT = 'ES256 RS256 EdDSA';

let issuerKey: SigningKey;
let client: SigningKey;
let clientJkt: string;
let other: SigningKey;
let otherJkt: string;

beforeAll(async () => {
  issuerKey = generateSigningKey('ES256', { kid: 'as-1' });
  client = generateSigningKey('ES256');
  other = generateSigningKey('ES256');
  clientJkt = await calculateJwkThumbprint(proofJwk(client), 'sha256');
  otherJkt = await calculateJwkThumbprint(proofJwk(other), 'sha256');
});

/** A validator on a clock the test moves (`clock.nowMs`), with DPoP on (`dpop` undefined: off). */
function makeValidator(
  dpop: true | DpopOptions | undefined,
  clock = { nowMs: NOW_SEC * 1000 },
  extra: Partial<ValidatorOptions> = {},
): Validator {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [issuerKey.publicJwk] },
    realm: 'api',
    now: () => clock.nowMs,
    ...(dpop === undefined ? {} : { dpop }),
    ...extra,
  });
}

/** An access token by the issuer's key; `jkt` binds it (`cnf.jkt`), undefined leaves it unbound. */
function accessToken(jkt: string | undefined, claims: Record<string, unknown> = {}): Promise<string> {
  const cnf = jkt === undefined ? undefined : { jkt };
  const overrides = { scope: 'orders:read', exp: NOW_SEC + 600, cnf, ...claims };
  return signToken(issuerKey, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, overrides));
}

/** The proof of `GET https://api.test/orders` at NOW_SEC (a fresh jti each). */
const PROOF = { htm: 'GET', htu: `${ORIGIN}/orders`, iat: NOW_SEC };

/** A proof of PROOF for `token` by `key` (the client's), with changes (undefined removes). */
function makeProof({
  key = client,
  ...changes
}: Partial<DpopProofRequest> & { token: string; key?: SigningKey }): Promise<string> {
  return dpopProof(key, { ...PROOF, ...changes });
}

const encodeJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A GET of /orders?page=2 on ORIGIN with `Authorization: DPoP <token>` and the proof, as an adapter describes it. */
function dpopSource(
  token: string,
  proof: string | undefined,
  changes: Partial<TokenSource> = {},
): TokenSource {
  return {
    method: 'GET',
    url: '/orders?page=2',
    origin: ORIGIN,
    headers: { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof }) },
    ...changes,
  };
}

/** The TokenGuardError a request is refused with (fails the test if it is accepted). */
async function refusalOf(
  validator: Validator,
  source: TokenSource,
  options?: AuthenticateOptions,
): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source, options);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

/** The challenge of an error of a DPoP-scheme request on a validator with DPoP (not required). */
function dpopChallenge(error: string, description: string): string {
  return `Bearer realm="api", DPoP realm="api", error="${error}", error_description="${description}", algs="${ALGS_TEXT}"`;
}

/** Asserts an ERR_DPOP_PROOF_INVALID refusal: 401, invalid_dpop_proof in the DPoP challenge. */
async function expectProofRefused(
  validator: Validator,
  source: TokenSource,
  description: string | RegExp,
): Promise<void> {
  const error = await refusalOf(validator, source);
  expect(error.code).toBe('ERR_DPOP_PROOF_INVALID');
  expect(error.status).toBe(401);
  expect(error.oauthError).toBe('invalid_dpop_proof');
  if (typeof description === 'string') {
    expect(error.description).toBe(description);
  } else {
    expect(error.description).toMatch(description);
  }
  expect(error.wwwAuthenticate).toBe(dpopChallenge('invalid_dpop_proof', error.description));
}

describe('authenticateRequest with DPoP: accepted requests', () => {
  it('accepts a bound token with its proof: GET with a query string, htu without it', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token });
    const { auth, transport } = await authenticateRequest(validator, dpopSource(token, proof));
    expect(transport).toBe('header');
    expect(auth?.subject).toBe('user-1');
    expect(auth?.token).toBe(token);
    expect(auth?.claims.cnf).toEqual({ jkt: clientJkt });
  });

  it('accepts an htu differing only in the case of scheme and host, and the default port', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    for (const htu of [
      'HTTPS://API.TEST/orders',
      'https://Api.Test:443/orders',
      'https://api.test/orders#x',
    ]) {
      const proof = await makeProof({ token, claims: { htu } });
      const { auth } = await authenticateRequest(validator, dpopSource(token, proof));
      expect(auth?.subject).toBe('user-1');
    }
  });

  it('accepts the DPoP scheme in any case, an absolute request URL (fetch runtimes) and a POST', async () => {
    const validator = makeValidator(true);
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token, claims: { htm: 'POST' } });
    const source = dpopSource(token, proof, {
      method: 'POST',
      url: 'https://api.test/orders?page=2',
      origin: undefined,
      headers: { authorization: `dpop ${token}`, dpop: proof },
    });
    expect((await authenticateRequest(validator, source)).auth?.subject).toBe('user-1');
  });
});

describe('authenticateRequest with DPoP: the proof header', () => {
  it('refuses a DPoP-scheme request without a DPoP header, also on an optional route', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const description = 'The request has no DPoP header with the DPoP-bound token';
    await expectProofRefused(validator, dpopSource(token, undefined), description);
    const optional = await refusalOf(validator, dpopSource(token, undefined), { optional: true });
    expect(optional.code).toBe('ERR_DPOP_PROOF_INVALID');
  });

  it('refuses two DPoP headers (rawHeaders) and a comma-joined value (duplicates joined)', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token });
    const description = 'The request has more than one DPoP header';
    const rawHeaders = ['Authorization', `DPoP ${token}`, 'DPoP', proof, 'dpop', proof];
    await expectProofRefused(validator, dpopSource(token, proof, { rawHeaders }), description);
    const joined = dpopSource(token, `${proof}, ${proof}`);
    await expectProofRefused(validator, joined, description);
    // The same proof once in rawHeaders is fine: they are what is counted.
    const once = ['Authorization', `DPoP ${token}`, 'DPoP', proof];
    const { auth } = await authenticateRequest(validator, dpopSource(token, proof, { rawHeaders: once }));
    expect(auth?.subject).toBe('user-1');
  });
});

describe('authenticateRequest with DPoP: proofs refused (RFC 9449 §4.3)', () => {
  const cases: [string, (token: string) => Promise<string>, string | RegExp][] = [
    ['a malformed proof', async () => 'not.a-jws', /^The DPoP proof is not a well-formed JWS: /],
    [
      'typ JWT',
      (token) => makeProof({ token, header: { typ: 'JWT' } }),
      'The DPoP proof typ is not dpop+jwt',
    ],
    [
      'alg none',
      async (token) =>
        `${encodeJson({ typ: 'dpop+jwt', alg: 'none', jwk: proofJwk(client) })}.${encodeJson(dpopProofClaims({ ...PROOF, token }))}.AAAA`,
      `The DPoP proof algorithm is not one of ES256, RS256, EdDSA`,
    ],
    [
      'alg HS256',
      (token) =>
        makeProof({ token, header: { alg: 'HS256' }, signWith: createSecretKey(Buffer.alloc(32, 7)) }),
      'The DPoP proof algorithm is not one of ES256, RS256, EdDSA',
    ],
    [
      'an alg not in dpop.algorithms (ES384)',
      (token) => makeProof({ token, key: generateSigningKey('ES384') }),
      'The DPoP proof algorithm is not one of ES256, RS256, EdDSA',
    ],
    [
      'a private jwk (with d)',
      (token) => makeProof({ token, header: { jwk: { ...proofJwk(client), d: 'AAAA' } } }),
      'The DPoP proof jwk is not a public key',
    ],
    [
      'the jwk of a 1024-bit RSA key',
      async (token) => {
        // jose refuses to sign with a 1024-bit key: signed with node:crypto.
        const weak = generateSigningKey('RS256', { modulusLength: 1024 });
        const input = `${encodeJson({ typ: 'dpop+jwt', alg: 'RS256', jwk: proofJwk(weak) })}.${encodeJson(dpopProofClaims({ ...PROOF, token }))}`;
        return `${input}.${sign('sha256', Buffer.from(input), weak.privateKey).toString('base64url')}`;
      },
      /^The DPoP proof jwk cannot be used: .*2048/,
    ],
    [
      'a signature by another key',
      (token) => makeProof({ token, signWith: other.privateKey }),
      'The DPoP proof signature is invalid',
    ],
    ['no jti', (token) => makeProof({ token, claims: { jti: undefined } }), 'The DPoP proof has no jti'],
    [
      'a jti of 257 characters',
      (token) => makeProof({ token, claims: { jti: 'j'.repeat(257) } }),
      'The DPoP proof has no jti',
    ],
    [
      'htm POST on a GET',
      (token) => makeProof({ token, claims: { htm: 'POST' } }),
      'The DPoP proof htm is not the request method',
    ],
    [
      'an htu of another host',
      (token) => makeProof({ token, claims: { htu: 'https://other.test/orders' } }),
      'The DPoP proof htu is not the request URL',
    ],
    [
      'an htu of another path',
      (token) => makeProof({ token, claims: { htu: `${ORIGIN}/orders/1` } }),
      'The DPoP proof htu is not the request URL',
    ],
    [
      'iat older than maxProofAgeSec and the tolerance',
      (token) => makeProof({ token, claims: { iat: NOW_SEC - 60 - 5 - 1 } }),
      'The DPoP proof is too old',
    ],
    [
      'iat in the future beyond the tolerance',
      (token) => makeProof({ token, claims: { iat: NOW_SEC + 5 + 1 } }),
      'The DPoP proof was issued in the future',
    ],
    [
      'no ath',
      (token) => makeProof({ token, claims: { ath: undefined } }),
      'The DPoP proof ath is not the hash of the access token',
    ],
  ];

  for (const [name, proofOf, description] of cases) {
    it(`refuses ${name}`, async () => {
      const validator = makeValidator({ algorithms: [...ALGS] });
      const token = await accessToken(clientJkt);
      await expectProofRefused(validator, dpopSource(token, await proofOf(token)), description);
    });
  }

  it('refuses the ath of another token', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token: await accessToken(clientJkt) });
    await expectProofRefused(
      validator,
      dpopSource(token, proof),
      'The DPoP proof ath is not the hash of the access token',
    );
  });

  it('judges iat by the validator clock: a proof good now is too old 66 s later', async () => {
    const clock = { nowMs: NOW_SEC * 1000 };
    const validator = makeValidator({ algorithms: [...ALGS] }, clock);
    const token = await accessToken(clientJkt);
    clock.nowMs = (NOW_SEC + 66) * 1000;
    await expectProofRefused(
      validator,
      dpopSource(token, await makeProof({ token })),
      'The DPoP proof is too old',
    );
    // And a proof made 66 s ahead of the clock is in the future.
    clock.nowMs = (NOW_SEC - 66) * 1000;
    await expectProofRefused(
      validator,
      dpopSource(token, await makeProof({ token })),
      'The DPoP proof was issued in the future',
    );
  });
});

describe('authenticateRequest with DPoP: replay (RFC 9449 §11.1)', () => {
  it('refuses the second use of a proof', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token });
    await authenticateRequest(validator, dpopSource(token, proof));
    await expectProofRefused(validator, dpopSource(token, proof), 'The DPoP proof was used before');
  });

  it('accepts one of two requests in flight at once with the same proof', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token });
    const results = await Promise.allSettled([
      authenticateRequest(validator, dpopSource(token, proof)),
      authenticateRequest(validator, dpopSource(token, proof)),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as TokenGuardError).description).toBe('The DPoP proof was used before');
  });

  it('does not spend a proof whose token was refused', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt, { scope: 'orders:read' });
    const proof = await makeProof({ token });
    const refused = await refusalOf(validator, dpopSource(token, proof), {
      requirements: { scopes: ['admin'] },
    });
    expect(refused.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect((await authenticateRequest(validator, dpopSource(token, proof))).auth?.subject).toBe('user-1');
  });
});

describe('authenticateRequest with DPoP: the key binding (RFC 9449 §6, §7.1)', () => {
  it('refuses a token bound to another key: ERR_DPOP_BINDING_MISMATCH, invalid_token, DPoP challenge', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(otherJkt);
    const error = await refusalOf(validator, dpopSource(token, await makeProof({ token })));
    expect(error.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    expect(error.status).toBe(401);
    expect(error.oauthError).toBe('invalid_token');
    expect(error.description).toBe('Invalid DPoP key binding: the token is bound to another key');
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="Invalid DPoP key binding: the token is bound to another key", algs="ES256 RS256 EdDSA"',
    );
  });

  it('refuses an unbound token sent with the DPoP scheme', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(undefined);
    const error = await refusalOf(validator, dpopSource(token, await makeProof({ token })));
    expect(error.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    expect(error.wwwAuthenticate).toBe(
      dpopChallenge(
        'invalid_token',
        'Invalid DPoP key binding: the token is not bound to a DPoP key (no cnf.jkt)',
      ),
    );
  });

  it('refuses a bound token sent as Bearer: ERR_TOKEN_BOUND, with a DPoP algs challenge next to it', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const error = await refusalOf(validator, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(error.code).toBe('ERR_TOKEN_BOUND');
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="api", error="invalid_token", error_description="${error.description}", DPoP realm="api", algs="ES256 RS256 EdDSA"`,
    );
    expect(error.description).toMatch(/bound to a key/);
  });
});

describe('authenticateRequest with DPoP: the verified-token cache', () => {
  it('never stores a DPoP-bound token: Bearer after a good DPoP request is still ERR_TOKEN_BOUND', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    await authenticateRequest(validator, dpopSource(token, await makeProof({ token })));
    const bearer = { method: 'GET', headers: { authorization: `Bearer ${token}` } };
    expect((await refusalOf(validator, bearer)).code).toBe('ERR_TOKEN_BOUND');
    expect((await refusalOf(validator, bearer)).code).toBe('ERR_TOKEN_BOUND');
  });

  it('never answers a DPoP request from the cache: a token cached as Bearer still needs its binding', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] }, undefined, { acceptBoundTokens: true });
    const token = await accessToken(otherJkt);
    const bearer = { method: 'GET', headers: { authorization: `Bearer ${token}` } };
    expect((await authenticateRequest(validator, bearer)).auth?.subject).toBe('user-1');
    const error = await refusalOf(validator, dpopSource(token, await makeProof({ token })));
    expect(error.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    const unbound = await accessToken(undefined);
    await authenticateRequest(validator, { method: 'GET', headers: { authorization: `Bearer ${unbound}` } });
    const second = await refusalOf(validator, dpopSource(unbound, await makeProof({ token: unbound })));
    expect(second.code).toBe('ERR_DPOP_BINDING_MISMATCH');
  });
});

describe('authenticateRequest: a validator without dpop', () => {
  it('takes the DPoP scheme as no credentials; anonymous on an optional route', async () => {
    const validator = makeValidator(undefined);
    const token = await accessToken(clientJkt);
    const source = dpopSource(token, await makeProof({ token }));
    const error = await refusalOf(validator, source);
    expect(error.code).toBe('ERR_TOKEN_MISSING');
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
    expect(await authenticateRequest(validator, source, { optional: true })).toEqual({
      auth: undefined,
      transport: undefined,
    });
  });
});

describe('authenticateRequest with dpop.required', () => {
  const transport = { body: true, query: true };

  it('answers a Bearer token as no credentials: 401, no error code, only a DPoP challenge', async () => {
    const validator = makeValidator({ algorithms: [...ALGS], required: true });
    const token = await accessToken(undefined);
    const error = await refusalOf(validator, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(error.code).toBe('ERR_TOKEN_MISSING');
    expect(error.status).toBe(401);
    expect(error.oauthError).toBeUndefined();
    expect(error.wwwAuthenticate).toBe(`DPoP realm="api", algs="${ALGS_TEXT}"`);
  });

  it('refuses a token in the form body or the query string alike', async () => {
    const validator = makeValidator({ algorithms: [...ALGS], required: true });
    const token = await accessToken(undefined);
    const body: TokenSource = {
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: { access_token: token },
    };
    const query: TokenSource = { method: 'GET', url: `/orders?access_token=${token}`, headers: {} };
    for (const source of [body, query]) {
      const error = await refusalOf(validator, source, { transport });
      expect(error.code).toBe('ERR_TOKEN_MISSING');
      expect(error.wwwAuthenticate).toBe(`DPoP realm="api", algs="${ALGS_TEXT}"`);
    }
  });

  it('still accepts a DPoP request, and puts a proof error in the only (DPoP) challenge', async () => {
    const validator = makeValidator({ algorithms: [...ALGS], required: true });
    const token = await accessToken(clientJkt);
    const { auth } = await authenticateRequest(validator, dpopSource(token, await makeProof({ token })), {
      transport,
    });
    expect(auth?.subject).toBe('user-1');
    const error = await refusalOf(validator, dpopSource(token, undefined));
    expect(error.wwwAuthenticate).toBe(
      `DPoP realm="api", error="invalid_dpop_proof", error_description="The request has no DPoP header with the DPoP-bound token", algs="${ALGS_TEXT}"`,
    );
  });
});

describe('authenticateRequest with dpop.origin', () => {
  it("takes htu on the configured origin, not the request's own origin or Host", async () => {
    const validator = makeValidator({ algorithms: [...ALGS], origin: 'https://public.test' });
    const token = await accessToken(clientJkt);
    const behindProxy = (proof: string): TokenSource =>
      dpopSource(token, proof, {
        origin: 'http://10.0.0.5:8080',
        headers: { authorization: `DPoP ${token}`, dpop: proof, host: 'evil.test' },
      });
    const good = await makeProof({ token, claims: { htu: 'https://public.test/orders' } });
    expect((await authenticateRequest(validator, behindProxy(good))).auth?.subject).toBe('user-1');
    for (const htu of ['http://10.0.0.5:8080/orders', 'https://evil.test/orders']) {
      const proof = await makeProof({ token, claims: { htu } });
      await expectProofRefused(validator, behindProxy(proof), 'The DPoP proof htu is not the request URL');
    }
  });

  it('replaces the origin of an absolute request URL too', async () => {
    const validator = makeValidator({ algorithms: [...ALGS], origin: 'https://public.test' });
    const token = await accessToken(clientJkt);
    const absolute = (proof: string): TokenSource =>
      dpopSource(token, proof, { url: 'http://internal.test/orders?page=2', origin: undefined });
    const good = await makeProof({ token, claims: { htu: 'https://public.test/orders' } });
    expect((await authenticateRequest(validator, absolute(good))).auth?.subject).toBe('user-1');
    const internal = await makeProof({ token, claims: { htu: 'http://internal.test/orders' } });
    await expectProofRefused(validator, absolute(internal), 'The DPoP proof htu is not the request URL');
  });
});

describe('authenticateRequest with DPoP: the request URL', () => {
  it('keeps a path starting with // on the origin (never read as another host)', async () => {
    const validator = makeValidator({ algorithms: [...ALGS] });
    const token = await accessToken(clientJkt);
    const source = (proof: string): TokenSource => dpopSource(token, proof, { url: '//evil.test/orders' });
    const otherHost = await makeProof({ token, claims: { htu: 'https://evil.test/orders' } });
    await expectProofRefused(validator, source(otherHost), 'The DPoP proof htu is not the request URL');
    const onOrigin = await makeProof({ token, claims: { htu: 'https://api.test//evil.test/orders' } });
    expect((await authenticateRequest(validator, source(onOrigin))).auth?.subject).toBe('user-1');
  });

  it('is a 500 ERR_INTERNAL when the adapter gives no method or URL', async () => {
    const validator = makeValidator(true);
    const token = await accessToken(clientJkt);
    const proof = await makeProof({ token });
    // A missing origin is being changed by the lead (a request without Host): not pinned here.
    for (const changes of [{ method: undefined }, { url: undefined }]) {
      const error = await refusalOf(validator, dpopSource(token, proof, changes));
      expect(error.code).toBe('ERR_INTERNAL');
      expect(error.status).toBe(500);
      expect(error.wwwAuthenticate).toBeUndefined();
    }
  });
});

describe('the dpop option', () => {
  function typeErrorOf(dpop: unknown): TypeError {
    try {
      makeValidator(dpop as DpopOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return error as TypeError;
    }
    throw new Error('the option was accepted');
  }

  it('refuses false, a symmetric algorithm, an origin with a path, maxProofAgeSec 0 and an unknown key', () => {
    for (const dpop of [
      false,
      { algorithms: ['HS256'] },
      { algorithms: [] },
      { origin: 'https://a.test/' },
      { origin: 'https://a.test/api' },
      { origin: 'HTTPS://A.test' },
      { maxProofAgeSec: 0 },
      { maxProofAgeSec: 3601 },
      { replayCacheMaxEntries: 0 },
      { nonce: false },
    ]) {
      expect(typeErrorOf(dpop).message).toMatch(/^tokenguard: invalid option "dpop/);
    }
    expect(typeErrorOf({ origin: 'https://a.test/' }).message).toMatch(/"dpop.origin": must be an origin/);
    expect(typeErrorOf({ maxProofAgeSec: 0 }).message).toMatch(/"dpop.maxProofAgeSec"/);
    // dpop.nonce is supported (dpop-nonce.test.ts); `false` is refused as `dpop: false` is.
    expect(typeErrorOf({ nonce: false }).message).toMatch(/"dpop.nonce": must be true or an object/);
  });

  it('resolves true to the defaults, frozen', () => {
    const resolved = makeValidator(true).options.dpop;
    expect(resolved).toMatchObject({ maxProofAgeSec: 60, required: false, origin: undefined });
    expect(resolved?.replayCacheMaxEntries).toBe(100_000);
    expect(resolved?.algorithms).toContain('ES256');
    expect(resolved?.algorithms).not.toContain('HS256');
    expect(makeValidator(undefined).options.dpop).toBeUndefined();
  });

  it('is frozen in validator.options', () => {
    const dpop = makeValidator({ algorithms: ['ES256'], origin: 'https://public.test' }).options.dpop;
    if (dpop === undefined) throw new Error('dpop was not resolved');
    expect(Object.isFrozen(dpop)).toBe(true);
    expect(Object.isFrozen(dpop.algorithms)).toBe(true);
    expect(() => {
      (dpop as { required: boolean }).required = true;
    }).toThrow(TypeError);
    expect(() => {
      (dpop.algorithms as string[]).push('RS256');
    }).toThrow(TypeError);
    expect(dpop.required).toBe(false);
    expect(dpop.algorithms).toEqual(['ES256']);
  });

  it('adds the RFC 9728 dpop_* fields to the resource metadata', () => {
    const resourceMetadata = { resource: AUDIENCE };
    const optional = makeValidator({ algorithms: ['ES256', 'EdDSA'] }, undefined, { resourceMetadata });
    expect(optional.options.resourceMetadata?.document.dpop_signing_alg_values_supported).toEqual([
      'ES256',
      'EdDSA',
    ]);
    expect(optional.options.resourceMetadata?.document).not.toHaveProperty(
      'dpop_bound_access_tokens_required',
    );
    const required = makeValidator({ algorithms: ['ES256'], required: true }, undefined, {
      resourceMetadata,
    });
    const document = JSON.parse(required.options.resourceMetadata?.json ?? '{}');
    expect(document.dpop_signing_alg_values_supported).toEqual(['ES256']);
    expect(document.dpop_bound_access_tokens_required).toBe(true);
    const off = makeValidator(undefined, undefined, { resourceMetadata });
    expect(off.options.resourceMetadata?.document).not.toHaveProperty('dpop_signing_alg_values_supported');
  });
});
