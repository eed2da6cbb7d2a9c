/**
 * The bench's preflight: before a part is measured, every contender that claims to check a token
 * must accept a valid one and refuse one with a wrong `iss`, one with a wrong `aud`, one expired an
 * hour ago and one with a changed signature. A contender configured to skip a check would otherwise
 * look faster than it is, and nothing would say so.
 */
import { AUDIENCE, accessTokenClaims, type BenchKey, ISSUER, signToken } from './tokens.js';

/** The tokens a contender is tried with, in order. */
export const PREFLIGHT_CASES = ['valid', 'wrong iss', 'wrong aud', 'expired', 'bad signature'] as const;
export type PreflightCase = (typeof PREFLIGHT_CASES)[number];

/** The cases a contender that checks the signature alone (the floor, by design) is held to. */
export const SIGNATURE_CASES: readonly PreflightCase[] = ['valid', 'bad signature'];

/** What each case's token is, for messages. */
const DESCRIBED: Readonly<Record<PreflightCase, string>> = {
  valid: 'a valid token',
  'wrong iss': 'a token with a wrong iss',
  'wrong aud': 'a token with a wrong aud',
  expired: 'a token that expired an hour ago',
  'bad signature': 'a token with a changed signature',
};

/**
 * What a contender did with a token: `accepted`, `refused`, or a description of anything else
 * (an HTTP status other than 200 or 401, say), which fails every case.
 */
export type Verdict = 'accepted' | 'refused' | (string & {});

/** One contender as the preflight sees it. */
export interface PreflightSubject {
  /** The contender's name as the bench's tables print it. */
  readonly contender: string;
  /** The algorithm its tokens are signed with. */
  readonly algorithm: string;
  /** Default: every case; the floor is held to {@link SIGNATURE_CASES}. */
  readonly cases?: readonly PreflightCase[];
  /** Hands one token to the contender and says what it did. */
  verdictOn(token: string): Promise<Verdict>;
}

/** A contender that failed the preflight; the bench stops on it. */
export class PreflightError extends Error {
  /** Stable code of every preflight failure. */
  readonly code = 'BENCH_PREFLIGHT_FAILED';

  constructor(
    readonly contender: string,
    readonly algorithm: string,
    readonly failedCase: PreflightCase,
    readonly verdict: Verdict,
  ) {
    const expected = failedCase === 'valid' ? 'accept' : 'refuse';
    super(
      `[bench] preflight failed: ${contender} (${algorithm}), case "${failedCase}": it ${verdict} ${DESCRIBED[failedCase]}; it must ${expected} it. The bench stops: a contender that skips a check would look faster than it is.`,
    );
    this.name = 'PreflightError';
  }
}

/** Times the valid token is tried, so that a verifier that caches answers from its cache too. */
const VALID_TRIES = 3;

/**
 * Signs one token per case with `key`: the valid one as the bench's tokens are, the others each
 * wrong in that one respect (signed by the same key, so only the claim or the signature differs).
 *
 * @example
 * const tokens = preflightTokens(generateBenchKey('ES256'));
 * await jwtVerify(tokens['wrong aud'], key, { issuer: ISSUER, audience: AUDIENCE }); // rejects
 */
export function preflightTokens(
  key: BenchKey,
  issuer: string = ISSUER,
  nowSec: number = Math.floor(Date.now() / 1000),
): Readonly<Record<PreflightCase, string>> {
  const claims = { ...accessTokenClaims(0, nowSec), iss: issuer, jti: `preflight-${nowSec}` };
  const valid = signToken(key, claims);
  return {
    valid,
    'wrong iss': signToken(key, { ...claims, iss: `${issuer}/other` }),
    'wrong aud': signToken(key, { ...claims, aud: `${AUDIENCE}/other` }),
    expired: signToken(key, { ...claims, iat: nowSec - 7200, nbf: nowSec - 7200, exp: nowSec - 3600 }),
    'bad signature': withChangedSignature(valid),
  };
}

/** `token` with one bit of its signature flipped (mid-signature: an RSA value stays below the modulus). */
export function withChangedSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const middle = signature.length >> 1;
  signature[middle] = (signature[middle] as number) ^ 0x01;
  return `${token.slice(0, dot + 1)}${signature.toString('base64url')}`;
}

/**
 * Tries `subject` with each of its cases' tokens and throws a {@link PreflightError} naming the
 * contender, the algorithm and the case at the first wrong verdict.
 *
 * @example
 * const verdictOn = inProcessVerdict((t) => jwtVerify(t, key, options));
 * await preflight({ contender: 'jose jwtVerify', algorithm: 'ES256', verdictOn }, preflightTokens(benchKey));
 */
export async function preflight(
  subject: PreflightSubject,
  tokens: Readonly<Record<PreflightCase, string>>,
): Promise<void> {
  for (const name of subject.cases ?? PREFLIGHT_CASES) {
    const expected = name === 'valid' ? 'accepted' : 'refused';
    for (let i = 0; i < (name === 'valid' ? VALID_TRIES : 1); i++) {
      const verdict = await subject.verdictOn(tokens[name]);
      if (verdict !== expected) throw new PreflightError(subject.contender, subject.algorithm, name, verdict);
    }
  }
}

/**
 * The verdict of an in-process verifier: accepted when it returns or resolves, refused when it
 * throws or rejects.
 *
 * @example
 * const verdictOn = inProcessVerdict(createVerifier({ key, allowedIss: ISSUER, allowedAud: AUDIENCE }));
 */
export function inProcessVerdict(verify: (token: string) => unknown): (token: string) => Promise<Verdict> {
  return async (token) => {
    try {
      await verify(token);
      return 'accepted';
    } catch {
      return 'refused';
    }
  };
}

/** How long the preflight waits for one HTTP answer: a server that hangs stops the bench, not stalls it. */
const HTTP_VERDICT_TIMEOUT_MS = 10_000;

/**
 * The verdict of a protected HTTP route: accepted on a 200, refused on a 401, and any other status
 * described as such. A request unanswered within {@link HTTP_VERDICT_TIMEOUT_MS} rejects.
 *
 * @example
 * const verdictOn = httpVerdict('http://127.0.0.1:3000/orders');
 */
export function httpVerdict(url: string): (token: string) => Promise<Verdict> {
  return async (token) => {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(HTTP_VERDICT_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    if (response.status === 200) return 'accepted';
    if (response.status === 401) return 'refused';
    return `answered ${response.status} to`;
  };
}
