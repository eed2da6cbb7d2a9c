/**
 * Defect (diagnosability; KEYSET.md "JSON nesting (`maxJsonDepth`) ... anything much deeper is not a
 * key set", README keySet table "deepest JSON nesting in the JWKS and discovery documents").
 *
 * A key set refused for `maxJsonDepth` is reported (in `fetch_failed.error`, `state().keySet.lastError`
 * and the 503's cause) as "<url> did not answer a JSON Web Key Set", word for word what invalid JSON
 * gets. The other limits name themselves ("sent more than 131072 bytes", "lists 101 keys, over 100"), so
 * an operator whose issuer serves a valid JWKS (one vendor extension member nested a little deep) sees
 * every token answered 503 once the stale window ends, and a message sending them to look for garbage
 * rather than at the option to raise.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createValidator, type KeySetEvent, TokenGuardError } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ISSUER = 'https://issuer.test';
let body = '';
let server: Server;
let url: string;
let jwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  jwk = { ...createPublicKey(pair.publicKey).export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a key set refused for maxJsonDepth', () => {
  it('says so, instead of the message invalid JSON gets', async () => {
    const failures: string[] = [];
    const v = createValidator({
      issuer: ISSUER,
      audience: 'https://api.test',
      jwksUri: url,
      onEvent: (event: KeySetEvent) => {
        if (event.type === 'fetch_failed') failures.push(event.error);
      },
    });
    try {
      body = JSON.stringify({ keys: [jwk] });
      await v.warm();

      // Valid JSON, a valid key set: one extension member nests 9 deep in all (default limit 8).
      body = JSON.stringify({ keys: [{ ...jwk, ext: { a: { b: { c: { d: { e: {} } } } } } }] });
      const deep = await v.refreshKeys().catch((error: unknown) => error);
      expect(deep).toBeInstanceOf(TokenGuardError);
      // Held: the last good set is kept.
      expect(v.state().issuers[0]?.keySet.kids).toEqual(['k1']);
      const deepMessage = v.state().issuers[0]?.keySet.lastError;

      body = '{"keys": [';
      await v.refreshKeys().catch(() => undefined);
      const garbageMessage = v.state().issuers[0]?.keySet.lastError;

      expect(failures).toEqual([deepMessage, garbageMessage]);
      expect(deepMessage).not.toBe(garbageMessage);
      expect(deepMessage).toMatch(/nest|deep|depth/i);
    } finally {
      await v.close();
    }
  });
});
