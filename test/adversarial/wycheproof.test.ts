/**
 * Project Wycheproof JOSE vectors (test/fixtures/wycheproof, Apache-2.0): the JSON Web Signature and
 * JSON Web Key groups that apply to a resource server: signature verification with a given key, key
 * parsing and algorithm binding. Every `invalid` vector must be rejected and every `valid` one
 * accepted, except the few listed in DEFECTIVE with the reason.
 *
 * The payloads are not JWT claim sets ("foo", "Test", empty), so the validator itself would refuse
 * them for claims reasons. Each vector goes instead through the same core functions `validate()`
 * uses, in the same order:
 * - segments and header: `decodeCompactJws` (with a neutral `{}` payload standing in, so its strict
 *   base64url, JSON, `crit`/`b64`/`zip`/nesting checks run on the real header and signature), the real
 *   payload segment through `decodeCanonicalBase64url`;
 * - configuration: `resolveOptions` with the key and an algorithm allow-list matching the key (a
 *   configuration the validator refuses, such as a 31-byte HS256 secret or alg ES224, is a rejection);
 * - keys: a group's public JWK Set through `importPublicJwk` (as a fetched or configured `jwks`), or
 *   a single MAC key through `importSecret` (the `secret` option: tokenguard never takes MAC keys from
 *   a key set); selection by `kid` and algorithm through `StaticKeySource`;
 * - signature: `verifySignature` with the header's algorithm, if the allow-list has it.
 *
 * Skipped, with the reason: a valid vector that needs MAC keys taken from a JWK Set (tcId 2 of the
 * JWK file): tokenguard takes exactly one HS secret from the `secret` option and skips `oct` keys in
 * any key set, so that configuration cannot be expressed. JWE and JSON Web Crypto files are not run
 * at all: a resource server validating JWS access tokens never decrypts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StaticKeySource } from '../../packages/core/src/jwks.js';
import { decodeCompactJws, verifySignature } from '../../packages/core/src/jws.js';
import { importPublicJwk, importSecret, type VerificationKey } from '../../packages/core/src/keys.js';
import {
  type Algorithm,
  DEFAULT_ALGORITHMS,
  isKnownAlgorithm,
} from '../../packages/core/src/lib/algorithms.js';
import { decodeCanonicalBase64url } from '../../packages/core/src/lib/base64url.js';
import { resolveOptions } from '../../packages/core/src/options.js';

interface Jwk {
  kty?: string;
  kid?: string;
  alg?: string;
  k?: string;
  [member: string]: unknown;
}
interface Vector {
  tcId: number;
  comment: string;
  jws: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface Group {
  comment: string;
  private?: Jwk | { keys: Jwk[] };
  public?: Jwk | { keys: Jwk[] };
  tests: Vector[];
}

const load = (name: string): Group[] =>
  (
    JSON.parse(readFileSync(new URL(`../fixtures/wycheproof/${name}`, import.meta.url), 'utf8')) as {
      testGroups: Group[];
    }
  ).testGroups;

/** Vectors whose expected result cannot hold for any correct verifier, as published in this copy. */
const DEFECTIVE: Record<string, { outcome: 'accept' | 'reject'; reason: string }> = {
  'json_web_signature_test.json#367': {
    outcome: 'accept',
    reason:
      'invalidBase64Padding: the padding it names is absent in this copy; the token is byte-identical to the valid tcId 357',
  },
  'json_web_signature_test.json#370': {
    outcome: 'accept',
    reason: 'invalidBase64PaddingInPayload: likewise byte-identical to the valid tcId 357',
  },
  'json_web_signature_test.json#372': {
    outcome: 'reject',
    reason:
      "marked valid, but the '?' inserted in the header changes the signing input; the MAC is 357's, so no verifier can accept it",
  },
  'json_web_signature_test.json#373': {
    outcome: 'reject',
    reason: "marked valid, but the '?' inserted in the payload changes the signing input; same MAC as 357",
  },
  // RFC 7520 figures whose published key is bound to another algorithm than the token's: accepting
  // them would contradict the algorithm-binding vectors of the same files (ps512 UsingPS384, and
  // JWK tcId 19, which requires a key with alg ES521 to be refused).
  ...Object.fromEntries(
    [346, 350].map((id) => [
      `json_web_signature_test.json#${id}`,
      {
        outcome: 'reject' as const,
        reason:
          'Figure 20 is a PS384 token, but its key says alg PS256 (RFC 8725 §3.1: one key, one algorithm)',
      },
    ]),
  ),
  ...Object.fromEntries(
    [347, 351].map((id) => [
      `json_web_signature_test.json#${id}`,
      {
        outcome: 'reject' as const,
        reason:
          'Figure 27 is an ES512 token, but its key says alg ES521, which is no JOSE algorithm (JWK tcId 19 requires refusing it)',
      },
    ]),
  ),
};
const SKIPPED: Record<string, string> = {
  'json_web_key_test.json#2':
    'needs MAC keys from a JWK Set, which tokenguard never uses (one `secret` per issuer)',
};

type Keys = { kind: 'set'; jwks: Jwk[] } | { kind: 'secret'; jwk: Jwk } | { kind: 'none' };

/** How a resource server would be configured with this group's key material. */
function keysOf(group: Group): Keys {
  const material = group.public ?? group.private;
  if (material === undefined) return { kind: 'none' };
  const list = 'keys' in material && Array.isArray(material.keys) ? material.keys : [material as Jwk];
  // A single private oct key is a shared secret, configured with `secret`; anything else is a JWK Set.
  const only = list[0];
  if (list.length === 1 && only?.kty === 'oct' && group.public === undefined)
    return { kind: 'secret', jwk: only };
  return { kind: 'set', jwks: list };
}

/** Runs one vector the way the validator would; returns whether it is accepted. */
function verifyVector(jws: string, keys: Keys): boolean {
  const parts = jws.split('.');
  if (parts.length !== 3) return false;
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  if (payloadSegment !== '' && decodeCanonicalBase64url(payloadSegment) === undefined) return false;
  let header: Readonly<Record<string, unknown>>;
  let signature: Buffer;
  try {
    ({ header, signature } = decodeCompactJws(`${headerSegment}.e30.${signatureSegment}`, 32));
  } catch {
    return false;
  }
  const alg = header.alg;
  const kid = header.kid;
  if (!isKnownAlgorithm(alg) || (kid !== undefined && typeof kid !== 'string')) return false;

  let imported: VerificationKey[];
  let allowed: readonly Algorithm[];
  try {
    if (keys.kind === 'none') return false;
    if (keys.kind === 'secret') {
      const secret = Buffer.from(keys.jwk.k ?? '', 'base64url');
      const algorithms = [keys.jwk.alg ?? 'HS256'] as Algorithm[];
      resolveOptions({ issuer: 'https://issuer.test', audience: null, secret, algorithms });
      imported = [{ ...importSecret(secret), kid: keys.jwk.kid }];
      allowed = algorithms;
    } else {
      imported = keys.jwks.flatMap((jwk) => {
        const result = importPublicJwk(jwk);
        return result.ok ? [result.key] : [];
      });
      const bound = [
        ...new Set(imported.map((key) => key.alg).filter((value) => value !== undefined)),
      ] as Algorithm[];
      allowed = bound.length > 0 ? bound : DEFAULT_ALGORITHMS;
      resolveOptions({
        issuer: 'https://issuer.test',
        audience: null,
        jwks: { keys: keys.jwks },
        algorithms: allowed,
      });
    }
  } catch {
    return false; // a configuration the validator refuses
  }
  if (!allowed.includes(alg)) return false;
  const candidates = new StaticKeySource(imported).peek(kid as string | undefined, alg);
  const signingInput = `${headerSegment}.${payloadSegment}`;
  return candidates.some((key) => verifySignature(alg, key, signingInput, signature));
}

const counts = { valid: 0, invalid: 0, acceptable: 0, defective: 0, skipped: 0 };

for (const file of ['json_web_signature_test.json', 'json_web_key_test.json']) {
  describe(file, () => {
    for (const group of load(file)) {
      const keys = keysOf(group);
      for (const vector of group.tests) {
        const id = `${file}#${vector.tcId}`;
        const name = `tcId ${vector.tcId} ${group.comment}/${vector.comment} (${vector.result})`;
        if (SKIPPED[id] !== undefined) {
          counts.skipped++;
          it(`${name}: not applicable — ${SKIPPED[id]}`, () => {
            expect(keys.kind).toBe('set');
          });
          continue;
        }
        const defect = DEFECTIVE[id];
        it(defect === undefined ? name : `${name}: defective vector — ${defect.reason}`, () => {
          const accepted = verifyVector(vector.jws, keys);
          if (defect !== undefined) {
            counts.defective++;
            expect(accepted).toBe(defect.outcome === 'accept');
          } else if (vector.result === 'acceptable') {
            counts.acceptable++;
          } else {
            counts[vector.result]++;
            expect(accepted).toBe(vector.result === 'valid');
          }
        });
      }
    }
  });
}

describe('summary', () => {
  it('ran every vector of both files', () => {
    const total = counts.valid + counts.invalid + counts.acceptable + counts.defective + counts.skipped;
    // 401 JWS vectors + 26 JWK vectors.
    expect(total).toBe(427);
    console.info(`wycheproof: ${JSON.stringify(counts)}`);
  });
});
