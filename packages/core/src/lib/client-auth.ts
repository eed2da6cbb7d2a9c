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
 * describes the problem, never the key.
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
  const jwkAlg = typeof input === 'object' && typeof input.alg === 'string' ? input.alg : undefined;
  const chosen = alg ?? jwkAlg ?? defaultAlg(key);
  if (chosen === undefined || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(chosen)) {
    throw new Error('has no supported signing algorithm (set privateKeyAlg)');
  }
  if (!fits(key, chosen)) throw new Error(`does not fit the algorithm ${chosen}`);
  const jwkKid = typeof input === 'object' && typeof input.kid === 'string' ? input.kid : undefined;
  return { key: new Redacted(key), alg: chosen as Algorithm, kid: kid ?? jwkKid };
}

function defaultAlg(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ed25519':
      return 'EdDSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : 'ES512';
    }
    default:
      return undefined;
  }
}

function fits(key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
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
