import { createHash } from 'node:crypto';
import type { LRUCache } from 'lru-cache';
import { createDpopNonces, type DpopNonces } from './dpop-nonce.js';
import { createReplayGuard, type DpopState } from './dpop-replay.js';
import { TokenGuardError } from './errors.js';
import { decodeCompactJws, verifyWithAny } from './jws.js';
import { IMPORTED_JWK_MEMBERS, importPublicJwk, keyFitsAlgorithm, type VerificationKey } from './keys.js';
import type { Algorithm } from './lib/algorithms.js';
import { boundedLru } from './lib/bounded-lru.js';
import type { ResolvedDpopOptions } from './options.js';

/** Longest `DPoP` header accepted, in characters: a proof with an RSA 4096 key is about 1,500. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** Deepest JSON nesting accepted in a proof (its header holds one object, the `jwk`). */
const MAX_PROOF_JSON_DEPTH = 4;
/** Largest RSA key accepted in a proof (client keys are 2048 to 4096 bits). */
const MAX_PROOF_RSA_BITS = 4096;
/** The base64url length of a {@link MAX_PROOF_RSA_BITS}-bit modulus. */
const MAX_PROOF_RSA_MODULUS_CHARS = Math.ceil((MAX_PROOF_RSA_BITS / 8) * (4 / 3));
/** Longest `jti` accepted: identifiers are short (RFC 9449 §4.2 suggests 96 bits of randomness). */
const MAX_JTI_LENGTH = 256;
/**
 * Proof keys remembered once imported, per validator (least recently used dropped first): importing a
 * JWK (~90 µs for P-256) costs more than verifying the proof with it, and a client signs each of its
 * proofs with the same key.
 */
const PROOF_KEY_CACHE_ENTRIES = 1024;
/** JWK members that only a private or symmetric key has: a proof's `jwk` must be a public key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** What a request must show for its proof: RFC 9449 §4.3's `htm`, `htu` and `ath`. */
export interface DpopRequest {
  /** The request method, as sent (`GET`). */
  readonly method: string;
  /** The request's absolute URL; query and fragment are ignored (RFC 9449 §4.3, step 9). */
  readonly url: string;
  /** The access token sent with the proof, whose SHA-256 hash the proof's `ath` must be. */
  readonly accessToken: string;
}

/** A proof that checked out: the key it proves (RFC 7638 thumbprint) and how to spend it once. */
export interface DpopProof {
  /** The proof key's JWK SHA-256 thumbprint, which the token's `cnf.jkt` must equal. */
  readonly jkt: string;
  /**
   * Marks the proof used (RFC 9449 §11.1); throws when it was used before, while it is still valid.
   * With a `dpop.replayStore` that answers with a promise, returns a promise that settles once the store
   * answered (rejected when it found the proof, or failed): await what it returns.
   */
  readonly spend: () => void | Promise<void>;
}

/**
 * Checks RFC 9449 proofs for one validator: each proof's signature against the key in its header,
 * its request claims, its server nonce (with `dpop.nonce`), and that it is used once.
 *
 * @example
 * ```ts
 * const dpop = createDpopVerifier(resolved.dpop, { now: Date.now, clockToleranceSec: 5 });
 * const proof = dpop.verify(req.headers.dpop, { method: 'GET', url: 'https://api.example.com/orders', accessToken });
 * // ...validate the token, require its cnf.jkt to equal proof.jkt, then:
 * await proof.spend();
 * ```
 */
export interface DpopVerifier {
  verify(proof: string, request: DpopRequest): DpopProof;
  /** The server nonce to hand out now (RFC 9449 §9); `undefined` without `dpop.nonce`. */
  currentNonce(): string | undefined;
  /** The replay cache's size and the replay store's answers, for `validator.state()`. */
  state(): DpopState;
}

/** The clock and leeway proofs are judged by: the validator's. */
export interface DpopClock {
  readonly now: () => number;
  readonly clockToleranceSec: number;
}

/** Creates the {@link DpopVerifier} of a validator's `dpop` option, with its own replay cache (and store). */
export function createDpopVerifier(options: ResolvedDpopOptions, clock: DpopClock): DpopVerifier {
  const algorithms = new Set<string>(options.algorithms);
  const replay = createReplayGuard(options, clock);
  const proofKeys: ProofKeys = boundedLru<string, ProofKey>(PROOF_KEY_CACHE_ENTRIES);
  const nonces = options.nonce === undefined ? undefined : createDpopNonces(options.nonce);
  return {
    verify(proof, request) {
      const nowMs = clock.now();
      const { jkt, jti, iat, nonce } = checkProof(
        proof,
        request,
        algorithms,
        proofKeys,
        options,
        clock,
        nowMs,
      );
      // RFC 9449 §9, after every other check of the proof (one wrong otherwise stays invalid_dpop_proof)
      // and before the token and the replay cache: the client retries with a new proof anyway.
      if (nonces !== undefined && !nonces.accepts(nonce, nowMs)) throw nonceRequired(nonce, nonces, nowMs);
      const acceptableUntilMs = (iat + options.maxProofAgeSec + clock.clockToleranceSec) * 1000;
      return { jkt, spend: () => replay.spend(jkt, jti, acceptableUntilMs, nowMs) };
    },
    currentNonce() {
      return nonces?.current(clock.now());
    },
    state: () => replay.state(),
  };
}

/** RFC 9449 §9: 401 `use_dpop_nonce`, with the nonce to use (sent as `DPoP-Nonce`). */
function nonceRequired(nonce: unknown, nonces: DpopNonces, nowMs: number): TokenGuardError {
  return new TokenGuardError('ERR_DPOP_NONCE_REQUIRED', {
    message:
      nonce === undefined
        ? 'The DPoP proof has no nonce: this API requires the one in its DPoP-Nonce header'
        : 'The DPoP proof nonce is not a current one of this API: use the one in its DPoP-Nonce header',
    dpopNonce: nonces.current(nowMs),
  });
}

function invalidProof(message: string): TokenGuardError {
  return new TokenGuardError('ERR_DPOP_PROOF_INVALID', { message });
}

/**
 * RFC 9449 §4.3's checks 2-9, 11 and 12's `ath` (check 10, the nonce, is the caller's, with `dpop.nonce`;
 * the token's binding and replay come later); returns what identifies the proof, and its `nonce` claim.
 */
function checkProof(
  proof: string,
  request: DpopRequest,
  algorithms: ReadonlySet<string>,
  proofKeys: ProofKeys,
  options: ResolvedDpopOptions,
  clock: DpopClock,
  nowMs: number,
): { jkt: string; jti: string; iat: number; nonce: unknown } {
  if (proof.length > MAX_DPOP_PROOF_LENGTH) {
    throw invalidProof(`The DPoP proof is longer than ${MAX_DPOP_PROOF_LENGTH} characters`);
  }
  let header: Readonly<Record<string, unknown>>;
  let payload: Readonly<Record<string, unknown>>;
  let signingInput: string;
  let signature: Buffer;
  try {
    ({ header, payload, signingInput, signature } = decodeCompactJws(proof, MAX_PROOF_JSON_DEPTH));
  } catch (error) {
    const reason = error instanceof TokenGuardError ? `: ${error.message}` : '';
    throw invalidProof(`The DPoP proof is not a well-formed JWS${reason}`);
  }
  // A media type, compared without case; RFC 7515 §4.1.9 lets `application/` be left out, or not.
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== 'dpop+jwt' && typ !== 'application/dpop+jwt') {
    throw invalidProof('The DPoP proof typ is not dpop+jwt');
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || !algorithms.has(alg)) {
    throw invalidProof(`The DPoP proof algorithm is not one of ${[...algorithms].join(', ')}`);
  }
  const jwk = header.jwk;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw invalidProof('The DPoP proof has no jwk header');
  }
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
    throw invalidProof('The DPoP proof jwk is not a public key');
  }
  // Before importing it: a client-chosen key is verified before any token check, and a 16384-bit RSA
  // key would make each such request cost milliseconds.
  const modulus = (jwk as { n?: unknown }).n;
  if (typeof modulus === 'string' && modulus.length > MAX_PROOF_RSA_MODULUS_CHARS) {
    throw invalidProof(`The DPoP proof jwk is an RSA key longer than ${MAX_PROOF_RSA_BITS} bits`);
  }
  const { key, jkt } = proofKeyOf(jwk as Record<string, unknown>, proofKeys);
  if (!keyFitsAlgorithm(key, alg as Algorithm)) {
    throw invalidProof(`The DPoP proof jwk does not fit the algorithm ${alg}`);
  }
  if (!verifyWithAny(alg as Algorithm, [key], signingInput, signature)) {
    throw invalidProof('The DPoP proof signature is invalid');
  }
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    throw invalidProof('The DPoP proof has no jti');
  }
  if (htm !== request.method) throw invalidProof('The DPoP proof htm is not the request method');
  if (typeof htu !== 'string' || !sameTargetUri(htu, request.url)) {
    throw invalidProof('The DPoP proof htu is not the request URL');
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('The DPoP proof has no iat');
  const nowSec = nowMs / 1000;
  if (iat > nowSec + clock.clockToleranceSec) throw invalidProof('The DPoP proof was issued in the future');
  if (iat < nowSec - options.maxProofAgeSec - clock.clockToleranceSec) {
    throw invalidProof('The DPoP proof is too old');
  }
  if (typeof ath !== 'string' || ath !== accessTokenHash(request.accessToken)) {
    throw invalidProof('The DPoP proof ath is not the hash of the access token');
  }
  return {
    jkt,
    jti,
    iat,
    nonce,
  };
}

/** A proof's public key, imported, with its RFC 7638 thumbprint. */
interface ProofKey {
  readonly key: VerificationKey;
  readonly jkt: string;
}

type ProofKeys = LRUCache<string, ProofKey>;

/**
 * The imported key of a proof's `jwk`, from the verifier's cache when a proof brought the same members
 * before: every member {@link importPublicJwk} reads, and nothing else, is the cache key (a member
 * present as `null` is not one left out), so a cached key is the one importing this `jwk` would give.
 * Only keys that import are cached.
 */
function proofKeyOf(jwk: Readonly<Record<string, unknown>>, proofKeys: ProofKeys): ProofKey {
  const id = JSON.stringify(jwk, IMPORTED_JWK_MEMBERS as unknown as string[]);
  const known = proofKeys.get(id);
  if (known !== undefined) return known;
  // Not re-encoded: a client's key verifies few proofs against what a hostile client's fresh keys cost.
  const imported = importPublicJwk(jwk, { reencode: false });
  if (!imported.ok) throw invalidProof(`The DPoP proof jwk cannot be used: ${imported.reason}`);
  // kty is RSA, EC or OKP once imported: the thumbprint's members follow it.
  const proofKey = { key: imported.key, jkt: jwkThumbprint(jwk, jwk.kty as string) };
  proofKeys.set(id, proofKey);
  return proofKey;
}

/** RFC 9449 §4.2 `ath`: the base64url SHA-256 hash of the access token's ASCII bytes. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'latin1').digest('base64url');
}

/**
 * Whether a proof's `htu` names the request URL: both parsed as URLs (which normalises scheme and host
 * case, default ports and dot segments), percent-encodings normalised (upper-case hexadecimal digits,
 * unreserved characters decoded: RFC 3986 §6.2.2-6.2.3, as RFC 9449 §4.3 asks), query and fragment
 * dropped, then compared exactly.
 */
export function sameTargetUri(htu: string, requestUrl: string): boolean {
  const claimed = targetUri(htu);
  return claimed !== undefined && claimed === targetUri(requestUrl);
}

function targetUri(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  // The URL parser leaves percent-encodings as written: RFC 3986 §6.2.2.1-6.2.2.2 done here.
  return `${url.protocol}//${url.host}${url.pathname.replace(PERCENT_ENCODED, normalisePercentEncoded)}`;
}

const PERCENT_ENCODED = /%[0-9A-Fa-f]{2}/g;
/** RFC 3986 §2.3 unreserved characters: the same whether percent-encoded or not. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** One `%XX`: the unreserved character it encodes, else upper-case hexadecimal digits. */
function normalisePercentEncoded(encoded: string): string {
  const char = String.fromCharCode(Number.parseInt(encoded.slice(1), 16));
  return UNRESERVED.test(char) ? char : encoded.toUpperCase();
}

/**
 * The RFC 7638 JWK SHA-256 thumbprint of a public key the caller has already imported (so its
 * required members are present strings): those members only, in lexicographic order, no whitespace.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>, kty: string): string {
  const members =
    kty === 'RSA'
      ? { e: jwk.e, kty, n: jwk.n }
      : kty === 'EC'
        ? { crv: jwk.crv, kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
