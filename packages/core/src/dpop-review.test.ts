import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DpopProofRequest, dpopProof, dpopProofClaims, proofJwk } from '../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import type { ValidatorOptions } from './options.js';
import { type AuthenticateOptions, authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * Adversarial review of DPoP (RFC 9449) as core does it (helper-86): ways to get a request accepted
 * that must be refused, or a crash for client input. Each test states what must hold.
 *
 * Failing when written, for the owners of the files named (fixes proposed to the lead):
 * - introspection.ts / validator.ts: with introspection.jwt 'always', the answer's cnf is never
 *   checked (deferBinding left confirmJwt without checkBinding): a JWT the issuer calls bound passes
 *   as Bearer, and an answer binding another key passes a DPoP request.
 * - bearer.ts: `Basic x, DPoP y` (two Authorization headers joined by fetch Headers) is read as the
 *   first one's scheme, anonymous on an optional route, where `Basic x, Bearer y` is a 400.
 * - transport.ts: a non-TokenGuardError thrown on the DPoP path (a throwing clock) escapes bare,
 *   where the Bearer path makes it a 500 ERR_INTERNAL.
 */

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const ORIGIN = 'https://api.test';
const NOW_SEC = 1_700_000_000;

let issuerKey: SigningKey;
let client: SigningKey;
let clientJkt: string;
let otherJkt: string;
const validators: Validator[] = [];

beforeAll(async () => {
  issuerKey = generateSigningKey('ES256', { kid: 'as-1' });
  client = generateSigningKey('ES256');
  clientJkt = await calculateJwkThumbprint(proofJwk(client), 'sha256');
  otherJkt = await calculateJwkThumbprint(proofJwk(generateSigningKey('ES256')), 'sha256');
});

afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
});

function makeValidator(extra: Partial<ValidatorOptions> = {}, clock = { nowMs: NOW_SEC * 1000 }): Validator {
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [issuerKey.publicJwk] },
    realm: 'api',
    now: () => clock.nowMs,
    dpop: { algorithms: ['ES256', 'RS256', 'EdDSA'] },
    ...extra,
  } as ValidatorOptions);
  validators.push(validator);
  return validator;
}

/** An access token by the issuer's key (scope orders:read); `jkt` binds it, undefined leaves it unbound. */
function accessToken(jkt: string | undefined): Promise<string> {
  const overrides = {
    scope: 'orders:read',
    exp: NOW_SEC + 600,
    cnf: jkt === undefined ? undefined : { jkt },
  };
  return signToken(issuerKey, accessTokenClaims({ iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC }, overrides));
}

/** The proof of GET https://api.test/orders at NOW_SEC (a fresh jti each). */
const PROOF = { htm: 'GET', htu: `${ORIGIN}/orders`, iat: NOW_SEC };

/** A proof of PROOF for `token` by `key` (default: the client), with changes (undefined removes). */
function makeProof(
  token: string,
  { key = client, ...changes }: Partial<DpopProofRequest> & { key?: SigningKey } = {},
): Promise<string> {
  return dpopProof(key, { ...PROOF, token, ...changes });
}

function dpopSource(token: string, proof: string, changes: Partial<TokenSource> = {}): TokenSource {
  return {
    method: 'GET',
    url: '/orders',
    origin: ORIGIN,
    headers: { authorization: `DPoP ${token}`, dpop: proof },
    ...changes,
  };
}

const bearerSource = (token: string): TokenSource => ({
  method: 'GET',
  url: '/orders',
  origin: ORIGIN,
  headers: { authorization: `Bearer ${token}` },
});

async function refusalOf(
  validator: Validator,
  source: TokenSource,
  options?: AuthenticateOptions,
): Promise<unknown> {
  try {
    await authenticateRequest(validator, source, options);
  } catch (error) {
    return error;
  }
  throw new Error('the request was accepted');
}

async function codeOf(validator: Validator, source: TokenSource, options?: AuthenticateOptions) {
  const error = await refusalOf(validator, source, options);
  expect(error).toBeInstanceOf(TokenGuardError);
  return (error as TokenGuardError).code;
}

describe('DPoP review: introspection.jwt always (introspection.ts confirmJwt)', () => {
  let server: Server;
  let endpoint: string;
  let answer: Record<string, unknown> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ active: true, iss: ISSUER, aud: AUDIENCE, ...answer }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const alwaysValidator = () =>
    makeValidator({
      introspection: { endpoint, clientId: 'api', clientSecret: 'secret-secret', jwt: 'always' },
    } as Partial<ValidatorOptions>);

  // At 0eb6fe9 the answer's cnf was checked with its claims (ERR_TOKEN_BOUND); deferBinding left
  // confirmJwt without any binding check.
  it('refuses as Bearer a JWT whose introspection answer says it is bound (cnf)', async () => {
    answer = { cnf: { jkt: clientJkt } };
    const validator = alwaysValidator();
    const token = await accessToken(undefined);
    expect(await codeOf(validator, bearerSource(token))).toBe('ERR_TOKEN_BOUND');
  });

  it("refuses a DPoP request whose introspection answer binds the JWT to another key than the proof's", async () => {
    answer = { cnf: { jkt: otherJkt } };
    const validator = alwaysValidator();
    const token = await accessToken(clientJkt);
    expect(await codeOf(validator, dpopSource(token, await makeProof(token)))).toBe(
      'ERR_DPOP_BINDING_MISMATCH',
    );
  });

  it('accepts a DPoP request whose introspection answer carries the same cnf.jkt', async () => {
    answer = { cnf: { jkt: clientJkt } };
    const validator = alwaysValidator();
    const token = await accessToken(clientJkt);
    const { auth } = await authenticateRequest(validator, dpopSource(token, await makeProof(token)));
    expect(auth?.subject).toBe('user-1');
  });
});

describe('DPoP review: the Authorization header', () => {
  // RFC 9110 §11.6.2: Authorization is not a list; fetch Headers join two with ", ". For Bearer that
  // is a 400 (hasJoinedBearer), never the first one's scheme (anonymous on an optional route).
  it('refuses `Basic x, DPoP <token>` (two Authorization headers joined) on an optional route', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const headers = new Headers();
    headers.append('authorization', 'Basic dXNlcjpwdw==');
    headers.append('authorization', `DPoP ${token}`);
    headers.set('dpop', await makeProof(token));
    const source: TokenSource = { method: 'GET', url: `${ORIGIN}/orders`, headers };
    expect(await codeOf(validator, source, { optional: true })).toBe('ERR_INVALID_REQUEST');
  });

  it('reads the DPoP scheme in any case, several spaces; refuses a tab after it (400)', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    for (const scheme of ['dpop ', 'DPOP ', 'DpOp   ']) {
      const source = dpopSource(token, await makeProof(token), {
        headers: { authorization: `${scheme}${token}`, dpop: await makeProof(token) },
      });
      expect((await authenticateRequest(validator, source)).auth?.subject).toBe('user-1');
    }
    const tab = dpopSource(token, '', {
      headers: { authorization: `DPoP\t${token}`, dpop: await makeProof(token) },
    });
    expect(await codeOf(validator, tab, { optional: true })).toBe('ERR_INVALID_REQUEST');
  });

  it('refuses `Bearer x, DPoP y` and `DPoP x, Bearer y` joined values with 400', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    for (const authorization of [`Bearer ${token}, DPoP ${token}`, `DPoP ${token}, Bearer ${token}`]) {
      const source = dpopSource(token, proof, { headers: { authorization, dpop: proof } });
      expect(await codeOf(validator, source, { optional: true })).toBe('ERR_INVALID_REQUEST');
    }
  });
});

describe('DPoP review: the DPoP header', () => {
  it('counts DPoP, dpop and Dpop in rawHeaders as one header name; an empty DPoP is a proof error', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    const raw = ['Authorization', `DPoP ${token}`, 'Dpop', proof, 'DPOP', proof];
    expect(await codeOf(validator, dpopSource(token, proof, { rawHeaders: raw }))).toBe(
      'ERR_DPOP_PROOF_INVALID',
    );
    const empty = ['Authorization', `DPoP ${token}`, 'DPoP', ''];
    expect(await codeOf(validator, dpopSource(token, proof, { rawHeaders: empty }))).toBe(
      'ERR_DPOP_PROOF_INVALID',
    );
    expect(await codeOf(validator, dpopSource(token, '   '))).toBe('ERR_DPOP_PROOF_INVALID');
  });
});

describe('DPoP review: caches never turn a bound token into a bearer one', () => {
  it('refuses the Bearer copy of a bound token verified in the same phase as its DPoP request', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    // Same tick: the phase batch shares one signature verdict between the two.
    const [dpop, bearer, bearer2] = await Promise.allSettled([
      authenticateRequest(validator, dpopSource(token, proof)),
      authenticateRequest(validator, bearerSource(token)),
      authenticateRequest(validator, bearerSource(token)),
    ]);
    expect(dpop.status).toBe('fulfilled');
    for (const result of [bearer, bearer2]) {
      expect(result.status).toBe('rejected');
      expect(((result as PromiseRejectedResult).reason as TokenGuardError).code).toBe('ERR_TOKEN_BOUND');
    }
    expect(await codeOf(validator, bearerSource(token))).toBe('ERR_TOKEN_BOUND');
    await expect(validator.validate(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_BOUND' });
  });

  it('with acceptBoundTokens, still checks every DPoP request against its own proof key', async () => {
    const validator = makeValidator({ acceptBoundTokens: true });
    const token = await accessToken(clientJkt);
    await authenticateRequest(validator, dpopSource(token, await makeProof(token)));
    // Now cached: a proof by another key (its own jkt) must still be refused.
    const intruder = generateSigningKey('ES256');
    const proof = await makeProof(token, { key: intruder });
    expect(await codeOf(validator, dpopSource(token, proof))).toBe('ERR_DPOP_BINDING_MISMATCH');
  });
});

describe('DPoP review: replay', () => {
  it('refuses a replay whose ECDSA signature was made malleable (s -> n - s): same header and payload', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    await authenticateRequest(validator, dpopSource(token, proof));
    const [h, p, s] = proof.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const sValue = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const flipped = Buffer.from((n - sValue).toString(16).padStart(64, '0'), 'hex');
    const malleated = `${h}.${p}.${Buffer.concat([sig.subarray(0, 32), flipped]).toString('base64url')}`;
    expect(await codeOf(validator, dpopSource(token, malleated))).toBe('ERR_DPOP_PROOF_INVALID');
  });

  it('refuses a replay after the clock went backwards (the now option)', async () => {
    const clock = { nowMs: NOW_SEC * 1000 + 30_000 };
    const validator = makeValidator({}, clock);
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    await authenticateRequest(validator, dpopSource(token, proof));
    clock.nowMs = NOW_SEC * 1000 - 2_000;
    expect(await codeOf(validator, dpopSource(token, proof))).toBe('ERR_DPOP_PROOF_INVALID');
  });

  it('refuses a replay while a validateClaims callback of the first use is still running', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const validator = makeValidator({ validateClaims: () => gate.then(() => true) });
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    const first = authenticateRequest(validator, dpopSource(token, proof));
    const second = authenticateRequest(validator, dpopSource(token, proof));
    release();
    const results = await Promise.allSettled([first, second]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });
});

describe('DPoP review: htu and htm', () => {
  it('refuses htm in another case, and htu tricks naming another path', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const htus = [
      'https://api.test/orders/',
      'https://api.test/Orders',
      'https://api.test/orders%2F',
      'https://user@api.test/orders',
      'https://api.test.evil/orders',
      'https://api.test:8443/orders',
      'http://api.test/orders',
      'https://api.test/orders/..',
      'https://xn--api-test/orders',
      'https://[::1]/orders',
      '*',
    ];
    expect(
      await codeOf(validator, dpopSource(token, await makeProof(token, { claims: { htm: 'get' } }))),
    ).toBe('ERR_DPOP_PROOF_INVALID');
    for (const htu of htus) {
      const proof = await makeProof(token, { claims: { htu } });
      expect(await codeOf(validator, dpopSource(token, proof))).toBe('ERR_DPOP_PROOF_INVALID');
    }
  });

  it('accepts what RFC 3986 §6.2.2 makes the same URI: trailing ? and #, %7E, dot segments', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    for (const htu of [
      'https://api.test/orders?',
      'https://api.test/orders#',
      'https://api.test/x/../orders',
    ]) {
      const proof = await makeProof(token, { claims: { htu } });
      expect((await authenticateRequest(validator, dpopSource(token, proof))).auth?.subject).toBe('user-1');
    }
  });

  it('on an IPv6 literal origin, compares the host as the URL parser writes it', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token, { claims: { htu: 'https://[0:0::1]/orders' } });
    const source = dpopSource(token, proof, { origin: 'https://[::1]' });
    expect((await authenticateRequest(validator, source)).auth?.subject).toBe('user-1');
  });
});

describe('DPoP review: the jwk', () => {
  it('gives the same thumbprint with extra jwk members (kid, alg, use, x5c): accepted', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const jwk = { ...proofJwk(client), kid: 'k', alg: 'ES256', use: 'sig', x5c: ['AAAA'] } as JWK;
    const proof = await makeProof(token, { header: { jwk } });
    expect((await authenticateRequest(validator, dpopSource(token, proof))).auth?.subject).toBe('user-1');
  });

  it('refuses an EC point not on the curve, a kty that does not fit alg, and a jwk alg of another kind', async () => {
    const validator = makeValidator();
    const token = await accessToken(clientJkt);
    const jwk = proofJwk(client);
    const y = Buffer.from(jwk.y as string, 'base64url');
    y[31] = (y[31] as number) ^ 1;
    const offCurve = { ...jwk, y: y.toString('base64url') } as JWK;
    const rsa = generateSigningKey('RS256');
    for (const proof of [
      await makeProof(token, { header: { jwk: offCurve } }),
      await makeProof(token, { header: { jwk: { ...jwk, kty: 'RSA' } } }),
      await makeProof(token, { header: { jwk: { ...jwk, alg: 'ES384' } } }),
      await makeProof(token, { key: rsa, header: { alg: 'PS256' } }),
    ]) {
      expect(await codeOf(validator, dpopSource(token, proof))).toBe('ERR_DPOP_PROOF_INVALID');
    }
  });

  it('accepts an Ed448 key under EdDSA, bound by its own thumbprint', async () => {
    const validator = makeValidator();
    const pair = generateKeyPairSync('ed448', {
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const jwk = createPublicKey(pair.publicKey).export({ format: 'jwk' }) as JWK;
    const token = await accessToken(await calculateJwkThumbprint(jwk, 'sha256'));
    // Signed by hand: jose signs EdDSA with Ed25519 keys only.
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ typ: 'dpop+jwt', alg: 'EdDSA', jwk })}.${encode(dpopProofClaims({ ...PROOF, token }))}`;
    const signature = sign(null, Buffer.from(input), createPrivateKey(pair.privateKey));
    const proof = `${input}.${signature.toString('base64url')}`;
    expect((await authenticateRequest(validator, dpopSource(token, proof))).auth?.subject).toBe('user-1');
  });
});

describe('DPoP review: errors for client input are TokenGuardErrors', () => {
  it('answers a DPoP request with a 500 ERR_INTERNAL, as a Bearer one, when the clock breaks', async () => {
    let broken = false;
    const validator = createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [issuerKey.publicJwk] },
      dpop: true,
      now: () => (broken ? Number.NaN : NOW_SEC * 1000),
    });
    validators.push(validator);
    const token = await accessToken(clientJkt);
    const proof = await makeProof(token);
    broken = true;
    const bearer = await refusalOf(validator, bearerSource(await accessToken(undefined)));
    expect((bearer as TokenGuardError).code).toBe('ERR_INTERNAL');
    const dpop = await refusalOf(validator, dpopSource(token, proof));
    expect(dpop).toBeInstanceOf(TokenGuardError);
    expect((dpop as TokenGuardError).code).toBe('ERR_INTERNAL');
  });
});
