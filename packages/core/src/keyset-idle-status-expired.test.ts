/**
 * Was a defect (failed until fixed: `expired` now needs a failed refetch; KEYSET.md defines each status):
 * `state()` reported an idle key
 * set as `expired`, the status KEYSET.md tells a health check to fail on, while its issuer answers
 * and nothing has failed.
 *
 * KEYSET.md, "Controls and observability": "`validator.state().issuers[i].keySet`: ... `status`
 * (`empty` | `fresh` | `stale` | `expired`) ...: enough for a health check (`status !== 'expired'`)."
 * KEYSET.md, "Decisions": "No timers. All work is driven by requests", and "The policy": "Past max age
 * the set is revalidated _before_ use ... Only when the fetch fails, or while the issuer is already
 * known to be failing, is the last good set used (state `stale`)".
 *
 * jwks.ts `state()` derives the status from the clock alone: past `expiresAt` it says `stale`, past
 * `expiresAt + staleIfErrorSec` (70 min with the defaults) `expired`, with `consecutiveFailures` 0.
 * A worker or an API that saw no token for 70 minutes then fails the documented health check though
 * its issuer is fine; used as a readiness probe, the instance is taken out of the load balancer, so
 * no request comes to revalidate the set (no timers), and it stays "expired" for good. The next
 * token would in fact validate: the first request revalidates the set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JwksServer, startJwksServer } from '../../../test/support/jwks-server.js';
import {
  accessTokenClaims,
  generateSigningKey,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { createValidator } from './validator.js';

const ISS = 'https://id.example';
const AUD = 'https://api.example';

let key: SigningKey;
let jwks: JwksServer;

beforeAll(async () => {
  key = generateSigningKey('ES256', { kid: 'k1' });
  jwks = await startJwksServer([key.publicJwk as Record<string, unknown>]);
});

afterAll(async () => {
  await jwks.close();
});

describe('state().keySet.status of an idle validator whose issuer is up', () => {
  it("was a defect: is not 'expired' (the documented health check's failure) while nothing has failed", async () => {
    let clock = 1_800_000_000_000;
    const validator = createValidator({ issuer: ISS, audience: AUD, jwksUri: jwks.url, now: () => clock });
    try {
      await validator.warm();
      // No token for 600 s (default max age) + 3600 s (staleIfErrorSec) + 1 s; the issuer still answers.
      clock += (600 + 3600 + 1) * 1000;
      const idle = validator.state().issuers[0]?.keySet;
      expect(idle?.consecutiveFailures).toBe(0);
      expect(jwks.fault).toBe('none');
      // What the health check of KEYSET.md reads: this instance would be reported down.
      expect(idle?.status).not.toBe('expired');

      // It is not: the next token validates, the set revalidated on the way.
      const token = await signToken(
        key,
        accessTokenClaims({ iss: ISS, aud: AUD, nowSec: Math.floor(clock / 1000) }),
      );
      expect((await validator.validate(token)).subject).toBe('user-1');
    } finally {
      await validator.close();
    }
  });
});
