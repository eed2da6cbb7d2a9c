import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Algorithm, ASYMMETRIC_ALGORITHMS } from './algorithms.js';
import { Redacted } from './secret.js';

/** A private key for `private_key_jwt` client assertions (RFC 7523), with the header it signs with. */
export interface ClientKey {
  readonly key: Redacted<KeyObject>;
  readonly alg: Algorithm;
  readonly kid: string | undefined;
}

/**
 * Imports a PKCS#8 PEM or private JWK and picks the assertion `alg`. Throws an `Error` whose message
 * describes the problem, never the key. A key that could not sign the assertion later (an RSA modulus
 * under 2048 bits, an EC curve other than P-256/384/521, an `rsa-pss`-only key object) is refused
 * here, so the mistake is a `TypeError` from `createValidator` rather than a 503 on every request.
 */
export function importClientKey(
  input: string | Record<string, unknown>,
  alg: Algorithm | undefined,
  kid: string | undefined,
): ClientKey {
  let key: KeyObject;
  try {
    key =
      typeof input === 'string'
        ? createPrivateKey(input)
        : createPrivateKey({ key: input as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new Error('is not a private key (PKCS#8 PEM or private JWK)');
  }
  if (key.type !== 'private') throw new Error('is not a private key');
  const unusable = unusableReason(key);
  if (unusable !== undefined) throw new Error(unusable);
  const jwkAlg = typeof input === 'object' && typeof input.alg === 'string' ? input.alg : undefined;
  const chosen = alg ?? jwkAlg ?? defaultAlg(key);
  if (chosen === undefined || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(chosen)) {
    throw new Error('has no supported signing algorithm (set privateKeyAlg)');
  }
  if (!fits(key, chosen)) throw new Error(`does not fit the algorithm ${chosen}`);
  const jwkKid = typeof input === 'object' && typeof input.kid === 'string' ? input.kid : undefined;
  return { key: new Redacted(key), alg: chosen as Algorithm, kid: kid ?? jwkKid };
}

/** The JWS algorithm of each curve JOSE signs with (RFC 7518 §3.4); other curves sign nothing. */
const EC_ALGORITHMS: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** Why a private key cannot sign a client assertion whatever the `alg`, if it cannot. */
function unusableReason(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      // RFC 7518 §3.3, §3.5: 2048 bits or more (the signer refuses smaller keys).
      return (details?.modulusLength ?? 0) < 2048 ? 'is an RSA key under 2048 bits' : undefined;
    case 'rsa-pss':
      // The signer cannot use an RSASSA-PSS-only key object: the same key as plain RSA signs PS256.
      return 'is an RSASSA-PSS-only (rsa-pss) key; give the same key as a plain RSA PKCS#8 key for PS256';
    case 'ec':
      return EC_ALGORITHMS[details?.namedCurve ?? ''] === undefined
        ? `is on the curve ${details?.namedCurve ?? 'unknown'}, which JOSE does not sign with (use P-256, P-384 or P-521)`
        : undefined;
    default:
      return undefined;
  }
}

function defaultAlg(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
    case 'ec':
      return EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
    default:
      return undefined;
  }
}

function fits(key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return type === 'rsa';
  if (alg === 'EdDSA' || alg === 'Ed25519') return type === 'ed25519';
  if (alg.startsWith('ES')) return type === 'ec' && defaultAlg(key) === alg;
  return false;
}

/** What a request to a token endpoint carries for client authentication. */
export interface ClientAuthentication {
  headers: Record<string, string>;
  params: Record<string, string>;
}

/** The settings {@link authenticateClient} needs. */
export interface ClientAuthSettings {
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  clientSecret: Redacted<string> | undefined;
  clientKey: ClientKey | undefined;
}

/** Assertions are short-lived: the authorization server only needs them for this one request. */
const ASSERTION_LIFETIME_SEC = 60;

/**
 * Headers and form parameters that authenticate this client (RFC 6749 §2.3.1, RFC 7523 §2.2).
 * The assertion's times come from the wall clock, which the authorization server shares, not from
 * the validator's injectable clock.
 */
export async function authenticateClient(
  settings: ClientAuthSettings,
  audience: string,
): Promise<ClientAuthentication> {
  switch (settings.authMethod) {
    case 'client_secret_basic': {
      // RFC 6749 §2.3.1: each part form-urlencoded before base64.
      const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
      const secret = settings.clientSecret?.reveal() ?? '';
      const basic = Buffer.from(`${encode(settings.clientId)}:${encode(secret)}`).toString('base64');
      return { headers: { authorization: `Basic ${basic}` }, params: {} };
    }
    case 'client_secret_post':
      return {
        headers: {},
        params: { client_id: settings.clientId, client_secret: settings.clientSecret?.reveal() ?? '' },
      };
    case 'private_key_jwt': {
      const clientKey = settings.clientKey as ClientKey;
      const nowSec = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader(
          clientKey.kid === undefined
            ? { alg: clientKey.alg, typ: 'JWT' }
            : { alg: clientKey.alg, typ: 'JWT', kid: clientKey.kid },
        )
        .setIssuer(settings.clientId)
        .setSubject(settings.clientId)
        .setAudience(audience)
        .setJti(randomUUID())
        .setIssuedAt(nowSec)
        .setExpirationTime(nowSec + ASSERTION_LIFETIME_SEC)
        .sign(clientKey.key.reveal());
      return {
        headers: {},
        params: {
          client_id: settings.clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        },
      };
    }
  }
}
