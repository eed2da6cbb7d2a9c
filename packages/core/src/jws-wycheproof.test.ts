/**
 * The off-thread path (`verifyOffThread`) against the inline one on Project Wycheproof's JWS vectors
 * (test/fixtures/wycheproof): every vector with an asymmetric algorithm and a key the validator
 * would select for it gets the same verdict from both. test/adversarial/wycheproof.test.ts holds the
 * inline path to the vectors' expected results; it never asks the other path, which verifies RS*
 * with node:crypto `verify` rather than rsassa-pkcs1.ts and ECDSA with the options object.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StaticKeySource } from './jwks.js';
import { verifyWithAny, verifyWithAnyOffThread } from './jws.js';
import { importPublicJwk, type VerificationKey } from './keys.js';
import { ALGORITHM_SPECS, isKnownAlgorithm } from './lib/algorithms.js';

interface Group {
  public?: Record<string, unknown> | { keys: Record<string, unknown>[] };
  tests: { tcId: number; jws: string; result: string }[];
}

const groups = (
  JSON.parse(
    readFileSync(
      new URL('../../../test/fixtures/wycheproof/json_web_signature_test.json', import.meta.url),
      'utf8',
    ),
  ) as { testGroups: Group[] }
).testGroups;

function publicKeys(group: Group): VerificationKey[] {
  const material = group.public;
  if (material === undefined) return [];
  const list = Array.isArray((material as { keys?: unknown }).keys)
    ? (material as { keys: Record<string, unknown>[] }).keys
    : [material as Record<string, unknown>];
  return list.flatMap((jwk) => {
    const result = importPublicJwk(jwk as never);
    return result.ok ? [result.key] : [];
  });
}

function headerOf(segment: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

describe('Wycheproof JWS vectors: verifyOffThread gives the inline verdict', () => {
  it('on every asymmetric vector with a selectable key', async () => {
    const verdicts = { accepted: 0, refused: 0 };
    for (const group of groups) {
      const source = new StaticKeySource(publicKeys(group));
      for (const { tcId, jws } of group.tests) {
        const [headerSegment, payloadSegment, signatureSegment] = jws.split('.');
        if (headerSegment === undefined || payloadSegment === undefined || signatureSegment === undefined)
          continue;
        const header = headerOf(headerSegment);
        const alg = header?.alg;
        if (!isKnownAlgorithm(alg) || ALGORITHM_SPECS[alg].kty === 'oct') continue;
        const kid = typeof header?.kid === 'string' ? header.kid : undefined;
        const keys = source.peek(kid, alg) ?? [];
        if (keys.length === 0) continue;
        const signingInput = `${headerSegment}.${payloadSegment}`;
        const signature = Buffer.from(signatureSegment, 'base64url');
        const inline = verifyWithAny(alg, keys, signingInput, signature);
        const offThread = await verifyWithAnyOffThread(alg, keys, signingInput, signature);
        expect({ tcId, offThread }).toEqual({ tcId, offThread: inline });
        verdicts[inline ? 'accepted' : 'refused']++;
      }
    }
    // Both kinds of verdict were compared, on many vectors.
    expect(verdicts.accepted).toBeGreaterThan(10);
    expect(verdicts.refused).toBeGreaterThan(100);
  });
});
