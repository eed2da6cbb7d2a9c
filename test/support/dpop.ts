/**
 * Test helpers for DPoP (RFC 9449): a client's proof key with its RFC 7638 thumbprint, and the proofs
 * it signs, made with node:crypto and jose (never with the code under test).
 *
 * @example
 * ```ts
 * const client = dpopClient();
 * const token = await signToken(issuerKey, accessTokenClaims({ iss, aud, nowSec }, { cnf: { jkt: client.jkt } }));
 * const dpop = await client.proof({ htm: 'GET', htu: 'https://api.test/me', token, iat: nowSec });
 * ```
 */
import { createHash, type KeyObject, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { generateSigningKey, type SigningKey, signToken } from './keys.js';

/** One request a proof is made for, and what to change in the proof. */
export interface DpopProofRequest {
  /** The request's method (`htm`). */
  htm: string;
  /** The request's URL (`htu`). */
  htu: string;
  /** The access token sent with the proof: `ath` is its hash. */
  token: string;
  /** The proof's `iat` in seconds; the real clock when left out. */
  iat?: number;
  /** The proof's `jti`; a fresh UUID when left out. */
  jti?: string;
  /** Claims to add or replace; an override of `undefined` removes that claim (e.g. `{ ath: undefined }`). */
  claims?: Record<string, unknown>;
  /**
   * Header parameters to add or replace over `{ typ: 'dpop+jwt', alg, jwk }`; `undefined` removes one.
   * `alg` changes only the header, not how the signature is made.
   */
  header?: Record<string, unknown>;
  /** Signs with this key instead of the proof key (the header's `jwk` stays the proof key's). */
  signWith?: KeyObject;
}

/** A DPoP client: its proof key, the key's public JWK and thumbprint, and proofs signed with it. */
export interface DpopClient {
  key: SigningKey;
  /** The public members of the key's JWK (no `kid`, `alg` or `use`): what goes in a proof's header. */
  jwk: JWK;
  /** The RFC 7638 SHA-256 thumbprint of `jwk`, as a bound token's `cnf.jkt` names it. */
  jkt: string;
  /** A proof by this client's key of `request`. */
  proof(request: DpopProofRequest): Promise<string>;
}

/** The members of each key type that go into an RFC 7638 thumbprint (§3.2), in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * A test key's public JWK without `kid`, `alg` and `use`: what a client puts in a proof's `jwk`.
 *
 * @example
 * ```ts
 * const jwk = proofJwk(generateSigningKey('RS256')); // { kty: 'RSA', n, e }
 * ```
 */
export function proofJwk(key: SigningKey): JWK {
  const { kid: _kid, alg: _alg, use: _use, ...rest } = key.publicJwk;
  return rest;
}

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK (EC, OKP or RSA), computed by hand: the required
 * members, in lexicographic order, as JSON without spaces.
 *
 * @example
 * ```ts
 * jwkThumbprintOf(proofJwk(key)); // 43 base64url characters
 * ```
 */
export function jwkThumbprintOf(jwk: JWK): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (members === undefined) throw new Error(`no RFC 7638 members known for kty ${String(jwk.kty)}`);
  const required = Object.fromEntries(members.map((name) => [name, jwk[name as keyof JWK]]));
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

/**
 * RFC 9449 §4.2's `ath`: the unpadded base64url SHA-256 of the token's ASCII bytes.
 *
 * @example
 * ```ts
 * athOf('abc'); // 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0'
 * ```
 */
export function athOf(token: string): string {
  return createHash('sha256').update(Buffer.from(token, 'ascii')).digest('base64url');
}

/**
 * The claims of a proof of `request`: `htm`, `htu`, `jti`, `iat` and `ath`, with `request.claims`
 * applied (an override of `undefined` removes the claim). For proofs signed by hand.
 *
 * @example
 * ```ts
 * const payload = dpopProofClaims({ htm: 'GET', htu, token, iat: NOW_SEC });
 * ```
 */
export function dpopProofClaims(request: DpopProofRequest): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    htm: request.htm,
    htu: request.htu,
    jti: request.jti ?? randomUUID(),
    iat: request.iat ?? Math.floor(Date.now() / 1000),
    ath: athOf(request.token),
    ...request.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

/**
 * A DPoP proof of `request` signed by `key`: header `{ typ: 'dpop+jwt', alg, jwk }` (the key's public
 * members) with `request.header` applied, claims as {@link dpopProofClaims} makes them.
 *
 * @example
 * ```ts
 * const proof = await dpopProof(key, { htm: 'GET', htu, token, header: { typ: 'JWT' } });
 * ```
 */
export function dpopProof(key: SigningKey, request: DpopProofRequest): Promise<string> {
  const signer = request.signWith === undefined ? key : { ...key, privateKey: request.signWith };
  return signToken(signer, dpopProofClaims(request), {
    typ: 'dpop+jwt',
    kid: undefined,
    jwk: proofJwk(key),
    ...request.header,
  });
}

/**
 * A DPoP client with `key` (a fresh ES256 key by default).
 *
 * @example
 * ```ts
 * const client = dpopClient();
 * const headers = { authorization: `DPoP ${token}`, dpop: await client.proof({ htm: 'GET', htu, token }) };
 * ```
 */
export function dpopClient(key: SigningKey = generateSigningKey('ES256')): DpopClient {
  const jwk = proofJwk(key);
  return { key, jwk, jkt: jwkThumbprintOf(jwk), proof: (request) => dpopProof(key, request) };
}

/** The parts of a running dev issuer (`startDevIssuer()`) a token request needs. */
export interface TokenEndpoint {
  readonly tokenEndpoint: string;
  readonly client: { readonly id: string; readonly secret: string };
}

/**
 * A DPoP-bound access token for `resource` from the dev issuer's token endpoint (client credentials),
 * bound to `client`'s key: the token request carries a proof of that key (no `ath`).
 *
 * @example
 * ```ts
 * const token = await dpopBoundToken(issuer, client, 'https://api.test');
 * ```
 */
export async function dpopBoundToken(
  issuer: TokenEndpoint,
  client: DpopClient,
  resource: string,
  { scope = 'read', timeoutMs = 10_000 }: { scope?: string; timeoutMs?: number } = {},
): Promise<string> {
  const proof = await client.proof({
    htm: 'POST',
    htu: issuer.tokenEndpoint,
    token: '',
    claims: { ath: undefined },
  });
  const credentials = Buffer.from(`${issuer.client.id}:${issuer.client.secret}`).toString('base64');
  const response = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${credentials}`,
      'content-type': 'application/x-www-form-urlencoded',
      dpop: proof,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { access_token?: string; token_type?: string };
  if (response.status !== 200 || body.token_type !== 'DPoP' || typeof body.access_token !== 'string') {
    throw new Error(`the token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}
