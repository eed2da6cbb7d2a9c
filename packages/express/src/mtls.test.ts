import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateClient,
  type CertificateResponse,
  closeServer,
  createCertificateClient,
  createClientCertificate,
  createServerCertificates,
  mtlsServerOptions,
  type TestCertificate,
} from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { type ClientCertificateReader, forwardedCertificate, requireScopes, tokenguard } from './index.js';

// Certificate-bound tokens (RFC 8705 §3) through the Express middleware, on a real HTTPS server on
// 127.0.0.1 that asks for a client certificate (and lets any, or none, through): tokens bound to a
// test client certificate (cnf x5t#S256), sent by clients that present it, another one, or none.
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const CERT_HEADER = 'x-client-cert';

const issuerKey = generateSigningKey('ES256');
const common = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(issuerKey), now: () => NOW_SEC * 1000 };

const servers: Server[] = [];
const clients: CertificateClient[] = [];
const validators: Validator[] = [];
let certificate: TestCertificate;
let other: TestCertificate;
let bound: string;
let unbound: string;
let https: string;
let http: string;
let holder: CertificateClient;
let stranger: CertificateClient;
let anonymous: CertificateClient;
/** Calls of the `clientCertificate` option given beside a validator without `mtls`. */
let ignoredOptionCalls = 0;

/** `getPeerCertificate()` calls on each connection, counted by a wrapper installed on its first request. */
const peerReads = new WeakMap<object, number>();
const COUNTED = Symbol('counted');
const countPeerReads: RequestHandler = (req, _res, next) => {
  const socket = req.socket as typeof req.socket & { [COUNTED]?: true; getPeerCertificate?: () => unknown };
  const read = socket.getPeerCertificate;
  if (typeof read === 'function' && socket[COUNTED] !== true) {
    socket[COUNTED] = true;
    peerReads.set(socket, 0);
    socket.getPeerCertificate = function counted(this: unknown, ...args: unknown[]) {
      peerReads.set(socket, (peerReads.get(socket) ?? 0) + 1);
      return (read as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  next();
};

const whoami = (req: Request, res: Response) => {
  res.json({
    subject: req.auth?.subject ?? null,
    reads: peerReads.get(req.socket) ?? null,
    port: req.socket.remotePort,
  });
};

/** Answers as the middleware does, plus the error's stable code. */
const withCode: ErrorRequestHandler = (error, _req, res, next) => {
  if (!isTokenGuardError(error)) {
    next(error);
    return;
  }
  res
    .status(error.status)
    .set(error.headers)
    .json({ ...error.toJSON(), code: error.code });
};

/** nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded, in a header only the proxy sets. */
const fromProxy: ClientCertificateReader = (req) => forwardedCertificate(req.get(CERT_HEADER));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(certificate?: TestCertificate): CertificateClient {
  const created = createCertificateClient({ certificate });
  clients.push(created);
  return created;
}

const bearer = (token: string, extra: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${token}`, ...extra },
});
const body = (response: CertificateResponse) => response.json() as Record<string, unknown>;

beforeAll(async () => {
  const [tls, first, second] = await Promise.all([
    createServerCertificates(),
    createClientCertificate({ commonName: 'holder' }),
    createClientCertificate({ commonName: 'stranger', keyType: 'rsa' }),
  ]);
  certificate = first;
  other = second;
  const claims = { iss: ISSUER, aud: AUDIENCE, nowSec: NOW_SEC };
  bound = await signToken(
    issuerKey,
    accessTokenClaims(claims, { scope: 'orders:read', cnf: { 'x5t#S256': certificate.thumbprint } }),
  );
  unbound = await signToken(issuerKey, accessTokenClaims(claims, { scope: 'orders:read' }));

  const mtls = createValidator({ ...common, mtls: true });
  const bearerOnly = createValidator(common);
  validators.push(mtls, bearerOnly);

  const app = express();
  app.use(countPeerReads);
  const auth = tokenguard(mtls);
  app.get('/me', auth, whoami);
  app.get('/coded', tokenguard(mtls, { onError: 'next' }), whoami);
  app.get('/orders', auth, requireScopes('orders:write'), whoami);
  app.get('/forwarded', tokenguard(mtls, { clientCertificate: fromProxy, onError: 'next' }), whoami);
  app.get('/bearer-only', tokenguard(bearerOnly, { onError: 'next' }), whoami);
  app.get(
    '/bearer-only-option',
    tokenguard({
      validator: bearerOnly,
      onError: 'next',
      clientCertificate: () => {
        ignoredOptionCalls++;
        return certificate.pem;
      },
    }),
    whoami,
  );
  app.use(withCode);

  https = `https://${await listen(createHttpsServer(mtlsServerOptions(tls), app))}`;
  http = `http://${await listen(createHttpServer(app))}`;
  holder = client(certificate);
  stranger = client(other);
  anonymous = client();
});

afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()));
  await Promise.all(servers.map(closeServer));
  await Promise.all(validators.map((validator) => validator.close()));
});

describe('tokenguard() with an mtls validator', () => {
  it('accepts a bound token with its certificate and sets req.auth', async () => {
    const response = await holder.request(`${https}/me`, bearer(bound));
    expect(response.status).toBe(200);
    expect(body(response)).toMatchObject({ subject: 'user-1' });
  });

  it('refuses a bound token with another certificate: 401 invalid_token, Bearer challenge', async () => {
    const response = await stranger.request(`${https}/me`, bearer(bound));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(body(response)).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
    const coded = await stranger.request(`${https}/coded`, bearer(bound));
    expect(body(coded).code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(body(coded).error_description).toMatch(/another TLS client certificate/);
  });

  it('refuses a bound token on a connection without a certificate', async () => {
    const response = await anonymous.request(`${https}/me`, bearer(bound));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    const coded = await anonymous.request(`${https}/coded`, bearer(bound));
    expect(body(coded)).toMatchObject({ code: 'ERR_MTLS_BINDING_MISMATCH' });
    expect(body(coded).error_description).toMatch(/without one/);
    // Plain HTTP: a socket with no certificate at all.
    const plain = await anonymous.request(`${http}/coded`, bearer(bound));
    expect(plain.status).toBe(401);
    expect(body(plain).code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('accepts an unbound token with or without a certificate', async () => {
    expect((await holder.request(`${https}/me`, bearer(unbound))).status).toBe(200);
    expect((await anonymous.request(`${https}/me`, bearer(unbound))).status).toBe(200);
    expect((await anonymous.request(`${http}/me`, bearer(unbound))).status).toBe(200);
  });

  it('reads the certificate of a keep-alive connection once for its requests', async () => {
    const connection = client(certificate);
    const first = body(await connection.request(`${https}/me`, bearer(bound)));
    const second = body(await connection.request(`${https}/me`, bearer(bound)));
    expect(first).toMatchObject({ subject: 'user-1', reads: 1 });
    expect(second).toMatchObject({ subject: 'user-1', reads: 1, port: first.port });
  });

  it('still answers a missing scope with 403 insufficient_scope', async () => {
    const response = await holder.request(`${https}/orders`, bearer(bound));
    expect(response.status).toBe(403);
    expect(body(response).error).toBe('insufficient_scope');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope"/);
    // The binding is checked before the route's scopes.
    expect((await stranger.request(`${https}/orders`, bearer(bound))).status).toBe(401);
  });
});

describe('the clientCertificate option', () => {
  const forwarding = (pem: string) => bearer(bound, { [CERT_HEADER]: encodeURIComponent(pem) });

  it('takes the certificate a proxy forwards, on plain HTTP', async () => {
    const response = await anonymous.request(`${http}/forwarded`, forwarding(certificate.pem));
    expect(response.status).toBe(200);
    expect(body(response)).toMatchObject({ subject: 'user-1' });
    const wrong = await anonymous.request(`${http}/forwarded`, forwarding(other.pem));
    expect(wrong.status).toBe(401);
    expect(body(wrong).code).toBe('ERR_MTLS_BINDING_MISMATCH');
    const missing = await anonymous.request(`${http}/forwarded`, bearer(bound));
    expect(missing.status).toBe(401);
    expect(body(missing).code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('refuses a forwarded header that is not a PEM certificate with 401, not 500', async () => {
    for (const junk of ['garbage', '-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----']) {
      const response = await anonymous.request(`${http}/forwarded`, forwarding(junk));
      expect(response.status).toBe(401);
      expect(body(response).code).toBe('ERR_MTLS_BINDING_MISMATCH');
    }
  });

  it('replaces the connection: the socket is not read', async () => {
    // TLS with the stranger's certificate (a fresh connection), the holder's forwarded: the option decides.
    const response = await client(other).request(`${https}/forwarded`, forwarding(certificate.pem));
    expect(response.status).toBe(200);
    expect(body(response)).toMatchObject({ subject: 'user-1', reads: 0 });
    const own = await holder.request(`${https}/forwarded`, bearer(bound));
    expect(own.status).toBe(401);
    expect(body(own)).toMatchObject({ code: 'ERR_MTLS_BINDING_MISMATCH' });
  });

  it('is refused at creation when it is not a function', () => {
    const [validator] = validators as [Validator];
    for (const value of ['x-client-cert', 42, null, {}]) {
      expect(() => tokenguard(validator, { clientCertificate: value as never })).toThrow(
        /invalid option "clientCertificate": must be a function/,
      );
      expect(() => tokenguard({ validator, clientCertificate: value as never })).toThrow(TypeError);
      expect(() => tokenguard({ ...common, mtls: true, clientCertificate: value as never })).toThrow(
        /"clientCertificate"/,
      );
    }
  });

  it('is accepted in each form of options, and undefined means the connection', async () => {
    const [validator] = validators as [Validator];
    expect(() => tokenguard(validator, { clientCertificate: fromProxy })).not.toThrow();
    expect(() => tokenguard(validator, { clientCertificate: undefined })).not.toThrow();
    expect(() => tokenguard({ validator, clientCertificate: fromProxy, optional: true })).not.toThrow();
    const owned = tokenguard({ ...common, mtls: true, clientCertificate: fromProxy });
    validators.push(owned.validator);
    expect(owned.validator.options.mtls).toBe(true);
  });
});

describe('tokenguard() with a validator without mtls', () => {
  it('reads no certificate: a bound token is ERR_TOKEN_BOUND even with its certificate', async () => {
    const response = await holder.request(`${https}/bearer-only`, bearer(bound));
    expect(response.status).toBe(401);
    expect(body(response)).toMatchObject({ error: 'invalid_token', code: 'ERR_TOKEN_BOUND' });
    const fresh = client(certificate);
    const unboundAnswer = body(await fresh.request(`${https}/bearer-only`, bearer(unbound)));
    expect(unboundAnswer).toMatchObject({ subject: 'user-1', reads: 0 });
  });

  it('never calls the clientCertificate option', async () => {
    const response = await holder.request(`${https}/bearer-only-option`, bearer(bound));
    expect(body(response)).toMatchObject({ code: 'ERR_TOKEN_BOUND' });
    expect((await holder.request(`${https}/bearer-only-option`, bearer(unbound))).status).toBe(200);
    expect(ignoredOptionCalls).toBe(0);
  });
});
