import type { FastifyRequest } from 'fastify';

/** A route's config as Fastify keeps it: the route's own `config`, with its `url` and `method`. */
export type RouteConfig = { readonly auth?: unknown; readonly url?: string };

type Keyed = Record<symbol, { readonly config?: unknown } | undefined>;

/**
 * The symbol under which Fastify keeps a request's route context: `undefined` until learned from the
 * first request, `null` when none holds it (then `routeOptions` is read every time).
 */
let contextKey: symbol | null | undefined;

/**
 * The config of the route that `request` matched, as `request.routeOptions.config` gives it, read
 * without `routeOptions`: that getter builds a new object of a dozen fields on every read (and asks
 * the router for its constraint strategies), about 4,000 instructions of a request that Fastify
 * otherwise serves in 75,000. Fastify keeps the route's context under a symbol of its own, not
 * exported: the symbol is found once, as the one holding the context whose `config` is the very
 * object `routeOptions.config` gave, and from then on read directly; a request on which it holds
 * no config (another Fastify) is read through `routeOptions` again.
 *
 * @example
 * ```ts
 * const auth = routeConfigOf(request)?.auth; // the route's `config.auth`
 * ```
 */
export function routeConfigOf(request: FastifyRequest): RouteConfig | undefined {
  if (contextKey) {
    const config = (request as unknown as Keyed)[contextKey]?.config;
    if (config !== undefined) return config as RouteConfig;
  }
  const config = request.routeOptions.config as RouteConfig | undefined;
  if (contextKey === undefined && config !== undefined) contextKey = keyHolding(request, config);
  return config;
}

/** The symbol of `request`'s own properties holding an object whose `config` is `config`, or null. */
function keyHolding(request: FastifyRequest, config: object): symbol | null {
  const keyed = request as unknown as Keyed;
  return (
    Object.getOwnPropertySymbols(request).find((key) => {
      const value = keyed[key];
      return typeof value === 'object' && value !== null && value.config === config;
    }) ?? null
  );
}
