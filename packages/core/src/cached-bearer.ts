import type { AuthInfo } from './auth-info.js';
import { rawAuthorization } from './lib/headers.js';
import type { TransportOptions } from './transport.js';
import { cachePeekOf, type Validator } from './validator.js';

/**
 * Answers a request from the validator's cache of verified tokens, or says it cannot: see
 * {@link createCachedBearerLookup}.
 *
 * @example
 * ```ts
 * const lookup: CachedBearerLookup | undefined = createCachedBearerLookup(validator, {});
 * const auth = lookup?.(req.headers.authorization, req.rawHeaders);
 * ```
 */
export type CachedBearerLookup = (
  authorization: unknown,
  rawHeaders: readonly string[] | undefined,
) => AuthInfo | undefined;

/**
 * For adapters, the shortest way through a request that repeats a token: given a Node request's
 * `Authorization` value and raw header list, the caller the validator's cache holds for it, or
 * `undefined`, and the request then goes {@link authenticateRequestNow}'s whole way, which answers it
 * as before. Only the plainest request is answered here: one `Authorization` header, spelled
 * `Bearer <token>` with one space, whose token the cache holds and may still use; anything else (no
 * header, two, another spelling, no cache, a token not cached or past its time, a `validate` replaced on the
 * validator, a clock that throws) is left to the whole way, so no answer differs from it. Never
 * throws, never changes the cache. Like `authenticateRequestNow` it applies no requirements: the
 * adapter applies the route's.
 *
 * `undefined` instead of a lookup when nothing can be answered this way: a validator made some other
 * way than {@link createValidator}, a form body or query string that may also
 * carry a token (sent two ways is a 400), or `dpop.required` (a Bearer token is then refused).
 *
 * @example
 * ```ts
 * const cached = createCachedBearerLookup(validator, {});
 * const auth = cached?.(req.headers.authorization, req.rawHeaders);
 * if (auth !== undefined) req.auth = auth;
 * else req.auth = (await authenticateRequest(validator, source)).auth;
 * ```
 */
export function createCachedBearerLookup(
  validator: Validator,
  transport: TransportOptions,
): CachedBearerLookup | undefined {
  const own = cachePeekOf(validator);
  if (own === undefined) return undefined;
  if (transport.body === true || transport.query === true) return undefined;
  if (validator.options.dpop?.required === true) return undefined;
  return (authorization, rawHeaders) => {
    // A `validate` replaced since (a wrapper, a spy) must see every token.
    if (validator.validate !== own.validate || rawHeaders === undefined) return undefined;
    if (typeof authorization !== 'string') return undefined;
    // The one header sent, as Node's record holds it (two headers are a 400 on the whole way).
    if (rawAuthorization(rawHeaders) !== authorization) return undefined;
    // Compared whole with the `Bearer <token>` the cache keeps: no other spelling is answered.
    return own.peekAuthorization(authorization);
  };
}
