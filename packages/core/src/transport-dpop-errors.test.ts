import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { dpopClient } from '../../../test/support/dpop.js';
import { generateSigningKey } from '../../../test/support/keys.js';
import { createDpopVerifier, type DpopVerifier } from './dpop.js';
import { TokenGuardError } from './errors.js';
import type { ResolvedDpopOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * Errors of DPoP requests found before the proof is looked at (transport.ts, options.ts): a malformed
 * DPoP authorization or a DPoP token sent twice is answered in the DPoP challenge (RFC 9449 §7.1), and
 * a wrong `dpop` setting is named in its TypeError. Found failing by helper-82 (21b77f4), fixed in a61b63b.
 */

const ALGS_TEXT = 'ES256 RS256 EdDSA';

function makeValidator(): Validator {
  return createValidator({
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    jwks: { keys: [generateSigningKey('ES256', { kid: 'as-1' }).publicJwk] },
    realm: 'api',
    dpop: { algorithms: ['ES256', 'RS256', 'EdDSA'] },
  });
}

/** A proof verifier on the real clock that takes `algorithms`. */
function verifierOf(algorithms: ResolvedDpopOptions['algorithms']): DpopVerifier {
  return createDpopVerifier(
    {
      algorithms,
      maxProofAgeSec: 60,
      required: false,
      origin: undefined,
      replayCacheMaxEntries: 10,
      replayStoreTimeoutMs: 1000,
    },
    { now: Date.now, clockToleranceSec: 5 },
  );
}

async function refusalOf(
  validator: Validator,
  source: TokenSource,
  transport = {},
): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source, { transport });
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

describe('RFC 9449 §7.1: the error of a DPoP-scheme request goes in the DPoP challenge (transport.ts)', () => {
  it('puts invalid_request of malformed DPoP credentials in the DPoP challenge, not the Bearer one', async () => {
    const validator = makeValidator();
    for (const authorization of ['DPoP a b', 'DPoP "abc"', 'DPoP']) {
      const error = await refusalOf(validator, {
        method: 'GET',
        url: '/orders',
        origin: 'https://api.test',
        headers: { authorization, dpop: 'x.y.z' },
      });
      expect(error.code).toBe('ERR_INVALID_REQUEST');
      expect(error.wwwAuthenticate).toBe(
        `Bearer realm="api", DPoP realm="api", error="invalid_request", error_description="${error.description}", algs="${ALGS_TEXT}"`,
      );
    }
  });

  it('puts invalid_request of a DPoP token also sent in the query string in the DPoP challenge', async () => {
    const validator = makeValidator();
    const error = await refusalOf(
      validator,
      {
        method: 'GET',
        url: '/orders?access_token=abc',
        origin: 'https://api.test',
        headers: { authorization: 'DPoP abc', dpop: 'x.y.z' },
      },
      { query: true },
    );
    expect(error.code).toBe('ERR_INVALID_REQUEST');
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="api", DPoP realm="api", error="invalid_request", error_description="${error.description}", algs="${ALGS_TEXT}"`,
    );
  });
});

describe('the dpop option names what is wrong (options.ts)', () => {
  it('says a symmetric algorithm in dpop.algorithms is not asymmetric, as its schema means to', () => {
    let message = '';
    try {
      createValidator({
        issuer: 'https://issuer.test',
        audience: 'https://api.test',
        jwks: { keys: [] },
        dpop: { algorithms: ['HS256' as 'ES256'] },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as TypeError).message;
    }
    expect(message).toMatch(/"dpop\.algorithms(\.0)?": HS256 is not an asymmetric algorithm/);
  });
});

describe('a DPoP proof typ as a media type', () => {
  it('takes application/dpop+jwt (RFC 7515 §4.1.9 lets the prefix be left out, not required)', async () => {
    const verifier = verifierOf(['ES256']);
    const client = dpopClient(generateSigningKey('ES256', { kid: 'client' }));
    const token = 'abc.def.ghi';
    const request = { htm: 'GET', htu: 'https://api.test/x', token };
    for (const typ of ['application/dpop+jwt', 'Application/DPoP+JWT']) {
      const proof = await client.proof({ ...request, jti: typ, header: { typ } });
      expect(
        verifier.verify(proof, { method: 'GET', url: 'https://api.test/x', accessToken: token }).jkt,
      ).toMatch(/^[\w-]{43}$/);
    }
    const wrong = await client.proof({ ...request, jti: 'j1', header: { typ: 'application/jwt' } });
    expect(() =>
      verifier.verify(wrong, { method: 'GET', url: 'https://api.test/x', accessToken: token }),
    ).toThrow('typ');
  });
});

describe('a token bound by DPoP and by another method', () => {
  it('is refused with a DPoP proof alone: the other binding (x5t#S256) is not proven', async () => {
    const issuerKey = generateSigningKey('ES256', { kid: 'as-2' });
    const validator = createValidator({
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      jwks: { keys: [issuerKey.publicJwk] },
      dpop: { algorithms: ['ES256'] },
    });
    const client = dpopClient(generateSigningKey('ES256', { kid: 'client-2' }));
    const proofFor = (token: string): Promise<string> =>
      client.proof({ htm: 'GET', htu: 'https://api.test/x', token });
    const jkt = verifierOf(['ES256']).verify(await proofFor('t'), {
      method: 'GET',
      url: 'https://api.test/x',
      accessToken: 't',
    }).jkt;
    const tokenWith = (cnf: Record<string, unknown>): Promise<string> =>
      new SignJWT({ sub: 'u', cnf })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'as-2' })
        .setIssuer('https://issuer.test')
        .setAudience('https://api.test')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(issuerKey.privateKey);
    const request = async (token: string) =>
      authenticateRequest(validator, {
        method: 'GET',
        url: '/x',
        origin: 'https://api.test',
        headers: { authorization: `DPoP ${token}`, dpop: await proofFor(token) },
      });
    const dpopOnly = await tokenWith({ jkt });
    expect((await request(dpopOnly)).auth?.subject).toBe('u');
    const both = await tokenWith({ jkt, 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' });
    const error = await request(both).then(
      () => undefined,
      (refusal: unknown) => refusal as TokenGuardError,
    );
    expect(error?.code).toBe('ERR_DPOP_BINDING_MISMATCH');
    expect(error?.message).toContain('x5t#S256');
  });
});

describe('an RSA proof key larger than 4096 bits', () => {
  it('is refused before it is imported or verified; 4096 bits pass', async () => {
    const verifier = verifierOf(['RS256']);
    const token = 'abc.def.ghi';
    const proofWith = (bits: number): Promise<string> =>
      dpopClient(generateSigningKey('RS256', { kid: `rsa-${bits}`, modulusLength: bits })).proof({
        htm: 'GET',
        htu: 'https://api.test/x',
        token,
        jti: `j${bits}`,
      });
    const request = { method: 'GET', url: 'https://api.test/x', accessToken: token };
    expect(verifier.verify(await proofWith(4096), request).jkt).toMatch(/^[\w-]{43}$/);
    const larger = await proofWith(4160);
    expect(() => verifier.verify(larger, request)).toThrow('longer than 4096 bits');
  });
});

describe('the origin a custom transport passes (transport.ts, for every adapter)', () => {
  it('is refused unless http(s)://host[:port]: a Host with a path would name a request routed elsewhere', async () => {
    const issuerKey = generateSigningKey('ES256', { kid: 'as-3' });
    const validator = createValidator({
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      jwks: { keys: [issuerKey.publicJwk] },
      dpop: { algorithms: ['ES256'] },
    });
    const client = dpopClient(generateSigningKey('ES256', { kid: 'client-3' }));
    const token = await new SignJWT({ sub: 'u', cnf: { jkt: client.jkt } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'as-3' })
      .setIssuer('https://issuer.test')
      .setAudience('https://api.test')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(issuerKey.privateKey);
    const sourceFor = async (origin: string | undefined, url: string): Promise<TokenSource> => ({
      method: 'GET',
      url,
      origin,
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await client.proof({ htm: 'GET', htu: 'https://api.test/me', token }),
      },
    });
    // `Host: api.test/me?` on a request routed to /admin/x reads as https://api.test/me?/admin/x.
    for (const origin of [
      'https://api.test/me?',
      'https://api.test/me#',
      'undefined://api.test',
      'https://',
      undefined,
    ]) {
      const error = await refusalOf(validator, await sourceFor(origin, '/admin/x'));
      expect(error.code).toBe('ERR_DPOP_PROOF_INVALID');
      expect(error.message).toContain('no usable host');
    }
    // Well-formed origins pass the check and are then compared as URLs (case, default port).
    for (const origin of ['https://api.test', 'HTTPS://api.test:443']) {
      expect((await authenticateRequest(validator, await sourceFor(origin, '/me'))).auth?.subject).toBe('u');
    }
    const otherHost = await refusalOf(validator, await sourceFor('https://[::1]:8443', '/me'));
    expect(otherHost.message).toBe('The DPoP proof htu is not the request URL');
  });
});
