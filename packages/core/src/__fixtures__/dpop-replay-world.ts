/**
 * What the tests of `dpop.replayStore` share: an issuer key, a client's DPoP key and a token bound to
 * it, instances of an API (validators) on a clock the test moves, the client's proofs and requests, and
 * a store with Redis's `SET key 1 NX PXAT` semantics kept in this process (it stands for the Redis the
 * instances would share: a real implementation of the interface, judged by its own clock).
 */
import { calculateJwkThumbprint } from 'jose';
import { dpopProof, proofJwk } from '../../../../test/support/dpop.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../../test/support/keys.js';
import type { DpopOptions, DpopReplayStore, ValidatorOptions } from '../options.js';
import type { TokenSource } from '../transport.js';
import { createValidator, type Validator } from '../validator.js';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'https://api.test';
export const ORIGIN = 'https://api.test';
export const NOW_SEC = 1_700_000_000;

/** The issuer's key, the client's DPoP key, its thumbprint and a token bound to it (`cnf.jkt`). */
export interface ReplayWorld {
  readonly issuerKey: SigningKey;
  readonly client: SigningKey;
  readonly clientJkt: string;
  readonly token: string;
  /** A token of the same issuer bound to `jkt`, with more claims. */
  boundToken(jkt: string, claims?: Record<string, unknown>): Promise<string>;
}

export async function replayWorld(): Promise<ReplayWorld> {
  const issuerKey = generateSigningKey('ES256', { kid: 'as-1' });
  const client = generateSigningKey('ES256');
  const clientJkt = await calculateJwkThumbprint(proofJwk(client), 'sha256');
  const boundToken = (jkt: string, claims: Record<string, unknown> = {}): Promise<string> =>
    signToken(
      issuerKey,
      accessTokenClaims(
        { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC },
        { exp: NOW_SEC + 600, cnf: { jkt }, ...claims },
      ),
    );
  return { issuerKey, client, clientJkt, token: await boundToken(clientJkt), boundToken };
}

/** True time: the store's clock, and an instance's unless the test gives it a skewed one. */
export interface Clock {
  nowMs: number;
}

/** An instance of the API: a validator on `clock` (or a `now` function) with `dpop` settings. */
export function replayInstance(
  world: ReplayWorld,
  dpop: DpopOptions,
  clock: Clock | (() => number) = { nowMs: NOW_SEC * 1000 },
  more: Partial<ValidatorOptions> = {},
): Validator {
  return createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [world.issuerKey.publicJwk] },
    realm: 'api',
    now: typeof clock === 'function' ? clock : () => clock.nowMs,
    dpop: { origin: ORIGIN, algorithms: ['ES256'], ...dpop },
    ...more,
  } as ValidatorOptions);
}

/** A proof of `GET ORIGIN/orders` by the client (or `key`) for the world's token (or `bearer`). */
export function replayProof(
  world: ReplayWorld,
  options: { jti?: string; iat?: number; key?: SigningKey; bearer?: string; htu?: string } = {},
): Promise<string> {
  return dpopProof(options.key ?? world.client, {
    htm: 'GET',
    htu: options.htu ?? `${ORIGIN}/orders`,
    iat: options.iat ?? NOW_SEC,
    token: options.bearer ?? world.token,
    ...(options.jti === undefined ? {} : { jti: options.jti }),
  });
}

/** `GET /orders` on ORIGIN with `Authorization: DPoP <bearer>` and the proof, as an adapter describes it. */
export function replayRequest(dpop: string, bearer: string): TokenSource {
  return {
    method: 'GET',
    url: '/orders',
    origin: ORIGIN,
    headers: { authorization: `DPoP ${bearer}`, dpop },
  };
}

/**
 * Redis's `SET key 1 NX PXAT expiresAtMs` in this process, judged by the store's own clock: a key is
 * there until the clock passes its expiry (Redis: expired once now > at), and PXAT takes whole
 * milliseconds only (Redis answers "ERR value is not an integer or out of range" to anything else;
 * node-redis 4 sends `PXAT.toString()`). `latencyMs`: how long a command takes to reach the store, true
 * time moving on meanwhile. With `hold`, commands wait until the test runs them from `held`.
 */
export class RedisLikeStore implements DpopReplayStore {
  readonly entries = new Map<string, number>();
  readonly calls: Array<{ key: string; expiresAtMs: number; atMs: number }> = [];
  readonly held: Array<() => void> = [];
  hold = false;
  constructor(
    private readonly clock: Clock = { nowMs: NOW_SEC * 1000 },
    private readonly latencyMs = 0,
  ) {}
  markUsed(key: string, expiresAtMs: number): Promise<boolean> {
    if (this.hold) {
      return new Promise<boolean>((resolve, reject) => {
        this.held.push(() => this.answer(key, expiresAtMs).then(resolve, reject));
      });
    }
    this.clock.nowMs += this.latencyMs;
    return this.answer(key, expiresAtMs);
  }
  private answer(key: string, expiresAtMs: number): Promise<boolean> {
    this.calls.push({ key, expiresAtMs, atMs: this.clock.nowMs });
    if (!Number.isInteger(expiresAtMs)) {
      return Promise.reject(new Error('ERR value is not an integer or out of range'));
    }
    const at = this.entries.get(key);
    if (at !== undefined && this.clock.nowMs <= at) return Promise.resolve(false);
    this.entries.set(key, expiresAtMs);
    return Promise.resolve(true);
  }
}
