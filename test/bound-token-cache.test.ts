/**
 * The cache of bound tokens (core, e7ea2f2) end to end, through each adapter on a real server: a token
 * bound to a key (DPoP `cnf.jkt`, RFC 9449; a client certificate, `cnf["x5t#S256"]`, RFC 8705) that
 * passed verification with a request's proof is kept from its second verification on, so its third
 * request is answered from the cache, and every hit is held to that request's proof again.
 *
 * Tokens come from the real dev issuer (oidc-provider, DPoP and mTLS on). Each framework gets two servers
 * on 127.0.0.1, each with a validator of its own: plain HTTP with `dpop: true`, and HTTPS asking for a
 * client certificate (`requestCert`, no chain check) with `mtls: true`. Both serve `GET /me` (the caller's
 * subject and binding) and `GET /admin`, guarded by the adapter's own way of requiring scope `admin`,
 * which the tokens (scope `read`) lack.
 *
 * That a token is answered from the cache is seen by the validators' `validateClaims` hook, called once
 * per verification: twice for the four good requests (the first two), and never again afterwards, so
 * every refusal below is made with the token in the cache, and the good request after them is a hit too.
 * (Requests without a proof, Bearer with DPoP and mTLS without a certificate, never consult that cache;
 * another key, another certificate, the scope guard and a proof's first use before its replay are hits.)
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type AuthInfo, createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAMEWORKS, type Framework } from './support/adapter-apps.js';
import {
  closeServer,
  createClientCertificate,
  createServerCertificates,
  mtlsServerOptions,
  requestWithCertificate,
  type ServerCertificates,
  type TestCertificate,
} from './support/certificates.js';
import { parseChallenges } from './support/challenges.js';
import { dpopClient } from './support/dpop.js';

const API = 'https://api.test';
type Binding = 'dpop' | 'mtls';

interface App {
  url: string;
  close(): Promise<void>;
}

let issuer: DevIssuer;
let tls: ServerCertificates;
/** `a`: the certificate the mTLS tokens are bound to; `b`: another one. */
const certs = {} as Record<'a' | 'b', TestCertificate>;
const apps = {} as Record<Framework, Record<Binding, App>>;
const validators: Validator[] = [];
/** Per framework and binding, a token of its own (scope `read`), bound to the issuer's DPoP key or to `a`. */
const tokens = {} as Record<Framework, Record<Binding, string>>;
/** Verifications per token `jti`, counted by every validator's `validateClaims` hook. */
const verifications = new Map<string, number>();

const verificationsOf = (token: string) => verifications.get(String(decodeJwt(token).jti)) ?? 0;

/** What `/me` answers: who the caller is, and what its token is bound to. */
const describeAuth = (auth: AuthInfo | null | undefined) => ({
  subject: auth?.subject ?? null,
  cnf: auth?.claims.cnf ?? null,
});

async function startExpress(validator: Validator, https?: ServerCertificates): Promise<App> {
  const app = express();
  app.use(expressAdapter.tokenguard(validator));
  app.get('/me', (req, res) => {
    res.json(describeAuth(req.auth));
  });
  app.get('/admin', expressAdapter.requireScopes('admin'), (_req, res) => {
    res.json({ admin: true });
  });
  const server = https ? createHttpsServer(mtlsServerOptions(https), app) : createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: originOf(https, (server.address() as AddressInfo).port), close: () => closeServer(server) };
}

async function startFastify(validator: Validator, https?: ServerCertificates): Promise<App> {
  // Typed as the default (HTTP) instance: the routes and the plugin do not depend on the server kind.
  const app = https
    ? (Fastify({ https: mtlsServerOptions(https) }) as unknown as FastifyInstance)
    : Fastify();
  await app.register(fastifyTokenguard, { validator });
  app.get('/me', async (request) => describeAuth(request.auth));
  app.get('/admin', { config: { auth: { scopes: ['admin'] } } }, async () => ({ admin: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: originOf(https, (app.server.address() as AddressInfo).port), close: () => app.close() };
}

async function startHono(validator: Validator, https?: ServerCertificates): Promise<App> {
  const app = new Hono<{ Variables: honoAdapter.TokenguardVariables }>();
  app.use('*', honoAdapter.tokenguard(validator));
  app.get('/me', (c) => c.json(describeAuth(c.var.auth)));
  app.get('/admin', honoAdapter.requireScopes('admin'), (c) => c.json({ admin: true }));
  const tlsOptions = https
    ? { createServer: createHttpsServer, serverOptions: mtlsServerOptions(https) }
    : {};
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const listening = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', ...tlsOptions }, (info) =>
        resolve({ server: listening, port: info.port }),
      );
    },
  );
  return {
    url: originOf(https, port),
    close: () => closeServer(server as Parameters<typeof closeServer>[0]),
  };
}

const originOf = (https: ServerCertificates | undefined, port: number) =>
  `${https ? 'https' : 'http'}://127.0.0.1:${port}`;

const STARTERS: Record<Framework, (validator: Validator, https?: ServerCertificates) => Promise<App>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
};

function countingValidator(binding: Binding): Validator {
  const validator = createValidator({
    issuer: issuer.issuer,
    audience: API,
    ...(binding === 'dpop' ? { dpop: true } : { mtls: true }),
    validateClaims: (claims) => {
      const jti = String(claims.jti);
      verifications.set(jti, (verifications.get(jti) ?? 0) + 1);
      return true;
    },
  });
  validators.push(validator);
  return validator;
}

beforeAll(async () => {
  let a: TestCertificate;
  let b: TestCertificate;
  [issuer, tls, a, b] = await Promise.all([
    startDevIssuer({ dpop: true, mtls: true }),
    createServerCertificates(),
    createClientCertificate({ commonName: 'client a' }),
    createClientCertificate({ keyType: 'rsa', commonName: 'client b' }),
  ]);
  certs.a = a;
  certs.b = b;
  for (const framework of FRAMEWORKS) {
    const [dpop, mtls, dpopToken, mtlsToken] = await Promise.all([
      STARTERS[framework](countingValidator('dpop')),
      STARTERS[framework](countingValidator('mtls'), tls),
      issuer.getToken({ resource: API, scope: 'read', dpop: true }),
      issuer.getToken({ resource: API, scope: 'read', certificate: certs.a.pem }),
    ]);
    apps[framework] = { dpop, mtls };
    tokens[framework] = { dpop: dpopToken, mtls: mtlsToken };
  }
});

afterAll(async () => {
  await Promise.all(
    Object.values(apps).flatMap((byBinding) => Object.values(byBinding).map((a) => a.close())),
  );
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

interface Call {
  authorization: string;
  proof?: string;
  certificate?: TestCertificate;
  path?: string;
}

/** GET `path` (default /me) of `app`: the answer's status, JSON body and parsed challenges. */
async function call(app: App, { authorization, proof, certificate, path = '/me' }: Call) {
  const response = await requestWithCertificate(`${app.url}${path}`, {
    certificate,
    ca: tls.ca.pem,
    headers: { authorization, ...(proof === undefined ? {} : { dpop: proof }) },
  });
  const header = response.headers['www-authenticate'];
  return {
    status: response.status,
    body: response.json() as Record<string, unknown>,
    challenges: typeof header === 'string' ? parseChallenges(header) : null,
  };
}

type Result = Awaited<ReturnType<typeof call>>;

/** The challenge of `scheme` in `result`, failing the test when there is none. */
function challenge(result: Result, scheme: 'Bearer' | 'DPoP') {
  const found = result.challenges?.find((c) => c.scheme === scheme);
  if (found === undefined) throw new Error(`no ${scheme} challenge in ${JSON.stringify(result.challenges)}`);
  return found;
}

/** A 401 or 403 whose body and `scheme` challenge carry `error` (and the same description). */
function expectRefusal(
  result: Result,
  status: number,
  scheme: 'Bearer' | 'DPoP',
  error: string,
  why: RegExp,
) {
  expect(result.status).toBe(status);
  expect(result.body).toEqual({ error, error_description: expect.stringMatching(why) });
  expect(challenge(result, scheme).params).toMatchObject({
    error,
    error_description: result.body.error_description,
  });
}

/** Runs `warmUp` once, however many tests ask for it (so each test also runs on its own). */
function once<T>(warmUp: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= warmUp();
    return running;
  };
}

describe.each(FRAMEWORKS)('the cache of bound tokens through %s', (framework) => {
  describe('a DPoP-bound token (plain HTTP, dpop: true)', () => {
    const app = () => apps[framework].dpop;
    const token = () => tokens[framework].dpop;
    const withProof = async (path = '/me') => ({
      authorization: `DPoP ${token()}`,
      proof: await issuer.dpopProof('GET', `${app().url}${path}`, token()),
      path,
    });
    /** Requests 1..4 with the right key and a new proof each: the token is cached from the second on. */
    const cached = once(async () => {
      const results: Result[] = [];
      for (let i = 0; i < 4; i++) results.push(await call(app(), await withProof()));
      return results;
    });

    it('answers requests 1..4 with the right key 200 with the same subject, verifying the token twice', async () => {
      expect(decodeJwt(token()).cnf).toEqual({ jkt: issuer.dpopJkt });
      const results = await cached();
      const expected = { subject: 'tokenguard-dev-client', cnf: { jkt: issuer.dpopJkt } };
      expect(results).toEqual(Array(4).fill({ status: 200, body: expected, challenges: null }));
      expect(verificationsOf(token())).toBe(2);
    });

    it('then refuses it as Authorization: Bearer: 401 invalid_token, with a DPoP algs challenge', async () => {
      await cached();
      const result = await call(app(), { authorization: `Bearer ${token()}` });
      expectRefusal(
        result,
        401,
        'Bearer',
        'invalid_token',
        /bound to a key \(cnf jkt\) and was presented as a bearer token/,
      );
      expect(challenge(result, 'DPoP').params.algs?.split(' ')).toContain('ES256');
      expect(challenge(result, 'DPoP').params.error).toBeUndefined();
    });

    it('then refuses it with a proof by another key: 401 invalid_token, Invalid DPoP key binding', async () => {
      await cached();
      const proof = await dpopClient().proof({ htm: 'GET', htu: `${app().url}/me`, token: token() });
      const result = await call(app(), { authorization: `DPoP ${token()}`, proof });
      expectRefusal(
        result,
        401,
        'DPoP',
        'invalid_token',
        /^Invalid DPoP key binding: the token is bound to another key$/,
      );
      expect(challenge(result, 'Bearer').params.error).toBeUndefined();
    });

    it('then refuses a replayed proof (its first use a cache hit, 200): 401 invalid_dpop_proof', async () => {
      await cached();
      const request = await withProof();
      const first = await call(app(), request);
      expect(first.status).toBe(200);
      const replay = await call(app(), request);
      expectRefusal(replay, 401, 'DPoP', 'invalid_dpop_proof', /used before/);
    });

    it('then answers a route requiring a scope it lacks 403 insufficient_scope, in the DPoP challenge', async () => {
      await cached();
      const result = await call(app(), await withProof('/admin'));
      expectRefusal(result, 403, 'DPoP', 'insufficient_scope', /./);
      expect(challenge(result, 'DPoP').params.scope).toBe('admin');
      expect(result.challenges?.find((c) => c.scheme === 'Bearer')?.params.error).toBeUndefined();
    });

    it('still answers the right key 200 afterwards, the token never verified again', async () => {
      await cached();
      const result = await call(app(), await withProof());
      expect(result.status).toBe(200);
      expect(result.body.subject).toBe('tokenguard-dev-client');
      expect(verificationsOf(token())).toBe(2);
    });
  });

  describe('a certificate-bound token (HTTPS with requestCert, mtls: true)', () => {
    const app = () => apps[framework].mtls;
    const token = () => tokens[framework].mtls;
    const bearer = () => `Bearer ${token()}`;
    /** Requests 1..4 on connections made with certificate a: the token is cached from the second on. */
    const cached = once(async () => {
      const results: Result[] = [];
      for (let i = 0; i < 4; i++)
        results.push(await call(app(), { authorization: bearer(), certificate: certs.a }));
      return results;
    });

    it('answers requests 1..4 with the right certificate 200 with the same subject, verifying the token twice', async () => {
      expect(decodeJwt(token()).cnf).toEqual({ 'x5t#S256': certs.a.thumbprint });
      const results = await cached();
      const expected = { subject: 'tokenguard-dev-mtls-client', cnf: { 'x5t#S256': certs.a.thumbprint } };
      expect(results).toEqual(Array(4).fill({ status: 200, body: expected, challenges: null }));
      expect(verificationsOf(token())).toBe(2);
    });

    it('then refuses it on a connection without a certificate: 401 invalid_token', async () => {
      await cached();
      const result = await call(app(), { authorization: bearer() });
      expectRefusal(
        result,
        401,
        'Bearer',
        'invalid_token',
        /^Invalid certificate binding: .+ bound to a TLS client certificate .+came without one$/,
      );
    });

    it('then refuses it on a connection with another certificate: 401 invalid_token', async () => {
      await cached();
      const result = await call(app(), { authorization: bearer(), certificate: certs.b });
      expectRefusal(
        result,
        401,
        'Bearer',
        'invalid_token',
        /^Invalid certificate binding: the .+ is bound to another TLS client certificate$/,
      );
    });

    it('then answers a route requiring a scope it lacks 403 insufficient_scope, in the Bearer challenge', async () => {
      await cached();
      const result = await call(app(), { authorization: bearer(), certificate: certs.a, path: '/admin' });
      expectRefusal(result, 403, 'Bearer', 'insufficient_scope', /./);
      expect(challenge(result, 'Bearer').params.scope).toBe('admin');
    });

    it('still answers the right certificate 200 afterwards, the token never verified again', async () => {
      await cached();
      const result = await call(app(), { authorization: bearer(), certificate: certs.a });
      expect(result.status).toBe(200);
      expect(result.body.subject).toBe('tokenguard-dev-mtls-client');
      expect(verificationsOf(token())).toBe(2);
    });
  });
});
