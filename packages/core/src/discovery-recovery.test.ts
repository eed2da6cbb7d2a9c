import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSigningKey, type TestSigningKey } from '../../../test/support/jwks-server.js';
import { failure } from '../../../test/support/rejections.js';
import { createValidator, type Validator } from './validator.js';

/**
 * An issuer found by discovery that changes its document while the validator runs: KEYSET.md's
 * "recovery needs no restart" holds for the document too, which is asked again after a key set
 * fetch fails (under the fetch's backoff), never kept for the validator's whole life.
 */
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);

let server: Server;
let issuer: string;
let document: () => Record<string, unknown>;
let sets: Record<string, TestSigningKey[]>;
let asked: string[];
/** Paths that answer 503 for now (an outage of that part of the issuer). */
let down: Set<string>;
let k1: TestSigningKey;
let k2: TestSigningKey;
let clock: number;
const open: Validator[] = [];

beforeAll(async () => {
  k1 = createSigningKey('k1');
  k2 = createSigningKey('k2');
  server = createServer((req, res) => {
    const path = req.url ?? '';
    asked.push(path);
    if (down.has(path)) {
      res.writeHead(503).end();
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document()));
      return;
    }
    const keys = sets[path];
    if (keys === undefined) res.writeHead(404).end();
    else
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  asked = [];
  down = new Set();
  sets = {};
  clock = T0;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((validator) => validator.close()));
});

function validator(): Validator {
  const created = createValidator({
    issuer,
    audience: AUDIENCE,
    now: () => clock,
    http: { timeoutMs: 2000 },
    keySet: { retryMinSec: 1, retryMaxSec: 2 },
  });
  open.push(created);
  return created;
}

function token(key: TestSigningKey): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(key.privateKey);
}

describe('discovery after a failed key set fetch', () => {
  it('recovers without a restart once a document without jwks_uri is fixed', async () => {
    document = () => ({ issuer });
    const v = validator();
    const jwt = await token(k1);
    expect(await failure(v.validate(jwt))).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
    sets['/jwks'] = [k1];
    document = () => ({ issuer, jwks_uri: `${issuer}/jwks` });
    // Past the retry backoff (at most keySet.retryMaxSec): the document is asked for again.
    clock += 3_000;
    await expect(v.validate(jwt)).resolves.toMatchObject({ subject: 'user-1' });
    expect(asked.filter((path) => path === '/.well-known/openid-configuration')).toHaveLength(2);
  });

  it('follows a key set that moved: the old URL answers 404, the document names the new one', async () => {
    sets['/jwks-a'] = [k1];
    document = () => ({ issuer, jwks_uri: `${issuer}/jwks-a` });
    const v = validator();
    await expect(v.validate(await token(k1))).resolves.toMatchObject({ subject: 'user-1' });
    // The issuer moves its keys (and rotates in k2); the old location is gone.
    delete sets['/jwks-a'];
    sets['/jwks-b'] = [k1, k2];
    document = () => ({ issuer, jwks_uri: `${issuer}/jwks-b` });
    const rotated = await token(k2);
    expect(await failure(v.validate(rotated))).toMatchObject({ status: 503 });
    clock += 3_000;
    await expect(v.validate(rotated)).resolves.toMatchObject({ subject: 'user-1' });
    expect(asked).toEqual([
      '/.well-known/openid-configuration',
      '/jwks-a',
      '/jwks-a',
      '/.well-known/openid-configuration',
      '/jwks-b',
    ]);
  });

  it('keeps the discovered document while its key set answers', async () => {
    sets['/jwks'] = [k1];
    document = () => ({ issuer, jwks_uri: `${issuer}/jwks` });
    const v = validator();
    await v.validate(await token(k1));
    await v.refreshKeys();
    await v.refreshKeys();
    expect(asked.filter((path) => path === '/.well-known/openid-configuration')).toHaveLength(1);
  });

  // Discovery asked again must not make the key set depend on the discovery endpoint: a key set that
  // blipped once comes back from the URL it had while the document cannot be fetched.
  it('keeps fetching the known key set URL while the document asked again cannot be had', async () => {
    sets['/jwks'] = [k1];
    document = () => ({ issuer, jwks_uri: `${issuer}/jwks` });
    const v = validator();
    await expect(v.validate(await token(k1))).resolves.toMatchObject({ subject: 'user-1' });
    sets['/jwks'] = [k1, k2];
    down.add('/jwks');
    const rotated = await token(k2);
    expect(await failure(v.validate(rotated))).toMatchObject({ status: 503 });
    // The key set is back; the discovery endpoint is now the part that is down.
    down.delete('/jwks');
    down.add('/.well-known/openid-configuration');
    clock += 3_000;
    await expect(v.validate(rotated)).resolves.toMatchObject({ subject: 'user-1' });
    expect(asked).toEqual([
      '/.well-known/openid-configuration',
      '/jwks',
      '/jwks',
      '/.well-known/openid-configuration',
      '/jwks',
    ]);
  });
});
