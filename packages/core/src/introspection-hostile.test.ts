import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../../../test/support/rejections.js';
import { createValidator, type Validator } from './validator.js';

type Handler = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => void;

const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const CLIENT_ID = 'orders-api';
const CLIENT_SECRET = 'hostile-s3cr3t';

let server: Server;
let endpoint: string;
let handle: Handler;
let forms: URLSearchParams[];
let clock: number;
const validators: Validator[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      forms.push(form);
      handle(req, res, form);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});
afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  forms = [];
  clock = Date.UTC(2031, 0, 1);
});

const nowSec = () => Math.floor(clock / 1000);
const active = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ active: true, iss: ISSUER, aud: AUDIENCE, scope: 'read', exp: nowSec() + 300, ...extra });

function validator(introspection: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock,
    http: { timeoutMs: 5_000 },
    introspection: { endpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...introspection },
    ...extra,
  } as Parameters<typeof createValidator>[0]);
  validators.push(created);
  return created;
}

const json = (res: ServerResponse, body: string, type = 'application/json') =>
  res.writeHead(200, { 'content-type': type }).end(body);

describe('answers that are not what RFC 7662 §2.2 describes', () => {
  it('does not read an answer declared as another media type, however JSON its body looks (503)', async () => {
    // Before: a text/html page (or a signed answer nobody asked for) holding {"active":true,...} granted access.
    for (const [index, type] of [
      'text/html',
      'text/plain',
      'application/token-introspection+jwt',
    ].entries()) {
      handle = (_req, res) => json(res, active(), type);
      const error = await failure(validator().validate(`opaque-typed-${index}`));
      expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
      expect(error.message).toContain(type);
    }
  });

  it('reads application/json with parameters, +json types, and an answer with no declared type', async () => {
    for (const [index, type] of [
      'application/json; charset=utf-8',
      'application/introspection+json',
    ].entries()) {
      handle = (_req, res) => json(res, active(), type);
      await expect(validator().validate(`opaque-json-${index}`)).resolves.toMatchObject({
        source: 'introspection',
      });
    }
    handle = (_req, res) => {
      res.removeHeader('content-type');
      res.end(active());
    };
    await expect(validator().validate('opaque-untyped')).resolves.toMatchObject({ source: 'introspection' });
  });

  it('gives up on an answer trickling in past http.timeoutMs (503), headers sent at once', async () => {
    const timers: NodeJS.Timeout[] = [];
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = active({ padding: 'x'.repeat(500) });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent >= text.length) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(text[sent++] as string);
      }, 20);
      timers.push(timer);
    };
    const error = await failure(validator({}, { http: { timeoutMs: 600 } }).validate('opaque-trickle'));
    for (const timer of timers) clearInterval(timer);
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
    expect(error.message).toMatch(/did not answer in time/);
  });

  it('cuts off a chunked answer (no Content-Length) once it passes maxResponseBytes (503)', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"active":true,"padding":"');
      for (let i = 0; i < 50; i++) res.write('x'.repeat(10_000));
      res.end('"}');
    };
    const error = await failure(validator({ maxResponseBytes: 4_096 }).validate('opaque-chunked-huge'));
    expect(error).toMatchObject({ code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
  });
});

describe('private_key_jwt keys that cannot sign an assertion', () => {
  const create = (privateKey: string) => () =>
    validator({ authMethod: 'private_key_jwt', clientSecret: undefined, privateKey });
  const pem = (type: 'rsa' | 'ec' | 'rsa-pss', options: Record<string, unknown>) =>
    String(
      generateKeyPairSync(type as 'rsa', options as { modulusLength: number }).privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      }),
    );

  // Before: each was accepted, then every introspection failed with 503 "The introspection request
  // failed" (jose refusing to sign), a transient-looking outage with backoff instead of a config error.
  it.each([
    ['an RSA key under 2048 bits', pem('rsa', { modulusLength: 1024 }), /RSA key under 2048 bits/],
    ['a secp256k1 key', pem('ec', { namedCurve: 'secp256k1' }), /curve secp256k1/],
    ['an rsa-pss key object', pem('rsa-pss', { modulusLength: 2048 }), /rsa-pss/],
  ])('refuses %s in createValidator, naming the option', (_name, key, reason) => {
    expect(create(key)).toThrow(TypeError);
    expect(create(key)).toThrow(/"introspection\.privateKey"/);
    expect(create(key)).toThrow(reason);
  });

  it('signs with a P-521 key (ES512) and a 2048-bit RSA key as PS256', async () => {
    handle = (_req, res) => json(res, active());
    await validator({
      authMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: pem('ec', { namedCurve: 'secp521r1' }),
    }).validate('opaque-p521');
    await validator({
      authMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: pem('rsa', { modulusLength: 2048 }),
      privateKeyAlg: 'PS256',
    }).validate('opaque-ps256');
    const headers = forms.map((form) =>
      JSON.parse(
        Buffer.from((form.get('client_assertion') ?? '').split('.')[0] ?? '', 'base64url').toString(),
      ),
    );
    expect(headers.map((header: { alg: string }) => header.alg)).toEqual(['ES512', 'PS256']);
  });
});

describe('answers and the token exp (RFC 7662 §2.2, §4)', () => {
  const requests = (v: Validator) => v.state().issuers[0]?.introspection?.requests;

  it('accepts an answer without exp (expiresAt undefined) and reuses it for maxTtlSec only', async () => {
    handle = (_req, res) => json(res, active({ exp: undefined }));
    const v = validator({ cache: { maxTtlSec: 10 } });
    const auth = await v.validate('opaque-no-exp');
    expect(auth.expiresAt).toBeUndefined();
    clock += 9_999;
    await v.validate('opaque-no-exp');
    expect(requests(v)).toBe(1);
    clock += 1;
    handle = (_req, res) => json(res, '{"active":false}');
    expect((await failure(v.validate('opaque-no-exp'))).code).toBe('ERR_TOKEN_INACTIVE');
    expect(requests(v)).toBe(2);
  });

  it('never reuses an answer whose exp has passed, even one accepted within clockToleranceSec', async () => {
    handle = (_req, res) => json(res, active({ exp: nowSec() - 3 }));
    const v = validator({}, { clockToleranceSec: 10 });
    await expect(v.validate('opaque-tolerated')).resolves.toMatchObject({ source: 'introspection' });
    await v.validate('opaque-tolerated');
    expect(requests(v)).toBe(2);
  });
});
