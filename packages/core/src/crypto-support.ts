import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * What this runtime's node:crypto does with the key options tokenguard passes, found once by known
 * answers. Node does everything; other runtimes that offer `node:crypto` do not always: Cloudflare's
 * workerd (`nodejs_compat`) refuses a `KeyObject` inside an options object (`{ key, dsaEncoding }`,
 * `{ key, padding }`), and does not apply RSA-PSS options. So:
 *
 * - ECDSA verifies with the bare key and the signature in DER on every runtime (node:crypto's
 *   conversion of a raw signature costs more; see jws.ts);
 * - RS256/384/512 off the event loop pass the bare key where options are refused (an `rsa` key's
 *   default padding is PKCS#1 v1.5);
 * - PS256/384/512 verify only where {@link pssHonoured}: a runtime that ignored the padding would
 *   take an RS256 signature for a PS256 one.
 */

/** A 2048-bit RSA key's signatures, PSS (salt 32) and PKCS#1 v1.5, and a P-256 key's, all over `input`. */
const KNOWN_ANSWER = {
  input: Buffer.from('tokenguard known answer: runtime support', 'utf8'),
  rsaSpki:
    'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwcFKklnJsKHZ1ptzCZOIubIJyz5fhfuw8KaK6TPDceOzkjNYcp63' +
    '/jlLe9SJYCYB4eIEothS2hHrh7D7Y5QkYnM+QQS6S8Tf4ULK1WYhYmU+UZaytEKw+nzwn8CWTYfIFu51ilpRtvoUunaC3kdZ' +
    'PGmfOjEc2Hl54JvuhIuWTTTJbNB8/ShTzKq7d23Op+BmLGLHVLKl0s2+ScM64g28DKyz9N/SSuNsiMCUhgnY2PdJvst21Pg1' +
    '1lPz+4TzibiIMhuucvgtF3tLdEYA5BpAtXytvVzaxtVMZbXGv6QqkZmFbluQsWgcoXn75Npf8BbBoxqlIpZOps3snkSq5VTz' +
    'zQIDAQAB',
  pss:
    'CGeIOn0qe+3Do5wcjfFaD9HUiDQVQRa8Q7ZYDsa5hkxLePewNpDF+l+UXfi+A+IiyRoJQdiWsz3cOYjroWC3sauWSHFq4TTw' +
    'abgJv8Ij5qsROalJcNW6u1zV9tDMVVPAads5geFjRebujBgeE5xhaTQjw7Hv5y6ksSJLKqCQdqPaSVipTir2R5dG/zjSLoTr' +
    '0mZwCXSu1XojbH4sJhAyDZrGgVKL9oYdkT4N93KNjG4ZrS7vIrd0XOT/amWjpRwyyh1bUgcJKNAcm17svbOdGULK0xXBLJku' +
    'IROANWN4OAUVe71fXEuS4D2J0pA7ljRjPmNJC4otRHYIfabrEzcF8g==',
  pkcs1:
    'rLaAtpyfOfXbR8uYVI7g6FQkkHUZxYl3lPJ2uAvOMXQlW9MNeCqhw0VsYh2QSKvblNI9RbtpyeM4JWx6tLnq9UBSGiP8EnXs' +
    '6ULZTu3R31x/CwY0HRZnhunaQfJ1NuoOQT/56ZddSELJzoHKyEuQ2U0942rCMweAv5kW4RVURQKBAFboajzb5NjBb0gwwiM0' +
    '3OeIrVKhfOQZm9JKXXkgNfAspkpT0NifWUBxp63UU67CxAUhjm5xpONOJ+uf/WOzkK0Mch0l7FR9tGiS5BJslcbiQOuI+O3a' +
    'cprHmvr47Jxkrs+6fd4AK5RpJX8O9HA2E+l9GoJNIF7DTdpxV7Eyhw==',
  ecSpki:
    'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdG7oes/SM7+niZ7szo2OLgOCQZSj5wzaaC3yQ93Tl3PmZnDZ1hxVN5a1E7o6' +
    'mc+a2v0+U+2RmEFR/VRldbXuAw==',
  es256: 'fobPFqPvi5C26jz6OHizpdUl0dtvKQPYkp2MruxOJXyIW29QGBFbtp0qLOS/F9iu5Fn15RkX5h0VIblLv8w11A==',
} as const;

let optionsAccepted: boolean | undefined;
let pssVerified: boolean | undefined;

function spkiKey(base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
}

/** Runs `check`; false when it throws (the runtime refused the arguments). */
function attempt(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** node:crypto's one-shot `verify`, or a stand-in for it (the tests' runtimes that behave otherwise). */
export type Verifier = typeof verify;

/**
 * Whether `verify` takes a `KeyObject` inside an options object: a genuine raw ES256 signature
 * verifies with `{ key, dsaEncoding: 'ieee-p1363' }` and a changed one does not. Found once.
 *
 * @example
 * ```ts
 * const ok = keyOptionsAccepted()
 *   ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, raw)
 *   : verify('sha256', data, key, ecdsaDerOf(raw));
 * ```
 */
export function keyOptionsAccepted(): boolean {
  optionsAccepted ??= passesKeyOptionsKnownAnswer(verify);
  return optionsAccepted;
}

/**
 * Whether `verify` applies RSASSA-PSS options: a genuine PS256 signature verifies with
 * `{ key, padding: PSS, saltLength: digest }`, and a PKCS#1 v1.5 signature by the same key over the
 * same input does not. Where this is false, no PS256/384/512 token is verified. Found once.
 *
 * @example
 * ```ts
 * if (!pssHonoured()) console.warn('PS256 tokens cannot be verified on this runtime');
 * ```
 */
export function pssHonoured(): boolean {
  pssVerified ??= passesPssKnownAnswer(verify);
  return pssVerified;
}

/** Internal (exported for its tests): {@link keyOptionsAccepted}'s known answer, asked of `verifier`. */
export function passesKeyOptionsKnownAnswer(verifier: Verifier): boolean {
  return attempt(() => {
    const key = spkiKey(KNOWN_ANSWER.ecSpki);
    const signature = Buffer.from(KNOWN_ANSWER.es256, 'base64');
    const changed = Buffer.from(signature);
    changed[0] = (changed[0] as number) ^ 1;
    const input = { key, dsaEncoding: 'ieee-p1363' as const };
    return (
      verifier('sha256', KNOWN_ANSWER.input, input, signature) &&
      !verifier('sha256', KNOWN_ANSWER.input, input, changed)
    );
  });
}

/** Internal (exported for its tests): {@link pssHonoured}'s known answer, asked of `verifier`. */
export function passesPssKnownAnswer(verifier: Verifier): boolean {
  return attempt(() => {
    const input = {
      key: spkiKey(KNOWN_ANSWER.rsaSpki),
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
    const pkcs1 = Buffer.from(KNOWN_ANSWER.pkcs1, 'base64');
    return (
      verifier('sha256', KNOWN_ANSWER.input, input, Buffer.from(KNOWN_ANSWER.pss, 'base64')) &&
      !attempt(() => verifier('sha256', KNOWN_ANSWER.input, input, pkcs1))
    );
  });
}
