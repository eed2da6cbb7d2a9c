import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * @hono/node-server's lightweight `Request` keeps Node's request and, once something reads
 * `c.req.raw.headers`, the fetch `Headers` built from it, under symbol keys of its own. They are
 * found once, by the values they hold (not by name); `headersKey` is `null` when this server keeps
 * the `Headers` otherwise (its requests are then read through `c.req.raw.headers`).
 */
let incomingKey: symbol | undefined;
let headersKey: symbol | null | undefined;

type Keyed = Record<symbol, unknown>;

function ownKeyHolding(target: Keyed, value: unknown): symbol | null {
  return Object.getOwnPropertySymbols(target).find((key) => target[key] === value) ?? null;
}

/**
 * Finds the two keys on the first of the server's own requests (building its `Headers` once); a
 * `Request` that does not hold `incoming` teaches nothing, and the next request is looked at again.
 */
function learnKeys(raw: Request, incoming: IncomingMessage): void {
  const keyed = raw as unknown as Keyed;
  const key = ownKeyHolding(keyed, incoming);
  if (key === null) return;
  incomingKey = key;
  headersKey = ownKeyHolding(keyed, raw.headers);
}

/**
 * On @hono/node-server, Node's own request when `c.req.raw` is the server's request for it; in an
 * app called with another `Request` and the outer request's `c.env` (`app.mount()`, a gateway
 * forwarding to `inner.fetch(request, c.env)`), or on any other runtime, `undefined`.
 *
 * @example
 * ```ts
 * const incoming = nodeRequestOf(c);
 * const rawHeaders = incoming?.rawHeaders; // shows a second Authorization header
 * ```
 */
export function nodeRequestOf(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined) return undefined;
  const raw = c.req.raw;
  if (incomingKey === undefined) learnKeys(raw, incoming);
  if (incomingKey === undefined || (raw as unknown as Keyed)[incomingKey] !== incoming) return undefined;
  return incoming;
}

/**
 * Whether Node's header record still holds the headers of `raw`, the server's request (see
 * {@link nodeRequestOf}): true until something builds the fetch `Headers` of `c.req.raw`, which a
 * middleware may then change (set `Authorization` from a cookie, delete it). Reading the record
 * skips building them.
 *
 * @example
 * ```ts
 * const headers = incoming !== undefined && nodeHeadersCurrent(c.req.raw) ? incoming.headers : c.req.raw.headers;
 * ```
 */
export function nodeHeadersCurrent(raw: Request): boolean {
  return headersKey != null && (raw as unknown as Keyed)[headersKey] === undefined;
}
