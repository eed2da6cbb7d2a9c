/**
 * No leaks: for many failing tokens, nothing the library hands back or emits (message, description,
 * toString, JSON, util.inspect with causes, the challenge and headers, key-set events) contains the
 * token, any of its segments, the shared secret, or the introspection client credentials.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { isTokenGuardError, type KeySetEvent, type Validator } from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwksOf } from '../support/keys.js';
import { AUDIENCE, b64u, claims, forge, ISSUER, NOW_SEC, validatorFor } from './forge.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
const secret = 'shared-secret-0123456789-abcdefghijklmnop';
const clientId = 'resource-server-client';
const clientSecret = 'introspection-client-secret-XYZ-0987654321';
const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
const events: KeySetEvent[] = [];
const opened: Validator[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  // Introspection endpoints that refuse our credentials, answer inactive, fail, or echo the request.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (req.url === '/introspect/401')
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid_client', echo: body, auth: req.headers.authorization }));
      else if (req.url === '/introspect/inactive')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":false}');
      else if (req.url === '/introspect/500')
        res.writeHead(500).end(`failure for ${body} ${req.headers.authorization ?? ''}`);
      else if (req.url === '/jwks/500') res.writeHead(500).end('down');
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const validator of opened) await validator.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function open(options: Parameters<typeof validatorFor>[0]): Validator {
  const validator = validatorFor({ ...options, onEvent: (event: KeySetEvent) => events.push(event) });
  opened.push(validator);
  return validator;
}

/** Everything observable about an error, as one string. */
function render(error: unknown): string {
  const parts = [String(error), inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error)];
  if (error instanceof Error) parts.push(error.message, error.stack ?? '');
  if (isTokenGuardError(error)) {
    parts.push(
      error.description,
      error.wwwAuthenticate ?? '',
      JSON.stringify(error.headers),
      JSON.stringify(error.toJSON()),
    );
    parts.push(inspect(error.cause, { depth: 10 }), inspect(error.actual), inspect(error.expected));
  }
  return parts.join('\n');
}

/** The strings that must never appear: the token, its segments (when long enough to be meaningful), secrets. */
function secretsOf(token: string): string[] {
  const found = [token, secret, clientSecret, basic, b64u(secret)];
  for (const part of token.split('.')) if (part.length >= 12) found.push(part);
  return found;
}

async function failures(validator: Validator, tokens: string[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const token of tokens) {
    for (const value of [token, `Bearer ${token}`]) {
      const outcome = await validator.validate(value).then(
        () => 'accepted',
        (error: unknown) => error,
      );
      expect(outcome).not.toBe('accepted');
      const text = render(outcome);
      for (const needle of secretsOf(token)) expect(text).not.toContain(needle);
      errors.push(outcome);
    }
  }
  return errors;
}

const header = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
const sign = (overrides: Record<string, unknown>, h: Record<string, unknown> = header) =>
  forge(h, claims(overrides), ring.rs256.privateKey, 'RS256');
const good = sign({});
const [h, p, s] = good.split('.') as [string, string, string];
const hostileTokens = [
  sign({ exp: NOW_SEC - 3600 }),
  sign({ nbf: NOW_SEC + 3600 }),
  sign({ aud: 'https://evil.test' }),
  sign({ iss: 'https://evil.test' }),
  sign({ exp: 'soon' }),
  sign({}, { ...header, typ: 'JWT' }),
  sign({}, { ...header, alg: 'none' }),
  sign({}, { ...header, kid: 'unknown-kid' }),
  sign({}, { ...header, kid: good.slice(0, 200) }),
  sign({}, { ...header, alg: good.slice(0, 60) }),
  sign({}, { ...header, typ: good.slice(0, 60) }),
  sign({ aud: [good.slice(0, 60), good.slice(60, 120)] }),
  `${h}.${p}.${s.slice(0, -4)}AAAA`,
  `${h}.${p}.`,
  `${h}.${p}.${s}=`,
  `${h}.${b64u('{"not":"closed"')}.${s}`,
  `${h}.${p}`,
  `${good}.${s}`,
  `${b64u('{"alg":"HS256","typ":"at+jwt"}')}.${p}.${s}`,
  'x'.repeat(9000),
];

describe('no token, secret or credential in errors and events', () => {
  it('holds for key-set validation failures', async () => {
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) });
    const errors = await failures(validator, [...hostileTokens]);
    expect(errors.length).toBe(hostileTokens.length * 2);
    // Insufficient scope (403) as well.
    const forbidden = await validator.validate(good, { scopes: ['admin'] }).catch((error: unknown) => error);
    for (const needle of secretsOf(good)) expect(render(forbidden)).not.toContain(needle);
  });
  it('holds for a shared-secret issuer (the secret never appears)', async () => {
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, secret });
    const hs = forge({ alg: 'HS256', typ: 'at+jwt' }, claims({ exp: NOW_SEC - 3600 }), Buffer.from(secret));
    await failures(validator, [
      hs,
      forge({ alg: 'HS256', typ: 'at+jwt' }, claims(), Buffer.from('wrong-secret')),
    ]);
  });
  it('holds when the key set cannot be fetched (503) and in the fetch_failed events', async () => {
    const validator = open({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `${base}/jwks/500?token=${good.slice(0, 30)}`,
    });
    const errors = await failures(validator, [good]);
    expect(errors[0]).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
    expect(events.some((event) => event.type === 'fetch_failed')).toBe(true);
  });
  it('holds for introspection: credentials refused, inactive answers and endpoint failures', async () => {
    const opaque = 'opaque-access-token-value-0123456789abcdef';
    for (const path of ['/introspect/401', '/introspect/inactive', '/introspect/500']) {
      for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
        const validator = open({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: jwksOf(ring.rs256),
          introspection: { endpoint: `${base}${path}`, clientId, clientSecret, authMethod },
        } as Parameters<typeof validatorFor>[0]);
        const [error] = await failures(validator, [opaque]);
        expect(isTokenGuardError(error)).toBe(true);
      }
    }
  });
  it('never puts the token into any key-set event', () => {
    const text = JSON.stringify(events);
    for (const needle of secretsOf(good)) expect(text).not.toContain(needle);
    expect(text).not.toContain(clientSecret);
  });
});

describe('attacker-chosen header and claim values', () => {
  const marker = 'ZQXJ-marker';
  const hostile = `${marker}"\r\nX-Injected: 1\\ "end`;
  it('never echoes a kid, iss, sub or aud of a refused token; alg and typ only short and sanitised', async () => {
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) });
    const tokens = [
      sign({}, { ...header, kid: hostile }),
      sign({}, { ...header, kid: `${hostile}${'k'.repeat(300)}` }),
      sign({ iss: hostile }),
      sign({ iss: undefined }, { ...header, kid: hostile }),
      sign({ aud: hostile, sub: hostile }),
      sign({ exp: 1, sub: hostile }),
      forge({ ...header, kid: hostile }, claims({ sub: hostile }), ring.attacker.privateKey, 'RS256'),
      sign({}, { ...header, alg: hostile }),
      sign({}, { ...header, typ: hostile }),
      sign({}, { ...header, typ: `${hostile}${'t'.repeat(100)}` }),
    ];
    for (const token of tokens) {
      const error = await validator.validate(token).catch((caught: unknown) => caught);
      if (!isTokenGuardError(error)) throw new Error(`expected a TokenGuardError, got ${String(error)}`);
      const { message } = error;
      if (error.code === 'ERR_ALGORITHM_NOT_ALLOWED' || error.code === 'ERR_TYPE_MISMATCH') {
        // Quoted at most 40 characters, printable ASCII only: no CR/LF reaches any message.
        expect(message).toContain(marker);
        expect(message).not.toMatch(/[\r\n]/);
        expect(message).not.toContain('t'.repeat(41));
      } else {
        expect(message).not.toContain(marker);
      }
      // The challenge and the JSON body: no quote, backslash or line break from the token.
      const description = error.toJSON().error_description;
      expect(description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
      expect(error.wwwAuthenticate).toBe(`Bearer error="invalid_token", error_description="${description}"`);
      for (const value of Object.values(error.headers)) expect(value).not.toMatch(/[\r\n]/);
    }
    // Nor does any key-set event carry what the token said.
    expect(JSON.stringify(events)).not.toContain(marker);
  });
});

describe('AuthInfo of an accepted token', () => {
  it('hides the token from JSON and inspect', async () => {
    const validator = open({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) });
    const auth = await validator.validate(good);
    expect(auth.token).toBe(good);
    const text = `${JSON.stringify(auth)}\n${inspect(auth, { depth: 10 })}\n${String(auth)}`;
    expect(text).not.toContain(s);
    expect(text).not.toContain(p);
  });
});
