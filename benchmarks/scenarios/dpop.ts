import { createHash, randomUUID, sign } from 'node:crypto';
import { authenticateRequest, createValidator, type TokenSource, type Validator } from '@tokenguard/core';
import { type Contender, interleaveSlices, ratesOf, runRatio } from '../lib/measure.js';
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
 * `authenticateRequest`, the adapters' path. A preflight ({@link preflightDpop}) proves each refuses a
 * proof by another key, a replayed proof and the token as a bearer token, and that each keeps the token
 * or not as its row says.
 *
 * @example
 * ```ts
 * const { table } = await runDpopScenario({ requests: 1000, rounds: 5 });
 * ```
 */
export async function runDpopScenario(settings: DpopSettings): Promise<{ table: Table }> {
  const material = dpopMaterial();
  const { client, token: bound, stranger } = material;
  const validators = new Map([
    [DPOP_KEPT, dpopValidator(material.issuerKey)],
    [DPOP_VERIFIED, dpopValidator(material.issuerKey, { tokenCache: false })],
  ]);
  for (const [name, validator] of validators) {
    await preflightDpop({ name, validator, keeps: name === DPOP_KEPT }, { token: bound, client, stranger });
  }
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
  const slices = await interleaveSlices(contenders, settings.rounds);
  const rates = ratesOf(slices);
  for (const validator of validators.values()) await validator.close();
  const kept = rates.get(DPOP_KEPT) as number;
  const verified = rates.get(DPOP_VERIFIED) as number;
  const ratio = runRatio(slices.get(DPOP_KEPT), slices.get(DPOP_VERIFIED));
  return {
    table: {
      title: 'DPoP requests (RFC 9449): one RS256 token bound to an ES256 key, a new proof each request',
      columns: ['contender', 'requests/s', 'ratio'],
      rows: [
        [DPOP_VERIFIED, formatNumber(verified), '1.00'],
        [
          DPOP_KEPT,
          formatNumber(kept),
          `${ratio.value.toFixed(2)} (rounds ${ratio.roundLow.toFixed(2)}–${ratio.roundHigh.toFixed(2)})`,
        ],
      ],
      notes: [
        `${settings.rounds} rounds of ${settings.requests} requests each, the two taking turns in slices (each slice after the same untimed spacer); requests/s: requests over time, all rounds together, and the ratio their quotient (rounds: the same ratio round by round); each request is core's authenticateRequest (what the adapters call) with \`Authorization: DPoP\` and a proof made for it beforehand. Every request verifies its proof (an ES256 signature), checks its htm, htu, iat and ath and spends its jti; the token kept in the cache of bound tokens (from its second verification on) is still held to the proof's key at every request, and without a token cache its RS256 signature and claims are verified each time.`,
        'A preflight proves both refuse a proof by another key, the same proof twice and the token sent as a bearer token, before anything is measured.',
      ],
    },
  };
}

/** The scenario's keys and its one bound token: the issuer's RS256 key, the client's and another ES256 key. */
export interface DpopMaterial {
  readonly issuerKey: BenchKey;
  readonly client: BenchKey;
  readonly stranger: BenchKey;
  /** An access token by `issuerKey`, bound to `client`'s key (`cnf.jkt`). */
  readonly token: string;
}

/**
 * New keys and a token bound to the client's key, for {@link runDpopScenario} and its preflight.
 *
 * @example
 * ```ts
 * const { issuerKey, client, token } = dpopMaterial();
 * ```
 */
export function dpopMaterial(): DpopMaterial {
  const issuerKey = generateBenchKey('RS256');
  const client = generateBenchKey('ES256');
  const stranger = generateBenchKey('ES256');
  const [token] = signPool(issuerKey, 1, 0, {
    cnf: { jkt: thumbprintOf(client.jwk as Record<string, unknown>) },
  });
  return { issuerKey, client, stranger, token: token as string };
}

/**
 * A validator of the scenario's tokens taking DPoP proofs for the scenario's origin; `extra` adds options
 * (`{ tokenCache: false }` for the baseline).
 *
 * @example
 * ```ts
 * const baseline = dpopValidator(issuerKey, { tokenCache: false });
 * ```
 */
export function dpopValidator(issuerKey: BenchKey, extra: { tokenCache?: false } = {}): Validator {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [issuerKey.jwk as Record<string, unknown>] },
    dpop: { origin: ORIGIN },
    ...extra,
  });
}

/** What {@link preflightDpop} holds a contender to. */
export interface DpopContender {
  readonly name: string;
  readonly validator: Validator;
  /** Whether its row says it keeps the token in the cache of bound tokens. */
  readonly keeps: boolean;
}

/**
 * Throws, naming the contender, unless it accepts the bound token with proofs of its key, refuses a
 * replayed proof, a proof by another key (`stranger`) and the token as a bearer token, and keeps the
 * token in its cache of bound tokens (`validator.state().tokenCache.boundEntries`) exactly when its row
 * says so: a contender that measured something else than its row would otherwise be published.
 *
 * @example
 * ```ts
 * await preflightDpop({ name: DPOP_KEPT, validator, keeps: true }, { token, client, stranger });
 * ```
 */
export async function preflightDpop(
  contender: DpopContender,
  material: Pick<DpopMaterial, 'token' | 'client' | 'stranger'>,
): Promise<void> {
  const { name, validator, keeps } = contender;
  const { token, client, stranger } = material;
  const fail = (what: string): never => {
    throw new Error(`[bench] dpop preflight: ${name} ${what}`);
  };
  const refusedWith = async (source: TokenSource, code: string, what: string): Promise<void> => {
    const outcome = await authenticateRequest(validator, source).then(
      () => 'accepted',
      (error: { code?: string }) => error.code,
    );
    if (outcome !== code) fail(`answered ${outcome} to ${what}`);
  };
  // Three times, so a cache of bound tokens holds the token when the refusals are asked.
  for (let i = 0; i < 3; i++) await authenticateRequest(validator, request(token, proofFor(client, token)));
  const kept = validator.state().tokenCache.boundEntries ?? 0;
  if (keeps && kept !== 1)
    fail(`keeps ${kept} tokens in its cache of bound tokens, where its row says it keeps the one`);
  if (!keeps && kept !== 0)
    fail(`keeps ${kept} tokens in a cache of bound tokens, where its row says it verifies each time`);
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
