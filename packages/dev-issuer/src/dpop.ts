import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';

/** The client's DPoP key (RFC 9449): signs the proofs its token requests carry. */
export interface DpopClientKey {
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  jkt: string;
  /**
   * A DPoP proof JWT (`typ: dpop+jwt`, ES256, the public key as header `jwk`) for one request.
   *
   * @example
   * ```ts
   * const key = await generateDpopClientKey();
   * await fetch(tokenEndpoint, { method: 'POST', headers: { dpop: await key.proof('POST', tokenEndpoint) } });
   * ```
   */
  proof(htm: string, htu: string): Promise<string>;
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
    proof: (htm, htu) =>
      new SignJWT({ htm, htu, jti: randomUUID() })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk })
        .setIssuedAt()
        .sign(privateKey),
  };
}
