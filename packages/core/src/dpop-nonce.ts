import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResolvedDpopNonceOptions } from './options.js';

/** Bytes of HMAC-SHA256 kept in a nonce: 128 bits, 22 base64url characters. */
const NONCE_MAC_BYTES = 16;
/** Bytes of the secret a validator makes for itself when `dpop.nonce.secret` is not given. */
const GENERATED_SECRET_BYTES = 32;
/** Separates the nonces of this use from any other HMAC made with the same secret. */
const LABEL = 'tokenguard DPoP nonce v1';

/**
 * RFC 9449 §9 server nonces, stateless: the nonce of a time window (`floor(nowSec / lifetimeSec)`) is
 * the base64url HMAC-SHA256 of that window under the secret (RFC 9449 §8.1's NQCHAR alphabet). A proof's
 * nonce is accepted when it is the current window's or the previous one's, so a nonce handed out lives
 * between one and two lifetimes; instances with the same secret and lifetime accept each other's. The
 * nonces of `previousSecrets` (for the same two windows) are accepted too, never handed out: how a
 * secret is rotated without refusing the nonces clients already hold.
 *
 * @example
 * ```ts
 * const nonces = createDpopNonces({ secret: undefined, previousSecrets: [], lifetimeSec: 300 });
 * const nonce = nonces.current(Date.now()); // sent as DPoP-Nonce
 * nonces.accepts(nonce, Date.now()); // true, for one to two lifetimes
 * ```
 */
export interface DpopNonces {
  /** The nonce to hand out at `nowMs` (the current window's). */
  current(nowMs: number): string;
  /** Whether a proof's `nonce` claim is the current window's nonce or the previous one's. */
  accepts(nonce: unknown, nowMs: number): boolean;
}

/** Creates the {@link DpopNonces} of a validator's `dpop.nonce` option (32 random bytes without a secret). */
export function createDpopNonces(options: ResolvedDpopNonceOptions): DpopNonces {
  // KeyObjects of their own: the bytes `validator.options` reveals, changed later, change nothing.
  // The first hands out nonces; every one accepts them.
  const secrets = [
    createSecretKey(options.secret?.reveal() ?? randomBytes(GENERATED_SECRET_BYTES)),
    ...options.previousSecrets.map((secret) => createSecretKey(secret.reveal())),
  ];
  const lifetimeMs = options.lifetimeSec * 1000;
  // The nonces of the last window asked about, so a request costs a division, not HMACs: for each
  // secret, the window's nonce and the previous window's.
  let window = Number.NaN;
  let current: Buffer[] = [];
  let previous: Buffer[] = [];
  let currentText = '';

  const nonceOf = (secret: KeyObject, n: number): Buffer =>
    Buffer.from(
      createHmac('sha256', secret)
        .update(`${LABEL}:${options.lifetimeSec}:${n}`)
        .digest()
        .subarray(0, NONCE_MAC_BYTES)
        .toString('base64url'),
    );

  const settle = (nowMs: number): void => {
    const n = Math.floor(nowMs / lifetimeMs);
    if (n === window) return;
    // One window on (the usual step), the nonces that were current become the previous ones.
    previous = n === window + 1 ? current : secrets.map((secret) => nonceOf(secret, n - 1));
    current = secrets.map((secret) => nonceOf(secret, n));
    currentText = (current[0] as Buffer).toString();
    window = n;
  };

  return {
    current(nowMs) {
      settle(nowMs);
      return currentText;
    },
    accepts(nonce, nowMs) {
      if (typeof nonce !== 'string') return false;
      settle(nowMs);
      // Every nonce has the same length, which says nothing about the secrets: only equal lengths are compared.
      const given = Buffer.from(nonce);
      if (given.length !== (current[0] as Buffer).length) return false;
      // Every one compared, in constant time: neither how far a guess matched nor which secret's nonce
      // it was says anything.
      let accepted = false;
      for (let index = 0; index < secrets.length; index++) {
        const isCurrent = timingSafeEqual(given, current[index] as Buffer);
        const isPrevious = timingSafeEqual(given, previous[index] as Buffer);
        accepted = isCurrent || isPrevious || accepted;
      }
      return accepted;
    },
  };
}
