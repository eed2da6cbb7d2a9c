/**
 * KEYSET.md, "Controls and observability": during the retry backoff after a failed fetch, `warm()`
 * rejects at once without asking the issuer (its `retryAfterSec` says when the next attempt may go),
 * while `refreshKeys()` asks now. A real JWKS server on 127.0.0.1 that answers 500 until told otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../../test/support/keys.js';
import { isTokenGuardError } from './errors.js';
import { createValidator } from './validator.js';

let key: SigningKey;
let server: Server;
let jwksUri: string;
let requests = 0;
let healthy = false;

beforeAll(async () => {
  key = generateSigningKey('ES256', { kid: 'k-1' });
  server = createServer((_req, res) => {
    requests++;
    if (!healthy) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('warm() during the retry backoff', () => {
  it('rejects at once without asking the issuer, with the wait in retryAfterSec; refreshKeys() asks now', async () => {
    const validator = createValidator({
      issuer: 'https://issuer.example',
      jwksUri,
      audience: 'https://api.example',
      keySet: { retryMinSec: 30, retryMaxSec: 60 },
    });
    try {
      const first = await validator.warm().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isTokenGuardError(first) && first.code).toBe('ERR_KEYS_UNAVAILABLE');
      const asked = requests;
      healthy = true;
      const second = await validator.warm().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isTokenGuardError(second) && second.code).toBe('ERR_KEYS_UNAVAILABLE');
      expect(isTokenGuardError(second) && second.retryAfterSec).toBeGreaterThanOrEqual(14);
      expect(requests).toBe(asked);
      await validator.refreshKeys();
      expect(requests).toBe(asked + 1);
      expect(validator.state().issuers[0]?.keySet?.status).toBe('fresh');
    } finally {
      healthy = false;
      await validator.close();
    }
  });
});
