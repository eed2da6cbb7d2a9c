/**
 * Was a defect (failed until fixed: warm() and refreshKeys() wait for every fetch, then reject with the first failure): with several issuers, `warm()` and `refreshKeys()` settle as
 * soon as one issuer's key set fails (validator.ts: `Promise.all`), while the other issuers' fetches
 * are still in flight. The docs promise that awaiting them means the fetches happened:
 *
 * - packages/core/README.md, "A worker": "await validator.warm(); // discovery and keys now, so the
 *   first message does not wait"
 * - README "The validator": "`warm()` | fetches discovery documents and key sets now";
 *   "`refreshKeys()` | refetches every remote key set now (e.g. on a rotation signal)"
 * - KEYSET.md "Controls and observability": "`await validator.refreshKeys()`: fetch now, ignoring
 *   backoff (after any fetch in flight, so the answer reflects the issuer as of the call)".
 *
 * A worker that logs the rejection of warm() and starts taking messages has the healthy issuer's
 * keys not yet loaded; a rotation webhook that awaits refreshKeys() sees it settle before the
 * healthy issuer's rotated set has been read. Real JWKS servers on 127.0.0.1: issuer A's server holds
 * its answer until the test releases it, issuer B's answers 500 at once.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { createValidator, type Validator } from './validator.js';

const AUD = 'https://api.example';

let key: SigningKey;
let server: Server;
let base: string;
/** Held answers of issuer A's key set, released by the test. */
let held: ServerResponse[] = [];
let arrived: (() => void) | undefined;

beforeAll(async () => {
  key = generateSigningKey('ES256', { kid: 'a-1' });
  server = createServer((req, res) => {
    if (req.url === '/b') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    held.push(res);
    arrived?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function release(): void {
  for (const res of held.splice(0)) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
  }
}

/** Runs `call`; records issuer A's key set status at the moment the call settles. */
async function statusWhenSettled(validator: Validator, call: () => Promise<void>): Promise<string> {
  held = [];
  const arrival = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  let statusAtSettle = 'not settled';
  const settled = call().then(
    () => undefined,
    () => undefined,
  );
  const recorded = settled.then(() => {
    statusAtSettle = validator.state().issuers[0]?.keySet.status ?? 'none';
  });
  await arrival;
  // Give issuer B's 500 time to come back before A's answer is released (bounded; a slow machine
  // can only make this test pass, never fail, wrongly).
  await Promise.race([recorded, new Promise((resolve) => setTimeout(resolve, 500))]);
  release();
  await recorded;
  return statusAtSettle;
}

function twoIssuers(now: () => number = Date.now): Validator {
  return createValidator({
    now,
    issuers: [
      { issuer: 'https://a.example', audience: AUD, jwksUri: `${base}/a` },
      { issuer: 'https://b.example', audience: AUD, jwksUri: `${base}/b` },
    ],
  });
}

describe('warm() and refreshKeys() with one issuer down', () => {
  it("was a defect: warm() settles only once every issuer's key set fetch has ended (the healthy one's set is loaded)", async () => {
    const validator = twoIssuers();
    try {
      expect(await statusWhenSettled(validator, () => validator.warm())).toBe('fresh');
    } finally {
      release();
      await validator.close();
    }
  });

  it("was a defect: refreshKeys() settles only once every issuer's refetch has ended (the healthy one's new set is read)", async () => {
    let clock = 1_800_000_000_000;
    const validator = twoIssuers(() => clock);
    try {
      await statusWhenSettled(validator, () => validator.warm());
      // Wait (bounded) until A's first set is loaded, whatever warm() did.
      for (let i = 0; i < 100 && validator.state().issuers[0]?.keySet.status !== 'fresh'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(validator.state().issuers[0]?.keySet.lastSuccessAt).toBe(clock);
      clock += 1_000;
      let lastSuccessAtSettle: number | undefined;
      await statusWhenSettled(validator, async () => {
        try {
          await validator.refreshKeys();
        } finally {
          lastSuccessAtSettle = validator.state().issuers[0]?.keySet.lastSuccessAt;
        }
      });
      // A's refetch had answered when refreshKeys() settled.
      expect(lastSuccessAtSettle).toBe(clock);
    } finally {
      release();
      await validator.close();
    }
  });
});
