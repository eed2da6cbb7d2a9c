import { createHash, randomUUID, sign } from 'node:crypto';
import { authenticateRequest, createValidator, type TokenSource, type Validator } from '@tokenguard/core';
import { type Contender, interleaveRounds, mediansOf, ratioRange } from '../lib/measure.js';
import { formatNumber, type Table } from '../lib/report.js';
import { AUDIENCE, type BenchKey, generateBenchKey, ISSUER, signPool } from '../lib/tokens.js';

export interface DpopSettings {
  /** DPoP requests per contender per round, each with a proof of its own. */
  readonly requests: number;
  readonly rounds: number;
}

const ORIGIN = 'https://api.bench.test';
const URL_PATH = '/orders';
export const DPOP_KEPT = 'tokenguard, token kept (default: cache of bound tokens)';
export const DPOP_VERIFIED = 'tokenguard, token verified every request (tokenCache: false)';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The RFC 7638 thumbprint of an EC public JWK: crv, kty, x, y in that order. */
function thumbprintOf(jwk: Record<string, unknown>): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(members).digest('base64url');
}

/** A DPoP proof (RFC 9449 §4.2) of GET /orders for `token` by the client key, made now. */
function proofFor(client: BenchKey, token: string): string {
  const { kty, crv, x, y } = client.jwk as Record<string, unknown>;
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } };
  const claims = {
    jti: randomUUID(),
    htm: 'GET',
    htu: `${ORIGIN}${URL_PATH}`,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: client.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const request = (token: string, proof: string, scheme = 'DPoP'): TokenSource => ({
  method: 'GET',
  url: URL_PATH,
  headers: { authorization: `${scheme} ${token}`, dpop: proof },
});

/**
 * DPoP requests (RFC 9449) with one RS256 access token bound to the client's ES256 key, a new proof
 * each request, as a client calling an API repeatedly sends them: what a request costs when the token
 * verified before is kept in the cache of bound tokens (the proof is still verified, its `jti` still
 * spent, the binding still checked) against the same validator without a token cache (the token's
 * signature verified every request, as before the cache of bound tokens). Both through core's
 * `authenticateRequest`, the adapters' path. A preflight proves each refuses a proof by another key, a
 * replayed proof and the token as a bearer token.
 *
 * @example
 * ```ts
 * const { table } = await runDpopScenario({ requests: 1000, rounds: 5 });
 * ```
 */
export async function runDpopScenario(settings: DpopSettings): Promise<{ table: Table }> {
  const issuerKey = generateBenchKey('RS256');
  const client = generateBenchKey('ES256');
  const stranger = generateBenchKey('ES256');
  const [token] = signPool(issuerKey, 1, 0, {
    cnf: { jkt: thumbprintOf(client.jwk as Record<string, unknown>) },
  });
  const bound = token as string;
  const make = (tokenCache: false | undefined): Validator =>
    createValidator({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [issuerKey.jwk as Record<string, unknown>] },
      dpop: { origin: ORIGIN },
      ...(tokenCache === false ? { tokenCache: false } : {}),
    });
  const validators = new Map([
    [DPOP_KEPT, make(undefined)],
    [DPOP_VERIFIED, make(false)],
  ]);
  for (const [name, validator] of validators) await preflight(name, validator, bound, client, stranger);
  const contenders: Contender[] = [...validators].map(([name, validator]) => ({
    name,
    prepare() {
      const proofs = Array.from({ length: settings.requests }, () => proofFor(client, bound));
      return {
        ops: proofs.length,
        async run(start: number, end: number) {
          for (let i = start; i < end; i++) {
            const { auth } = await authenticateRequest(validator, request(bound, proofs[i] as string));
            if (auth === undefined) throw new Error(`${name}: no auth`);
          }
        },
      };
    },
  }));
  const rounds = await interleaveRounds(contenders, settings.rounds);
  const medians = mediansOf(rounds);
  for (const validator of validators.values()) await validator.close();
  const kept = medians.get(DPOP_KEPT) as number;
  const verified = medians.get(DPOP_VERIFIED) as number;
  const [low, high] = ratioRange(rounds.get(DPOP_KEPT), rounds.get(DPOP_VERIFIED));
  return {
    table: {
      title: 'DPoP requests (RFC 9449): one RS256 token bound to an ES256 key, a new proof each request',
      columns: ['contender', 'requests/s', 'ratio'],
      rows: [
        [DPOP_VERIFIED, formatNumber(verified), '1.00'],
        [
          DPOP_KEPT,
          formatNumber(kept),
          `${(kept / verified).toFixed(2)} (rounds ${low.toFixed(2)}–${high.toFixed(2)})`,
        ],
      ],
      notes: [
        `Median of ${settings.rounds} rounds of ${settings.requests} requests each, the two taking turns in slices; each request is core's authenticateRequest (what the adapters call) with \`Authorization: DPoP\` and a proof made for it beforehand. Every request verifies its proof (an ES256 signature), checks its htm, htu, iat and ath and spends its jti; the token kept in the cache of bound tokens (from its second verification on) is still held to the proof's key at every request, and without a token cache its RS256 signature and claims are verified each time.`,
        'A preflight proves both refuse a proof by another key, the same proof twice and the token sent as a bearer token, before anything is measured.',
      ],
    },
  };
}

async function preflight(
  name: string,
  validator: Validator,
  token: string,
  client: BenchKey,
  stranger: BenchKey,
): Promise<void> {
  const refusedWith = async (source: TokenSource, code: string, what: string): Promise<void> => {
    const outcome = await authenticateRequest(validator, source).then(
      () => 'accepted',
      (error: { code?: string }) => error.code,
    );
    if (outcome !== code) throw new Error(`[bench] dpop preflight: ${name} answered ${outcome} to ${what}`);
  };
  // Three times, so the token is in the cache of bound tokens when the refusals are asked.
  for (let i = 0; i < 3; i++) await authenticateRequest(validator, request(token, proofFor(client, token)));
  const proof = proofFor(client, token);
  await authenticateRequest(validator, request(token, proof));
  await refusedWith(request(token, proof), 'ERR_DPOP_PROOF_INVALID', 'a replayed proof');
  await refusedWith(
    request(token, proofFor(stranger, token)),
    'ERR_DPOP_BINDING_MISMATCH',
    'a proof by another key',
  );
  await refusedWith(
    { headers: { authorization: `Bearer ${token}` } },
    'ERR_TOKEN_BOUND',
    'the token as a bearer token',
  );
}
