/**
 * Key set promises that held in a user's review, kept for what no other test covers: a hung JWKS
 * server under concurrent cold traffic (one fetch, one deadline, then fail-fast during backoff); an
 * unknown-`kid` storm whose shared refetch is slow does not delay valid tokens; the size and key-count
 * limits at their exact bounds (the bound itself is accepted, one more is refused, the last good set
 * kept); and "No timers: a validator never keeps a process alive" (KEYSET.md, Decisions), without
 * `close()`. A real JWKS server on 127.0.0.1 whose answers change during each test.
 */
import { spawn } from 'node:child_process';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createValidator, TokenGuardError, type Validator, type ValidatorOptions } from '@tokenguard/core';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function makeKey(kid: string): Key {
  const pair = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const jwk = createPublicKey(pair.publicKey).export({ format: 'jwk' });
  return {
    kid,
    privateKey: createPrivateKey(pair.privateKey),
    jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' },
  };
}

/** What the server answers: the keys, a raw body, or nothing at all (hung). */
let answer: { kind: 'keys' } | { kind: 'body'; body: string } | { kind: 'hang' } = { kind: 'keys' };
let keys: Record<string, unknown>[] = [];
let latencyMs = 0;
let requests = 0;
let server: Server;
let url: string;
let clock = T0;
const hung = new Set<ServerResponse>();
const open: Validator[] = [];
let k1: Key;

beforeAll(async () => {
  k1 = makeKey('k1');
  server = createServer((_req, res) => {
    requests++;
    const now = answer;
    if (now.kind === 'hang') {
      hung.add(res);
      return;
    }
    const body = now.kind === 'body' ? now.body : JSON.stringify({ keys });
    const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (latencyMs > 0) setTimeout(send, latencyMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterEach(async () => {
  for (const res of hung) res.destroy();
  hung.clear();
  answer = { kind: 'keys' };
  keys = [k1.jwk];
  latencyMs = 0;
  clock = T0;
  await Promise.all(open.splice(0).map((v) => v.close()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function validator(overrides: Partial<ValidatorOptions> = {}): Validator {
  const v = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: url,
    now: () => clock,
    ...overrides,
  });
  open.push(v);
  return v;
}

function sign(key: Key, kid = key.kid): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read', client_id: 'c' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('u')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(key.privateKey);
}

async function outcome(v: Validator, jwt: string): Promise<string> {
  try {
    await v.validate(jwt);
    return 'ok';
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

describe('a hung JWKS server under concurrent cold traffic', () => {
  it('gets one request; every caller is answered 503 within one deadline, then at once during backoff', {
    timeout: 8000,
  }, async () => {
    keys = [k1.jwk];
    answer = { kind: 'hang' };
    const v = validator({
      http: { timeoutMs: 500, connectTimeoutMs: 5000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 },
      keySet: { retryMinSec: 2, retryMaxSec: 2 },
    });
    const jwt = await sign(k1);
    const before = requests;
    // The server never answers: only the 500 ms deadline can settle these (the test's own timeout bounds it).
    const answers = await Promise.all(Array.from({ length: 200 }, () => outcome(v, jwt)));
    expect(new Set(answers)).toEqual(new Set(['503 ERR_KEYS_UNAVAILABLE']));
    expect(requests - before).toBe(1);

    // During the backoff: answered without a fetch (the hung server would otherwise hold it past the test).
    expect(await outcome(v, jwt)).toBe('503 ERR_KEYS_UNAVAILABLE');
    expect(requests - before).toBe(1);

    answer = { kind: 'keys' };
    clock += 2000;
    expect(await outcome(v, jwt)).toBe('ok');
    expect(requests - before).toBe(2);
  });
});

describe('an unknown-kid storm whose refetch is slow', () => {
  it('makes one fetch and does not delay valid tokens', { timeout: 8000 }, async () => {
    keys = [k1.jwk];
    const v = validator();
    await v.warm();
    const good = await sign(k1);
    const storm = await Promise.all(Array.from({ length: 100 }, () => sign(k1, randomUUID())));
    latencyMs = 1000;
    const before = requests;
    let stormSettled = false;
    const stormAnswers = Promise.all(storm.map((jwt) => outcome(v, jwt))).finally(() => {
      stormSettled = true;
    });
    const goods = await Promise.all(Array.from({ length: 50 }, () => outcome(v, good)));
    // Answered while the storm's refetch (1 s) is still out: they did not wait for it.
    expect(stormSettled).toBe(false);
    expect(new Set(goods)).toEqual(new Set(['ok']));
    expect(new Set(await stormAnswers)).toEqual(new Set(['401 ERR_KEY_NOT_FOUND']));
    expect(requests - before).toBe(1);
  });
});

describe('limits at their bounds', () => {
  it('accepts a set of exactly maxResponseBytes and exactly maxKeys; one more is refused and the last set kept', async () => {
    const others = [makeKey('k2').jwk, makeKey('k3').jwk, makeKey('k4').jwk];
    const errors: string[] = [];
    const v = validator({
      keySet: { maxKeys: 3, maxResponseBytes: 2000 },
      onEvent: (event) => {
        if (event.type === 'fetch_failed') errors.push(event.error);
      },
    });
    const kids = () => v.state().issuers[0]?.keySet.kids;
    const sized = (size: number) => {
      const body = JSON.stringify({ keys: [k1.jwk] });
      return body + ' '.repeat(size - Buffer.byteLength(body));
    };

    answer = { kind: 'body', body: sized(2000) };
    await v.warm();
    expect(kids()).toEqual(['k1']);
    answer = { kind: 'body', body: JSON.stringify({ keys: [k1.jwk, ...others.slice(0, 2)] }) };
    await v.refreshKeys();
    expect(kids()).toEqual(['k1', 'k2', 'k3']);

    answer = { kind: 'body', body: JSON.stringify({ keys: [k1.jwk, ...others] }) };
    await expect(v.refreshKeys()).rejects.toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE' });
    expect(kids()).toEqual(['k1', 'k2', 'k3']);
    answer = { kind: 'body', body: sized(2001) };
    await expect(v.refreshKeys()).rejects.toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE' });
    expect(kids()).toEqual(['k1', 'k2', 'k3']);
    expect(await outcome(v, await sign(k1))).toBe('ok');
    expect(errors).toEqual([`${url} lists 4 keys, over 3`, `${url} sent more than 2000 bytes`]);
  });
});

describe('no timers', () => {
  it('a process that warmed and validated exits without close()', { timeout: 9000 }, async () => {
    keys = [k1.jwk];
    const jwt = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(k1.privateKey);
    const script = `
      import { createValidator } from '@tokenguard/core';
      const v = createValidator({ issuer: ${JSON.stringify(ISSUER)}, audience: ${JSON.stringify(AUDIENCE)}, jwksUri: process.argv[1] });
      await v.warm();
      await v.validate(process.argv[2]);
      console.log('validated');
    `;
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script, url, jwt],
      { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => child.kill(), 7000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    // Exited on its own (code 0, not killed at 7 s), long before undici's 30 s keep-alive or the set's 600 s max age.
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: 'validated' });
  });
});
