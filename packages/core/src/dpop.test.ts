import { createSecretKey, sign } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  athOf,
  type DpopProofRequest,
  dpopProof,
  dpopProofClaims,
  proofJwk,
} from '../../../test/support/dpop.js';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import {
  accessTokenHash,
  createDpopVerifier,
  type DpopRequest,
  type DpopVerifier,
  jwkThumbprint,
  sameTargetUri,
} from './dpop.js';
import { TokenGuardError } from './errors.js';
import type { ResolvedDpopOptions } from './options.js';

const NOW_SEC = 1_700_000_000;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';
const REQUEST: DpopRequest = { method: 'GET', url: 'https://api.test/orders?page=2', accessToken: TOKEN };

const OPTIONS: ResolvedDpopOptions = {
  algorithms: ['ES256', 'RS256', 'EdDSA'],
  maxProofAgeSec: 60,
  required: false,
  origin: undefined,
  replayCacheMaxEntries: 1000,
  replayStoreTimeoutMs: 1000,
};

/** The proof of REQUEST at NOW_SEC (a fresh jti each). */
const PROOF: DpopProofRequest = { htm: 'GET', htu: 'https://api.test/orders', token: TOKEN, iat: NOW_SEC };

let client: SigningKey;
let other: SigningKey;
let rsaClient: SigningKey;

beforeAll(() => {
  client = generateSigningKey('ES256');
  other = generateSigningKey('ES256');
  rsaClient = generateSigningKey('RS256');
});

/** A proof of REQUEST at NOW_SEC by `key` (the client's), with the given changes (undefined removes). */
function makeProof({
  key = client,
  ...changes
}: Partial<DpopProofRequest> & { key?: SigningKey } = {}): Promise<string> {
  return dpopProof(key, { ...PROOF, ...changes });
}

function verifierAt(nowMs: () => number, options: Partial<ResolvedDpopOptions> = {}): DpopVerifier {
  return createDpopVerifier({ ...OPTIONS, ...options }, { now: nowMs, clockToleranceSec: 5 });
}

/** The message of the ERR_DPOP_PROOF_INVALID `fn` throws (fails the test on anything else). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).code).toBe('ERR_DPOP_PROOF_INVALID');
    expect((error as TokenGuardError).status).toBe(401);
    expect((error as TokenGuardError).oauthError).toBe('invalid_dpop_proof');
    return (error as TokenGuardError).message;
  }
  throw new Error('expected ERR_DPOP_PROOF_INVALID, nothing was thrown');
}

describe('createDpopVerifier: a proof that checks out', () => {
  it("returns the RFC 7638 thumbprint of the proof's key (as jose computes it)", async () => {
    const proof = await makeProof();
    const verified = verifierAt(() => NOW_SEC * 1000).verify(proof, REQUEST);
    expect(verified.jkt).toBe(await calculateJwkThumbprint(proofJwk(client), 'sha256'));
  });

  it('accepts an RSA and an Ed25519 key, and typ in any case', async () => {
    const ed = generateSigningKey('EdDSA');
    const verifier = verifierAt(() => NOW_SEC * 1000);
    for (const key of [rsaClient, ed]) {
      const verified = verifier.verify(await makeProof({ key, header: { typ: 'DPoP+JWT' } }), REQUEST);
      expect(verified.jkt).toBe(await calculateJwkThumbprint(proofJwk(key), 'sha256'));
    }
  });

  it('accepts iat at both edges of the window (maxProofAgeSec and clockToleranceSec)', async () => {
    const verifier = verifierAt(() => NOW_SEC * 1000);
    const at = (iat: number): Promise<string> => makeProof({ claims: { iat } });
    expect(verifier.verify(await at(NOW_SEC - 65), REQUEST).jkt).toBeTypeOf('string');
    expect(verifier.verify(await at(NOW_SEC + 5), REQUEST).jkt).toBeTypeOf('string');
    const old = await at(NOW_SEC - 65.001);
    expect(refusal(() => verifier.verify(old, REQUEST))).toBe('The DPoP proof is too old');
    const future = await at(NOW_SEC + 5.001);
    expect(refusal(() => verifier.verify(future, REQUEST))).toBe('The DPoP proof was issued in the future');
  });

  it('is spent once: the second spend of the same proof is refused', async () => {
    const verifier = verifierAt(() => NOW_SEC * 1000);
    const proof = await makeProof();
    verifier.verify(proof, REQUEST).spend();
    const again = verifier.verify(proof, REQUEST);
    expect(refusal(() => again.spend())).toBe('The DPoP proof was used before');
  });

  it('is not spent by verify alone, and another jti of the same key is another proof', async () => {
    const verifier = verifierAt(() => NOW_SEC * 1000);
    const proof = await makeProof({ claims: { jti: 'same' } });
    verifier.verify(proof, REQUEST);
    verifier.verify(proof, REQUEST).spend();
    const otherJti = await makeProof({ claims: { jti: 'other' } });
    expect(() => verifier.verify(otherJti, REQUEST).spend()).not.toThrow();
    // The same jti from another key is that key's own identifier.
    const otherKey = await makeProof({ key: other, claims: { jti: 'same' } });
    expect(() => verifier.verify(otherKey, REQUEST).spend()).not.toThrow();
  });

  it('forgets a spent proof only once it is too old to be accepted anyway', async () => {
    let nowMs = NOW_SEC * 1000;
    const verifier = verifierAt(() => nowMs);
    const proof = await makeProof();
    verifier.verify(proof, REQUEST).spend();
    nowMs = (NOW_SEC + 65) * 1000 - 1;
    const late = verifier.verify(proof, REQUEST);
    expect(refusal(() => late.spend())).toBe('The DPoP proof was used before');
  });
});

describe('createDpopVerifier: refusals (RFC 9449 §4.3)', () => {
  const verify = (proof: string, request: DpopRequest = REQUEST): string =>
    refusal(() => verifierAt(() => NOW_SEC * 1000).verify(proof, request));

  it('refuses what is not a compact JWS, and a proof longer than 8192 characters', async () => {
    expect(verify('not-a-jws')).toMatch(/^The DPoP proof is not a well-formed JWS/);
    expect(verify('a.b.c.d.e')).toMatch(/^The DPoP proof is not a well-formed JWS/);
    const long = await makeProof({ claims: { pad: 'x'.repeat(8200) } });
    expect(verify(long)).toBe('The DPoP proof is longer than 8192 characters');
  });

  it('refuses a typ other than dpop+jwt, or none', async () => {
    expect(verify(await makeProof({ header: { typ: 'JWT' } }))).toBe('The DPoP proof typ is not dpop+jwt');
    expect(verify(await makeProof({ header: { typ: undefined } }))).toBe(
      'The DPoP proof typ is not dpop+jwt',
    );
  });

  it('refuses alg none, a symmetric alg, and an asymmetric alg not in the list', async () => {
    const message = 'The DPoP proof algorithm is not one of ES256, RS256, EdDSA';
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ typ: 'dpop+jwt', alg: 'none', jwk: proofJwk(client) })}.${encode(
      dpopProofClaims({ ...PROOF, jti: 'n' }),
    )}.`;
    expect(verify(unsigned)).toBe(
      'The DPoP proof is not a well-formed JWS: The token signature is missing or not canonical base64url',
    );
    expect(verify(`${unsigned}AAAA`)).toBe(message);
    const hs = await makeProof({ header: { alg: 'HS256' }, signWith: createSecretKey(Buffer.alloc(32, 1)) });
    expect(verify(hs)).toBe(message);
    const es384 = generateSigningKey('ES384');
    expect(verify(await makeProof({ key: es384 }))).toBe(message);
  });

  it('refuses a missing jwk, a private jwk, a symmetric jwk, a weak RSA key and a jwk of another alg', async () => {
    expect(verify(await makeProof({ header: { jwk: undefined } }))).toBe('The DPoP proof has no jwk header');
    expect(verify(await makeProof({ header: { jwk: 'key' } }))).toBe('The DPoP proof has no jwk header');
    const privateJwk = { ...proofJwk(client), d: 'AAAA' };
    expect(verify(await makeProof({ header: { jwk: privateJwk } }))).toBe(
      'The DPoP proof jwk is not a public key',
    );
    // jose will not sign with a 1024-bit key: signed with node:crypto instead.
    const weak = generateSigningKey('RS256', { modulusLength: 1024 });
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ typ: 'dpop+jwt', alg: 'RS256', jwk: proofJwk(weak) })}.${encode(
      dpopProofClaims({ ...PROOF, jti: 'weak' }),
    )}`;
    const weakProof = `${input}.${sign('sha256', Buffer.from(input), weak.privateKey).toString('base64url')}`;
    expect(verify(weakProof)).toMatch(/^The DPoP proof jwk cannot be used: .*2048/);
    // An RSA jwk with an ES256 header: the key cannot make that signature.
    expect(verify(await makeProof({ header: { jwk: proofJwk(rsaClient) } }))).toBe(
      'The DPoP proof jwk does not fit the algorithm ES256',
    );
  });

  it("refuses a signature made by another key than the header's jwk", async () => {
    expect(verify(await makeProof({ signWith: other.privateKey }))).toBe(
      'The DPoP proof signature is invalid',
    );
  });

  it('refuses a missing, empty, non-string or over-long jti (256 characters accepted)', async () => {
    const message = 'The DPoP proof has no jti';
    for (const bad of [undefined, '', 42, 'j'.repeat(257)]) {
      expect(verify(await makeProof({ claims: { jti: bad } }))).toBe(message);
    }
    const longest = await makeProof({ claims: { jti: 'j'.repeat(256) } });
    expect(verifierAt(() => NOW_SEC * 1000).verify(longest, REQUEST).jkt).toBeTypeOf('string');
  });

  it('refuses an htm that is not the request method (exactly)', async () => {
    const message = 'The DPoP proof htm is not the request method';
    expect(verify(await makeProof({ claims: { htm: 'POST' } }))).toBe(message);
    expect(verify(await makeProof({ claims: { htm: 'get' } }))).toBe(message);
    expect(verify(await makeProof({ claims: { htm: undefined } }))).toBe(message);
  });

  it('refuses an htu of another host, path, port or scheme, or no htu', async () => {
    const message = 'The DPoP proof htu is not the request URL';
    for (const htu of [
      'https://evil.test/orders',
      'https://api.test/orders/1',
      'https://api.test:8443/orders',
      'http://api.test/orders',
      'api.test/orders',
      undefined,
    ]) {
      expect(verify(await makeProof({ claims: { htu } }))).toBe(message);
    }
  });

  it('refuses a missing or non-numeric iat', async () => {
    for (const iat of [undefined, '1700000000']) {
      expect(verify(await makeProof({ claims: { iat } }))).toBe('The DPoP proof has no iat');
    }
  });

  it('refuses a missing ath, and the ath of another token', async () => {
    const message = 'The DPoP proof ath is not the hash of the access token';
    expect(verify(await makeProof({ claims: { ath: undefined } }))).toBe(message);
    expect(verify(await makeProof({ claims: { ath: athOf(`${TOKEN}x`) } }))).toBe(message);
  });
});

describe('jwkThumbprint (RFC 7638)', () => {
  it("gives RFC 7638 §3.1's example thumbprint for its RSA key", () => {
    const jwk = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF' +
        'V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9' +
        'c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1' +
        'jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk, 'RSA')).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('takes only the required members of EC and OKP keys, as jose does', async () => {
    const ed = generateSigningKey('EdDSA');
    for (const key of [client, ed]) {
      const withExtras = { ...key.publicJwk, ext: true, key_ops: ['verify'] };
      expect(jwkThumbprint(withExtras, String(key.publicJwk.kty))).toBe(
        await calculateJwkThumbprint(proofJwk(key), 'sha256'),
      );
    }
  });
});

describe('sameTargetUri (RFC 9449 §4.3 step 9)', () => {
  it('ignores the query and fragment of either', () => {
    expect(sameTargetUri('https://api.test/orders', 'https://api.test/orders?page=2')).toBe(true);
    expect(sameTargetUri('https://api.test/orders?x#y', 'https://api.test/orders')).toBe(true);
  });

  it('normalises scheme and host case, the default port and dot segments', () => {
    expect(sameTargetUri('HTTPS://API.Test/orders', 'https://api.test/orders')).toBe(true);
    expect(sameTargetUri('https://api.test:443/orders', 'https://api.test/orders')).toBe(true);
    expect(sameTargetUri('http://api.test:80/orders', 'http://api.test/orders')).toBe(true);
    expect(sameTargetUri('https://api.test/a/../orders', 'https://api.test/orders')).toBe(true);
  });

  it('keeps the path case, another port, scheme or host apart', () => {
    expect(sameTargetUri('https://api.test/Orders', 'https://api.test/orders')).toBe(false);
    expect(sameTargetUri('https://api.test:8443/orders', 'https://api.test/orders')).toBe(false);
    expect(sameTargetUri('http://api.test/orders', 'https://api.test/orders')).toBe(false);
    expect(sameTargetUri('https://api.test.evil/orders', 'https://api.test/orders')).toBe(false);
    expect(sameTargetUri('https://api.test/orders/', 'https://api.test/orders')).toBe(false);
  });

  it('refuses a relative htu, another scheme and user information', () => {
    expect(sameTargetUri('/orders', '/orders')).toBe(false);
    expect(sameTargetUri('ftp://api.test/orders', 'ftp://api.test/orders')).toBe(false);
    expect(sameTargetUri('https://user@api.test/orders', 'https://api.test/orders')).toBe(false);
    expect(sameTargetUri('https://user@api.test/orders', 'https://user@api.test/orders')).toBe(false);
  });
});

describe('accessTokenHash (RFC 9449 §4.2 ath)', () => {
  it('is the unpadded base64url SHA-256 of the token', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea ... (FIPS 180-2 example).
    expect(accessTokenHash('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    expect(accessTokenHash(TOKEN)).toBe(athOf(TOKEN));
  });
});

describe('createDpopVerifier: replay judged at the instant the proof was accepted', () => {
  it('refuses a replay verified inside the window and spent after it (a slow token validation)', async () => {
    let nowMs = NOW_SEC * 1000;
    const verifier = verifierAt(() => nowMs);
    const proof = await makeProof();
    verifier.verify(proof, REQUEST).spend();
    // The last instant the proof is acceptable: iat + maxProofAgeSec + clockToleranceSec.
    nowMs = (NOW_SEC + 65) * 1000;
    const replay = verifier.verify(proof, REQUEST);
    // The token's validation waits (a key set refetch): the clock moves on before the spend.
    nowMs += 2000;
    expect(refusal(() => replay.spend())).toBe('The DPoP proof was used before');
  });

  it('refuses a replay at the last acceptable millisecond', async () => {
    let nowMs = NOW_SEC * 1000;
    const verifier = verifierAt(() => nowMs);
    const proof = await makeProof();
    verifier.verify(proof, REQUEST).spend();
    nowMs = (NOW_SEC + 65) * 1000;
    const replay = verifier.verify(proof, REQUEST);
    expect(refusal(() => replay.spend())).toBe('The DPoP proof was used before');
  });
});

describe('sameTargetUri: percent-encoding normalisation (RFC 9449 §4.3, RFC 3986 §6.2.2.1-6.2.2.2)', () => {
  it('compares percent-encodings case-insensitively', () => {
    expect(sameTargetUri('https://api.test/files/a%2fb', 'https://api.test/files/a%2Fb')).toBe(true);
    expect(sameTargetUri('https://api.test/%c3%a9t%C3%A9', 'https://api.test/été')).toBe(true);
  });

  it('decodes percent-encoded unreserved characters, and only those', () => {
    expect(sameTargetUri('https://api.test/%7Euser/a%2Db', 'https://api.test/~user/a-b')).toBe(true);
    expect(sameTargetUri('https://api.test/%41%7a%30%5F%2e', 'https://api.test/Az0_.')).toBe(true);
    // Reserved characters keep their meaning: an encoded slash is not a path separator.
    expect(sameTargetUri('https://api.test/files/a%2Fb', 'https://api.test/files/a/b')).toBe(false);
    expect(sameTargetUri('https://api.test/a%3Bb', 'https://api.test/a;b')).toBe(false);
  });
});
