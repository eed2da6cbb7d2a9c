/**
 * Adversarial review of certificate-bound tokens (RFC 8705 §3) end to end (helper-93): a real
 * authorization server (oidc-provider through the dev issuer, mTLS on) issues the tokens; Express,
 * Fastify and Hono (@hono/node-server) serve them on real HTTPS servers on 127.0.0.1 that ask for a
 * client certificate (and let any, or none, through: RFC 8705 §2.2 self-signed certificates).
 *
 * Failing when written (for the lead; see the report):
 * - validator.ts validateFound: with mtls, a request that comes with any client certificate skips a
 *   `validate` replaced on the validator, which the core README says the adapters call as it is: a
 *   client presenting any self-signed certificate gets past the app's own check in it (here a
 *   revocation list) with an unbound token the check refuses.
 * - validator.ts validateToken: with the adapters' transport option `{ body: true }`, an unbound token
 *   from a client that presents a certificate is verified again on every request (never answered from
 *   the verified-token cache), where the same token without a certificate is cached.
 * Passing: a TLS session resumed by the certificate's holder still proves the certificate; a session
 * resumed from a connection without one proves none.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { serve } from '@hono/node-server';
import { createValidator, TokenGuardError, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
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

const API = 'https://api.test';
const TIMEOUT_MS = 10_000;

interface App {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Adapter options the review needs: the transport only. */
type AdapterSettings = { transport?: { body?: boolean } };

let issuer: DevIssuer;
let tls: ServerCertificates;
let holder: TestCertificate;
let stranger: TestCertificate;
let bound: string;
let plain: string;
let revoked: string;
const opened: App[] = [];
const validators: Validator[] = [];

async function startExpress(validator: Validator, settings: AdapterSettings): Promise<App> {
  const app = express();
  app.use(expressAdapter.tokenguard(validator, settings));
  app.all('/me', (req, res) => {
    res.json({ subject: req.auth?.subject ?? null });
  });
  const server = createHttpsServer(mtlsServerOptions(tls), app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, port, close: () => closeServer(server) };
}

async function startFastify(validator: Validator, settings: AdapterSettings): Promise<App> {
  const app = Fastify({ https: mtlsServerOptions(tls) }) as unknown as FastifyInstance;
  await app.register(fastifyTokenguard, { validator, ...settings });
  app.all('/me', async (request) => ({ subject: request.auth?.subject ?? null }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, port, close: () => app.close() };
}

async function startHono(validator: Validator, settings: AdapterSettings): Promise<App> {
  const app = new Hono<{ Variables: honoAdapter.TokenguardVariables }>();
  app.use('*', honoAdapter.tokenguard(validator, settings));
  app.all('/me', (c) => c.json({ subject: c.var.auth?.subject ?? null }));
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const listening = serve(
        {
          fetch: app.fetch,
          port: 0,
          hostname: '127.0.0.1',
          createServer: createHttpsServer,
          serverOptions: mtlsServerOptions(tls),
        },
        (info) => resolve({ server: listening, port: info.port }),
      );
    },
  );
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () => closeServer(server as Parameters<typeof closeServer>[0]),
  };
}

const STARTERS: Record<Framework, (validator: Validator, settings: AdapterSettings) => Promise<App>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
};

/** An mTLS validator of the dev issuer's tokens, closed after the file. */
function mtlsValidator(extra: { validateClaims?: () => boolean } = {}): Validator {
  const validator = createValidator({ issuer: issuer.issuer, audience: API, mtls: true, ...extra });
  validators.push(validator);
  return validator;
}

async function start(framework: Framework, validator: Validator, settings: AdapterSettings = {}) {
  const app = await STARTERS[framework](validator, settings);
  opened.push(app);
  return app;
}

beforeAll(async () => {
  [issuer, tls, holder, stranger] = await Promise.all([
    startDevIssuer({ mtls: true }),
    createServerCertificates(),
    createClientCertificate({ commonName: 'holder' }),
    createClientCertificate({ commonName: 'stranger (self-signed, any client can make one)' }),
  ]);
  [bound, plain, revoked] = await Promise.all([
    issuer.getToken({ resource: API, scope: 'read', certificate: holder.pem }),
    issuer.getToken({ resource: API, scope: 'read' }),
    issuer.getToken({ resource: API, scope: 'read' }),
  ]);
});

afterAll(async () => {
  await Promise.all(opened.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer?.close();
});

/** GET (or POST) /me of `app` with the token as Bearer, over a fresh connection presenting `certificate`. */
async function call(app: App, token: string, certificate?: TestCertificate, method = 'GET') {
  const response = await requestWithCertificate(`${app.url}/me`, {
    certificate,
    ca: tls.ca.pem,
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: response.json() as Record<string, unknown> };
}

describe.each(FRAMEWORKS)(
  '%s: a validate replaced on an mtls validator (validator.ts validateFound)',
  (framework) => {
    // Failing when written: the wrapper sees the request without a certificate and refuses; a client
    // presenting its own self-signed certificate is never asked about, and gets in.
    it("keeps refusing what the app's wrapper refuses when the client presents any certificate", async () => {
      const validator = mtlsValidator();
      const original = validator.validate.bind(validator);
      validator.validate = (tokenOrHeader, requirements) =>
        tokenOrHeader === revoked || tokenOrHeader === `Bearer ${revoked}`
          ? Promise.reject(new TokenGuardError('ERR_TOKEN_INACTIVE'))
          : original(tokenOrHeader, requirements);
      const app = await start(framework, validator);
      expect((await call(app, plain, stranger)).status).toBe(200);
      expect((await call(app, revoked)).status).toBe(401);
      const withCertificate = await call(app, revoked, stranger);
      expect(withCertificate.status).toBe(401);
      expect(withCertificate.body).toMatchObject({ error: 'invalid_token' });
    });
  },
);

describe.each(FRAMEWORKS)('%s: transport { body: true } and the verified-token cache', (framework) => {
  // Failing when written: every request of a client with a certificate verifies the token again.
  // validateClaims runs once per verification (once per distinct token while it is cached).
  it('answers an unbound token from the cache whether or not the client presents a certificate', async () => {
    const counts = { certificate: 0, none: 0 };
    const counting = (key: keyof typeof counts) => () => {
      counts[key] += 1;
      return true;
    };
    const transport = { body: true };
    const withCertificate = await start(
      framework,
      mtlsValidator({ validateClaims: counting('certificate') }),
      {
        transport,
      },
    );
    const without = await start(framework, mtlsValidator({ validateClaims: counting('none') }), {
      transport,
    });
    for (let i = 0; i < 5; i += 1) {
      expect((await call(withCertificate, plain, holder)).status).toBe(200);
      expect((await call(without, plain)).status).toBe(200);
    }
    expect(counts.none).toBeLessThan(5);
    expect(counts.certificate).toBe(counts.none);
  });
});

/** One request on a fresh TLS connection (resuming `session` if given); status and TLS session. */
function requestOnce(
  app: App,
  token: string,
  options: { certificate?: TestCertificate; session?: Buffer },
): Promise<{ status: number; body: string; session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let data = '';
    const socket = connect({
      host: '127.0.0.1',
      port: app.port,
      servername: 'localhost',
      ca: tls.ca.pem,
      ...(options.certificate
        ? { cert: options.certificate.pem, key: options.certificate.privateKeyPem }
        : {}),
      ...(options.session ? { session: options.session } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    }, TIMEOUT_MS);
    socket.on('session', (ticket: Buffer) => {
      session = ticket;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('secureConnect', () => {
      socket.write(
        `GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({
        status: Number(head.split(' ')[1]),
        body: rest.join('\r\n\r\n'),
        session,
        reused: socket.isSessionReused(),
      });
      socket.destroy();
    });
  });
}

describe.each(FRAMEWORKS)('%s: TLS session resumption (peerCertificateOf)', (framework) => {
  it("accepts the bound token on the holder's resumed session; refuses it on a resumed anonymous one", async () => {
    const app = await start(framework, mtlsValidator());
    const full = await requestOnce(app, bound, { certificate: holder });
    expect(full.status).toBe(200);
    expect(full.body).toContain('"subject"');
    expect(full.session).toBeInstanceOf(Buffer);
    const resumed = await requestOnce(app, bound, { certificate: holder, session: full.session as Buffer });
    expect(resumed.reused).toBe(true);
    expect(resumed.status).toBe(200);
    const anonymous = await requestOnce(app, bound, {});
    expect(anonymous.status).toBe(401);
    const thief = await requestOnce(app, bound, { session: anonymous.session as Buffer });
    expect(thief.reused).toBe(true);
    expect(thief.status).toBe(401);
    expect(thief.body).toContain('invalid_token');
  });
});
