import { describe, expect, it } from 'vitest';
import { dpopClient } from '../../../test/support/dpop.js';
import { generateSigningKey } from '../../../test/support/keys.js';
import { createDpopVerifier, type DpopVerifier } from './dpop.js';

/**
 * The verifier remembers imported proof keys (dpop.ts proofKeyOf): a remembered key must only ever
 * stand for a `jwk` that importing would give the same verdict, and never skip the signature check.
 */

const URL_ = 'https://api.test/orders';
const TOKEN = 'abc.def.ghi';

function verifier(): DpopVerifier {
  return createDpopVerifier(
    {
      algorithms: ['ES256', 'RS256', 'EdDSA'],
      maxProofAgeSec: 60,
      required: false,
      origin: undefined,
      replayCacheMaxEntries: 10_000,
      replayStoreTimeoutMs: 1000,
    },
    { now: Date.now, clockToleranceSec: 5 },
  );
}

const request = { method: 'GET', url: URL_, accessToken: TOKEN };

describe('remembered DPoP proof keys', () => {
  it('give the same thumbprint for every proof of one client, for each key type', async () => {
    const dpop = verifier();
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
      const client = dpopClient(generateSigningKey(alg, { kid: `client-${alg}` }));
      for (let i = 0; i < 3; i += 1) {
        const proof = await client.proof({ htm: 'GET', htu: URL_, token: TOKEN });
        expect(dpop.verify(proof, request).jkt).toBe(client.jkt);
      }
    }
  });

  it('still refuse a jwk that differs only in a member the import judges (use, key_ops, alg, null)', async () => {
    const dpop = verifier();
    const client = dpopClient(generateSigningKey('ES256', { kid: 'c1' }));
    // The key is remembered from this first proof.
    expect(dpop.verify(await client.proof({ htm: 'GET', htu: URL_, token: TOKEN }), request).jkt).toBe(
      client.jkt,
    );
    const variants: [Record<string, unknown>, string][] = [
      [{ use: 'enc' }, 'use is "enc"'],
      [{ key_ops: ['encrypt'] }, 'key_ops does not include "verify"'],
      [{ alg: 'RS256' }, 'alg RS256 does not fit kty EC'],
      [{ alg: null }, 'alg is not a string'],
      [{ kid: 7 }, 'kid is not a string'],
    ];
    for (const [extra, reason] of variants) {
      const proof = await client.proof({
        htm: 'GET',
        htu: URL_,
        token: TOKEN,
        header: { jwk: { ...client.jwk, ...extra } },
      });
      expect(() => dpop.verify(proof, request)).toThrow(reason);
    }
    // Members the import does not read change nothing: the remembered key serves.
    const annotated = await client.proof({
      htm: 'GET',
      htu: URL_,
      token: TOKEN,
      header: { jwk: { ...client.jwk, x5u: 'https://example.test/ignored' } },
    });
    expect(dpop.verify(annotated, request).jkt).toBe(client.jkt);
  });

  it('never stand in for the signature check: a proof signed by another key with a remembered jwk fails', async () => {
    const dpop = verifier();
    const client = dpopClient(generateSigningKey('ES256', { kid: 'c2' }));
    const intruder = generateSigningKey('ES256', { kid: 'intruder' });
    expect(dpop.verify(await client.proof({ htm: 'GET', htu: URL_, token: TOKEN }), request).jkt).toBe(
      client.jkt,
    );
    const forged = await client.proof({ htm: 'GET', htu: URL_, token: TOKEN, signWith: intruder.privateKey });
    expect(() => dpop.verify(forged, request)).toThrow('The DPoP proof signature is invalid');
  });

  it('keep verifying when more client keys come than are remembered (1,100 keys, then the first again)', async () => {
    const dpop = verifier();
    const first = dpopClient(generateSigningKey('ES256', { kid: 'first' }));
    expect(dpop.verify(await first.proof({ htm: 'GET', htu: URL_, token: TOKEN }), request).jkt).toBe(
      first.jkt,
    );
    for (let i = 0; i < 1100; i += 1) {
      const client = dpopClient(generateSigningKey('ES256', { kid: `c${i}` }));
      expect(dpop.verify(await client.proof({ htm: 'GET', htu: URL_, token: TOKEN }), request).jkt).toBe(
        client.jkt,
      );
    }
    expect(dpop.verify(await first.proof({ htm: 'GET', htu: URL_, token: TOKEN }), request).jkt).toBe(
      first.jkt,
    );
  });
});
