import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';

/** The client's DPoP key (RFC 9449): signs the proofs its token requests carry. */
export interface DpopClientKey {
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  jkt: string;
  /**
   * A DPoP proof JWT (`typ: dpop+jwt`, ES256, the public key as header `jwk`, a fresh `jti`, `iat` now)
   * for one request: `htm` and `htu` as given. With `accessToken` (a request to a resource server,
   * RFC 9449 §7.1) it also carries `ath`, the base64url SHA-256 hash of the token; without it, it is a
   * proof for the token endpoint.
   *
   * @example
   * ```ts
   * const key = await generateDpopClientKey();
   * await fetch(tokenEndpoint, { method: 'POST', headers: { dpop: await key.proof('POST', tokenEndpoint) } });
   * await fetch('https://api.example/me', {
   *   headers: { authorization: `DPoP ${token}`, dpop: await key.proof('GET', 'https://api.example/me', token) },
   * });
   * ```
   */
  proof(htm: string, htu: string, accessToken?: string): Promise<string>;
}

/**
 * RFC 9449 §4.2 `ath`: the base64url (unpadded) SHA-256 hash of the access token's ASCII bytes.
 *
 * @example
 * ```ts
 * accessTokenHash('abc'); // 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0'
 * ```
 */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** A P-256 private key as PKCS#8 PEM (generated asynchronously). */
function generateP256Pem(): Promise<string> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ec',
      {
        namedCurve: 'P-256',
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, _publicKey, privateKey) => (err ? reject(err) : resolve(privateKey)),
    );
  });
}

/**
 * Generates a fresh client DPoP key. The key goes through PEM before its public half is exported as a
 * JWK: exporting a freshly generated KeyObject straight to JWK was seen to hang on Node 20.
 *
 * @example
 * ```ts
 * const key = await generateDpopClientKey();
 * key.jkt; // e.g. 'kLb0...': compare with a bound token's cnf.jkt
 * ```
 */
export async function generateDpopClientKey(): Promise<DpopClientKey> {
  const privateKey: KeyObject = createPrivateKey(await generateP256Pem());
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    jkt,
    proof: (htm, htu, accessToken) =>
      new SignJWT({
        htm,
        htu,
        jti: randomUUID(),
        ...(accessToken === undefined ? {} : { ath: accessTokenHash(accessToken) }),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
        .setIssuedAt()
        .sign(privateKey),
  };
}
