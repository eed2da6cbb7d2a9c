/**
 * RFC 8705 §3 end to end: a real authorization server (oidc-provider through the dev issuer, mTLS on)
 * binds access tokens to a client certificate (`cnf["x5t#S256"]`: in a JWT's payload, or in the
 * introspection answer of an opaque token), the client presents that certificate in the TLS handshake,
 * and each adapter, with a validator that has `mtls`, admits the token only on a connection made with it.
 *
 * Each framework gets three real servers on 127.0.0.1 (started once, shared by the tests):
 * - `mtls`: HTTPS with `requestCert` (no chain check), validator `mtls: true`: the certificate is the
 *   connection's own;
 * - `bearer`: the same HTTPS server, validator without `mtls` (a bound token is refused as before);
 * - `proxied`: plain HTTP, validator `mtls: true`, and the adapter's `clientCertificate` option reading a
 *   PEM a TLS-terminating proxy forwards URL-escaped (nginx `$ssl_client_escaped_cert`) in a header.
 * The expected thumbprints come from test/support/certificates.ts (node:crypto), never from tokenguard.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  type AuthInfo,
  createValidator,
  forwardedCertificate,
  protectedResourceMetadataUrl,
  type Validator,
} from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard, { protectedResourceMetadata as fastifyMetadata } from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORKS, type Framework } from './support/adapter-apps.js';
import {
  closeServer,
  createCertificateClient,
  createClientCertificate,
  createServerCertificates,
  mtlsServerOptions,
  requestWithCertificate,
  type ServerCertificates,
  type TestCertificate,
} from './support/certificates.js';
import { parseChallenges } from './support/challenges.js';

const API = 'https://api.test';
const OPAQUE = 'https://opaque.test';
const KINDS = ['jwt', 'introspection'] as const;
type Kind = (typeof KINDS)[number];
type Mode = 'mtls' | 'bearer' | 'proxied';

/** The header a TLS-terminating proxy forwards the client certificate in (URL-escaped PEM). */
const FORWARDED_CERT = 'x-client-cert';

const OTHER_CERTIFICATE = /^Invalid certificate binding: the .+ is bound to another TLS client certificate$/;
const NO_CERTIFICATE =
  /^Invalid certificate binding: .+ bound to a TLS client certificate .+came without one$/;
const BOUND_AS_BEARER = /bound to a key \(cnf x5t#S256\) and was presented as a bearer token/;

let issuer: DevIssuer;
let tls: ServerCertificates;
/** `a`: the certificate the bound tokens are bound to (EC P-256); `b`: another one (RSA 2048). */
const certs = {} as Record<'a' | 'b', TestCertificate>;
const validators = {} as Record<'mtls' | 'bearer', Validator>;
const apps = {} as Record<Framework, Record<Mode, App>>;
/** Per kind (JWT, or opaque for introspection): a token bound to certificate `a`, and a plain one. */
const tokens = {} as Record<Kind, Record<'bound' | 'plain', string>>;

interface App {
  url: string;
  close(): Promise<void>;
}

/** What the route handlers answer: the binding and source of the `auth` the adapter handed over. */
const describeAuth = (auth: AuthInfo | null | undefined) => ({
  x5t: (auth?.claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256'] ?? null,
  source: auth?.source ?? null,
});

/** How an app is served: HTTPS asking for a client certificate, or plain HTTP behind a "proxy". */
type Serving = { https: ServerCertificates } | { proxied: true };

async function startExpress(validator: Validator, serving: Serving): Promise<App> {
  const app = express();
  app.use(expressAdapter.protectedResourceMetadata(validator));
  app.use(
    expressAdapter.tokenguard(
      validator,
      'proxied' in serving
        ? { clientCertificate: (req) => forwardedCertificate(req.get(FORWARDED_CERT)) }
        : {},
    ),
  );
  app.get('/me', (req, res) => {
    res.json(describeAuth(req.auth));
  });
  const server =
    'https' in serving ? createHttpsServer(mtlsServerOptions(serving.https), app) : createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${'https' in serving ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

async function startFastify(validator: Validator, serving: Serving): Promise<App> {
  // Typed as the default (HTTP) instance: the routes and plugins do not depend on the server kind.
  const app =
    'https' in serving
      ? (Fastify({ https: mtlsServerOptions(serving.https) }) as unknown as FastifyInstance)
      : Fastify();
  await app.register(fastifyTokenguard, {
    validator,
    ...('proxied' in serving
      ? {
          clientCertificate: (request) =>
            forwardedCertificate(request.headers[FORWARDED_CERT] as string | undefined),
        }
      : {}),
  });
  await app.register(fastifyMetadata, { validator });
  app.get('/me', async (request) => describeAuth(request.auth));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const scheme = 'https' in serving ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

async function startHono(validator: Validator, serving: Serving): Promise<App> {
  const app = new Hono<{ Variables: honoAdapter.TokenguardVariables }>();
  app.use(honoAdapter.protectedResourceMetadata(validator));
  app.use(
    '*',
    honoAdapter.tokenguard(
      validator,
      'proxied' in serving
        ? { clientCertificate: (c) => forwardedCertificate(c.req.header(FORWARDED_CERT)) }
        : {},
    ),
  );
  app.get('/me', (c) => c.json(describeAuth(c.var.auth)));
  const tlsOptions =
    'https' in serving
      ? { createServer: createHttpsServer, serverOptions: mtlsServerOptions(serving.https) }
      : {};
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', ...tlsOptions }, (info) =>
        resolve({ server: listening, port: info.port }),
      );
    },
  );
  const scheme = 'https' in serving ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    close: () => closeServer(server as Parameters<typeof closeServer>[0]),
  };
}

const STARTERS: Record<Framework, (validator: Validator, serving: Serving) => Promise<App>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
};

beforeAll(async () => {
  let a: TestCertificate;
  let b: TestCertificate;
  [issuer, tls, a, b] = await Promise.all([
    startDevIssuer({ mtls: true }),
    createServerCertificates(),
    createClientCertificate({ commonName: 'client a' }),
    createClientCertificate({ keyType: 'rsa', commonName: 'client b' }),
  ]);
  certs.a = a;
  certs.b = b;
  for (const mode of ['mtls', 'bearer'] as const) {
    validators[mode] = createValidator({
      issuer: issuer.issuer,
      audience: [API, OPAQUE],
      introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
      resourceMetadata: { resource: API },
      mtls: mode === 'mtls',
    });
  }
  const [boundJwt, plainJwt, boundOpaque, plainOpaque] = await Promise.all([
    issuer.getToken({ resource: API, scope: 'read', certificate: certs.a.pem }),
    issuer.getToken({ resource: API, scope: 'read' }),
    issuer.getToken({ resource: OPAQUE, scope: 'read', certificate: certs.a.pem }),
    issuer.getToken({ resource: OPAQUE, scope: 'read' }),
  ]);
  tokens.jwt = { bound: boundJwt, plain: plainJwt };
  tokens.introspection = { bound: boundOpaque, plain: plainOpaque };
  await Promise.all(
    FRAMEWORKS.map(async (framework) => {
      const start = STARTERS[framework];
      const [mtls, bearer, proxied] = await Promise.all([
        start(validators.mtls, { https: tls }),
        start(validators.bearer, { https: tls }),
        start(validators.mtls, { proxied: true }),
      ]);
      apps[framework] = { mtls, bearer, proxied };
    }),
  );
});

afterAll(async () => {
  await Promise.all(Object.values(apps).flatMap((byMode) => Object.values(byMode).map((app) => app.close())));
  await Promise.all(Object.values(validators).map((validator) => validator.close()));
  await issuer?.close();
});

interface Call {
  token?: string;
  /** HTTPS: the certificate the client presents in the handshake. */
  certificate?: TestCertificate;
  /** Plain HTTP: the certificate the "proxy" forwards in {@link FORWARDED_CERT}. */
  forwarded?: TestCertificate;
  path?: string;
}

/** GET `path` (default /me) of `app`, with the token as Bearer; the answer's status, JSON and challenges. */
async function call(app: App, { token, certificate, forwarded, path = '/me' }: Call) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (forwarded !== undefined) headers[FORWARDED_CERT] = encodeURIComponent(forwarded.pem);
  const response = await requestWithCertificate(`${app.url}${path}`, {
    certificate,
    ca: tls.ca.pem,
    headers,
  });
  const header = response.headers['www-authenticate'];
  return {
    status: response.status,
    body: response.json() as Record<string, unknown>,
    challenges: typeof header === 'string' ? parseChallenges(header) : null,
  };
}

/** The 401 of a refused token: `invalid_token` in the body and in the Bearer challenge. */
function expectInvalidToken(result: Awaited<ReturnType<typeof call>>, description: RegExp): void {
  expect(result.status).toBe(401);
  expect(result.body).toEqual({
    error: 'invalid_token',
    error_description: expect.stringMatching(description),
  });
  const bearer = result.challenges?.find((challenge) => challenge.scheme === 'Bearer');
  expect(bearer?.params).toMatchObject({
    error: 'invalid_token',
    error_description: result.body.error_description,
  });
}

describe('the tokens really are certificate-bound by oidc-provider', () => {
  it('the bound JWT carries cnf x5t#S256 of certificate a; the plain one no cnf', () => {
    expect(decodeJwt(tokens.jwt.bound).cnf).toEqual({ 'x5t#S256': certs.a.thumbprint });
    expect(decodeJwt(tokens.jwt.plain).cnf).toBeUndefined();
  });

  it('the bound opaque token introspects with cnf x5t#S256; the plain one without cnf', async () => {
    expect(await issuer.introspect(tokens.introspection.bound)).toMatchObject({
      active: true,
      cnf: { 'x5t#S256': certs.a.thumbprint },
    });
    expect((await issuer.introspect(tokens.introspection.plain)).cnf).toBeUndefined();
  });
});

describe.each(FRAMEWORKS)('mTLS through %s', (framework) => {
  describe.each(KINDS)('%s tokens, HTTPS, validator with mtls', (kind) => {
    it('admits the bound token on a connection with its certificate (200), auth carrying the binding', async () => {
      const result = await call(apps[framework].mtls, { token: tokens[kind].bound, certificate: certs.a });
      expect(result).toEqual({
        status: 200,
        body: { x5t: certs.a.thumbprint, source: kind },
        challenges: null,
      });
    });

    it('refuses the bound token with another certificate: 401 invalid_token, Bearer challenge', async () => {
      const result = await call(apps[framework].mtls, { token: tokens[kind].bound, certificate: certs.b });
      expectInvalidToken(result, OTHER_CERTIFICATE);
    });

    it('refuses the bound token without a certificate: 401 invalid_token', async () => {
      const result = await call(apps[framework].mtls, { token: tokens[kind].bound });
      expectInvalidToken(result, NO_CERTIFICATE);
    });

    it('checks the binding at every use: right, wrong, right certificate', async () => {
      const app = apps[framework].mtls;
      const token = tokens[kind].bound;
      expect((await call(app, { token, certificate: certs.a })).status).toBe(200);
      expectInvalidToken(await call(app, { token, certificate: certs.b }), OTHER_CERTIFICATE);
      expect((await call(app, { token, certificate: certs.a })).status).toBe(200);
    });

    it.each([
      ['with certificate a', () => certs.a],
      ['with certificate b', () => certs.b],
      ['without a certificate', () => undefined],
    ])('admits the unbound token %s (200, no binding)', async (_, certificate) => {
      const result = await call(apps[framework].mtls, {
        token: tokens[kind].plain,
        certificate: certificate(),
      });
      expect(result).toEqual({ status: 200, body: { x5t: null, source: kind }, challenges: null });
    });
  });

  it('keeps two keep-alive connections apart: each admits only its own certificate', async () => {
    const app = apps[framework].mtls;
    const [clientA, clientB] = [certs.a, certs.b].map((certificate) =>
      createCertificateClient({ certificate, ca: tls.ca.pem }),
    ) as [ReturnType<typeof createCertificateClient>, ReturnType<typeof createCertificateClient>];
    const headers = { authorization: `Bearer ${tokens.jwt.bound}` };
    try {
      const statuses: number[] = [];
      for (const client of [clientA, clientB, clientA, clientB]) {
        statuses.push((await client.request(`${app.url}/me`, { headers })).status);
      }
      expect(statuses).toEqual([200, 401, 200, 401]);
    } finally {
      await Promise.all([clientA.close(), clientB.close()]);
    }
  });

  it('trusts no forwarded header on the HTTPS server without the option: its connection decides', async () => {
    const result = await call(apps[framework].mtls, {
      token: tokens.jwt.bound,
      certificate: certs.b,
      forwarded: certs.a,
    });
    expectInvalidToken(result, OTHER_CERTIFICATE);
  });

  it('answers a request without a token with the bare Bearer challenge (401, no error)', async () => {
    const result = await call(apps[framework].mtls, { certificate: certs.a });
    expect(result.status).toBe(401);
    const bearer = result.challenges?.find((challenge) => challenge.scheme === 'Bearer');
    expect(bearer).toBeDefined();
    expect(bearer?.params.error).toBeUndefined();
  });

  it('serves RFC 9728 metadata with tls_client_certificate_bound_access_tokens: true', async () => {
    const path = new URL(protectedResourceMetadataUrl(API)).pathname;
    const withMtls = await call(apps[framework].mtls, { path });
    expect(withMtls.status).toBe(200);
    expect(withMtls.body).toMatchObject({ resource: API, tls_client_certificate_bound_access_tokens: true });
    const without = await call(apps[framework].bearer, { path });
    expect(without.status).toBe(200);
    expect(without.body).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
  });

  describe.each(KINDS)('%s tokens, HTTPS, validator without mtls', (kind) => {
    it('refuses the bound token even with its certificate: 401 invalid_token (bound, sent as Bearer)', async () => {
      const result = await call(apps[framework].bearer, { token: tokens[kind].bound, certificate: certs.a });
      expectInvalidToken(result, BOUND_AS_BEARER);
    });

    it('admits the unbound token with a certificate (200)', async () => {
      const result = await call(apps[framework].bearer, { token: tokens[kind].plain, certificate: certs.a });
      expect(result).toEqual({ status: 200, body: { x5t: null, source: kind }, challenges: null });
    });
  });

  describe.each(KINDS)('%s tokens, plain HTTP, clientCertificate option reading a forwarded PEM', (kind) => {
    it('admits the bound token when the forwarded certificate is its own (200)', async () => {
      const result = await call(apps[framework].proxied, { token: tokens[kind].bound, forwarded: certs.a });
      expect(result).toEqual({
        status: 200,
        body: { x5t: certs.a.thumbprint, source: kind },
        challenges: null,
      });
    });

    it('refuses the bound token with another forwarded certificate: 401 invalid_token', async () => {
      const result = await call(apps[framework].proxied, { token: tokens[kind].bound, forwarded: certs.b });
      expectInvalidToken(result, OTHER_CERTIFICATE);
    });

    it('refuses the bound token when nothing is forwarded: 401 invalid_token', async () => {
      const result = await call(apps[framework].proxied, { token: tokens[kind].bound });
      expectInvalidToken(result, NO_CERTIFICATE);
    });

    it('refuses the bound token when the forwarded header is no certificate: 401, not a 5xx', async () => {
      const result = await requestWithCertificate(`${apps[framework].proxied.url}/me`, {
        headers: { authorization: `Bearer ${tokens[kind].bound}`, [FORWARDED_CERT]: 'not%20a%20certificate' },
      });
      expect(result.status).toBe(401);
      expect(result.json()).toEqual({
        error: 'invalid_token',
        error_description: expect.stringMatching(NO_CERTIFICATE),
      });
    });

    it('admits the unbound token with nothing forwarded (200)', async () => {
      const result = await call(apps[framework].proxied, { token: tokens[kind].plain });
      expect(result).toEqual({ status: 200, body: { x5t: null, source: kind }, challenges: null });
    });
  });
});
