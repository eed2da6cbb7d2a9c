import type { AddressInfo } from 'node:net';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateClient,
  type CertificateResponse,
  createCertificateClient,
  createClientCertificate,
  createServerCertificates,
  mtlsServerOptions,
  type ServerCertificates,
  type TestCertificate,
} from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import tokenguard, {
  type ClientCertificateReader,
  forwardedCertificate,
  type TokenguardPluginOptions,
} from './index.js';

// Certificate-bound tokens (RFC 8705 §3) through the Fastify plugin, on a real HTTPS server on
// 127.0.0.1 that asks for a client certificate (and lets any, or none, through): tokens bound to a
// test client certificate (cnf x5t#S256), sent by clients that present it, another one, or none.
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const NOW_SEC = 1_700_000_000;
const CERT_HEADER = 'x-client-cert';

const issuerKey = generateSigningKey('ES256');
const common = { issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(issuerKey), now: () => NOW_SEC * 1000 };

const apps: FastifyInstance[] = [];
const clients: CertificateClient[] = [];
const validators: Validator[] = [];
let mtls: Validator;
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
function countPeerReads(request: FastifyRequest): void {
  const socket = request.raw.socket as typeof request.raw.socket & {
    [COUNTED]?: true;
    getPeerCertificate?: () => unknown;
  };
  const read = socket.getPeerCertificate;
  if (typeof read !== 'function' || socket[COUNTED] === true) return;
  socket[COUNTED] = true;
  peerReads.set(socket, 0);
  socket.getPeerCertificate = function counted(this: unknown, ...args: unknown[]) {
    peerReads.set(socket, (peerReads.get(socket) ?? 0) + 1);
    return (read as (...a: unknown[]) => unknown).apply(this, args);
  };
}

const whoami = async (request: FastifyRequest) => ({
  subject: request.auth?.subject ?? null,
  reads: peerReads.get(request.raw.socket) ?? null,
  port: request.raw.socket.remotePort,
});

/** nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded, in a header only the proxy sets. */
const fromProxy: ClientCertificateReader = (request) => forwardedCertificate(request.headers[CERT_HEADER]);

/**
 * The same routes on a server: each in a context of its own with the plugin's options for it. Errors
 * of the `onError: 'next'` contexts are answered as the plugin does, plus their stable code.
 */
async function build(https?: ServerCertificates): Promise<string> {
  // One type for both: Fastify types an HTTPS instance by its server.
  const app =
    https === undefined
      ? Fastify()
      : (Fastify({ https: mtlsServerOptions(https) }) as unknown as FastifyInstance);
  apps.push(app);
  app.addHook('onRequest', async (request) => countPeerReads(request));
  app.setErrorHandler(async (error, _request, reply) => {
    if (!isTokenGuardError(error)) throw error;
    return reply
      .code(error.status)
      .headers(error.headers)
      .send({ ...error.toJSON(), code: error.code });
  });
  const context = (options: TokenguardPluginOptions, path: string, scopes?: string[]) =>
    app.register(async (scope) => {
      await scope.register(tokenguard, options);
      scope.get(path, scopes === undefined ? {} : { config: { auth: { scopes } } }, whoami);
    });
  const bearerOnly = validators[1] as Validator;
  await context({ validator: mtls }, '/me');
  await context({ validator: mtls }, '/orders', ['orders:write']);
  await context({ validator: mtls, onError: 'next' }, '/coded');
  await context({ validator: mtls, onError: 'next', clientCertificate: fromProxy }, '/forwarded');
  await context({ validator: bearerOnly, onError: 'next' }, '/bearer-only');
  const counting = () => {
    ignoredOptionCalls++;
    return certificate.pem;
  };
  await context(
    { validator: bearerOnly, onError: 'next', clientCertificate: counting },
    '/bearer-only-option',
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const scheme = https === undefined ? 'http' : 'https';
  return `${scheme}://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
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
  mtls = createValidator({ ...common, mtls: true });
  validators.push(mtls, createValidator(common));

  https = await build(tls);
  http = await build();
  holder = client(certificate);
  stranger = client(other);
  anonymous = client();
});

afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()));
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
});

describe('the plugin with an mtls validator', () => {
  it('accepts a bound token with its certificate and sets request.auth', async () => {
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

  it("still answers a route's missing scope with 403 insufficient_scope", async () => {
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

  it('rejects register() with a TypeError when it is not a function', async () => {
    for (const value of ['x-client-cert', 42, null, {}]) {
      for (const options of [
        { validator: mtls, clientCertificate: value },
        { ...common, mtls: true, clientCertificate: value },
      ]) {
        const app = Fastify();
        await expect(app.register(tokenguard, options as never).ready()).rejects.toThrow(
          /invalid option "clientCertificate": must be a function/,
        );
        await app.close();
      }
    }
  });

  it('is accepted with either form of options, undefined meaning the connection', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(async (scope) => {
      await scope.register(tokenguard, { validator: mtls, clientCertificate: undefined });
    });
    await app.register(async (scope) => {
      await scope.register(tokenguard, { ...common, mtls: true, clientCertificate: fromProxy });
      scope.get('/owned', whoami);
    });
    await app.ready();
    const forwarded = {
      authorization: `Bearer ${bound}`,
      [CERT_HEADER]: encodeURIComponent(certificate.pem),
    };
    expect((await app.inject({ url: '/owned', headers: forwarded })).json()).toMatchObject({
      subject: 'user-1',
    });
  });
});

describe('the plugin with a validator without mtls', () => {
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
