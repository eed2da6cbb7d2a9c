import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';

/** What the floor middleware attaches: read by the handler as tokenguard's `auth` is. */
export interface FloorCaller {
  readonly subject: unknown;
}

/**
 * The in-process floor's work as a request's auth step, for the profiling tools (`http/paired.ts`,
 * `http/profile.ts`): an RS256 signature checked with node:crypto's synchronous `verify` and a
 * KeyObject made once from the issuer's first key, and the claims decoded; nothing else is checked
 * (no iss, aud or exp), so it is no auth layer and `pnpm bench` never measures it. Next to the
 * adapters, it shows what the framework leaves of a fresh token's cost to anything past the crypto.
 * Answers the caller, or `undefined` for anything that is not `Bearer <a JWS its key verifies>`.
 *
 * @example
 * ```ts
 * const floorAuth = await createFloorAuth(issuer.jwksUri);
 * floorAuth(req.headers.authorization)?.subject;
 * ```
 */
export async function createFloorAuth(
  jwksUri: string,
): Promise<(authorization: string | undefined) => FloorCaller | undefined> {
  const response = await fetch(jwksUri, { signal: AbortSignal.timeout(5_000) });
  const { keys } = (await response.json()) as { keys: JsonWebKey[] };
  const jwk = keys[0];
  if (jwk === undefined) throw new Error(`floor: no key at ${jwksUri}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  return (authorization) => {
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
    const token = authorization.slice('Bearer '.length);
    const first = token.indexOf('.');
    const second = token.lastIndexOf('.');
    if (first <= 0 || second <= first) return undefined;
    const valid = verify(
      'sha256',
      Buffer.from(token.slice(0, second), 'latin1'),
      key,
      Buffer.from(token.slice(second + 1), 'base64url'),
    );
    if (!valid) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
      return { subject: (claims as { sub?: unknown } | null)?.sub };
    } catch {
      // Signed claims that are not JSON: refused as the rest, not a 500.
      return undefined;
    }
  };
}
