import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../dev-issuer/src/index.js';
import tokenguard from './index.js';

// The plugin on real servers (127.0.0.1, port 0) against a real issuer (oidc-provider).
const AUDIENCE = 'https://api.test';
const FORM = 'application/x-www-form-urlencoded';

let issuer: DevIssuer;
let validator: Validator;
let token: string;
let writeToken: string;

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  issuer = await startDevIssuer();
  validator = createValidator({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'api' });
  token = await issuer.getToken({ resource: AUDIENCE, scope: 'read' });
  writeToken = await issuer.getToken({ resource: AUDIENCE, scope: 'write' });
});

afterAll(async () => {
  await validator.close();
  await issuer.close();
});

describe('tokenguard (fastify) review: routes', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = Fastify();
    await app.register(tokenguard, { validator });
    const echo = async (request: { auth: { subject?: string } | null }) => ({
      auth: request.auth === null ? null : 'set',
    });
    app.get('/me', echo);
    app.get('/read', { config: { auth: { scopes: ['read'] } } }, echo);
    app.get('/optional', { config: { auth: { optional: true } } }, echo);
    app.get('/items/:id', { config: { auth: false } }, echo);
    app.get('/files/*', { config: { auth: false } }, echo);
    app.get('/files-locked/*', echo);
    base = await listen(app);
  });
  afterAll(() => app.close());

  it('protects the HEAD route Fastify adds for a GET like the GET, requirements included', async () => {
    expect((await fetch(`${base}/me`, { method: 'HEAD' })).status).toBe(401);
    const head = await fetch(`${base}/read`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${writeToken}` },
    });
    expect(head.status).toBe(403);
    expect(head.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(
      (await fetch(`${base}/read`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect((await fetch(`${base}/items/7`, { method: 'HEAD' })).status).toBe(200);
  });

  it('leaves public routes with a path parameter or a wildcard public, and only those', async () => {
    expect((await fetch(`${base}/items/7`)).status).toBe(200);
    expect((await fetch(`${base}/files/a/b/c`)).status).toBe(200);
    expect((await fetch(`${base}/files-locked/a`)).status).toBe(401);
  });

  it('answers 404 to an anonymous caller for an unknown URL, as documented', async () => {
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });

  it("never shows one request's caller to the next one", async () => {
    const withToken = await fetch(`${base}/optional`, { headers: { authorization: `Bearer ${token}` } });
    expect(await withToken.json()).toEqual({ auth: 'set' });
    expect(await (await fetch(`${base}/optional`)).json()).toEqual({ auth: null });
    expect(await (await fetch(`${base}/items/1`)).json()).toEqual({ auth: null });
  });
});

describe('tokenguard (fastify) review: errors', () => {
  it('answers 503 with an integer Retry-After and no challenge when the key set cannot be fetched', async () => {
    const down = createValidator({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`,
      http: { timeoutMs: 2000 },
    });
    const app = Fastify();
    await app.register(tokenguard, { validator: down });
    app.get('/me', async () => 'ok');
    try {
      const base = await listen(app);
      const res = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await res.text()).not.toContain(token);
    } finally {
      await app.close();
      await down.close();
    }
  });

  it("gives the app's error handler the TokenGuardError, its HTTP status in status and statusCode (onError: 'next')", async () => {
    const app = Fastify();
    await app.register(tokenguard, { validator, onError: 'next' });
    app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      // The usual Fastify handler: the status from `statusCode`, 500 without one.
      const status = error.statusCode ?? 500;
      if (!isTokenGuardError(error)) return reply.code(status).send({ guard: false });
      return reply.code(status).headers(error.headers).send({ guard: true, status: error.status });
    });
    app.get('/me', async () => 'ok');
    app.get('/read', { config: { auth: { scopes: ['read'] } } }, async () => 'ok');
    try {
      const base = await listen(app);
      const anonymous = await fetch(`${base}/me`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(await anonymous.json()).toEqual({ guard: true, status: 401 });
      const scope = await fetch(`${base}/read`, { headers: { authorization: `Bearer ${writeToken}` } });
      expect(scope.status).toBe(403);
    } finally {
      await app.close();
    }
  });

  it('never writes the token or the Authorization header into the log, on either onError setting', async () => {
    for (const onError of ['respond', 'next'] as const) {
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk, _encoding, callback) {
          lines.push(String(chunk));
          callback();
        },
      });
      const app = Fastify({ logger: { level: 'trace', stream } });
      await app.register(tokenguard, { validator, onError, transport: { body: true } });
      app.get('/me', async () => 'ok');
      app.post('/form', async () => 'ok');
      try {
        const base = await listen(app);
        const broken = `${token.slice(0, -4)}AAAA`;
        const garbled = `${token}.x`;
        for (const sent of [broken, garbled, writeToken.replace('.', '!')]) {
          await fetch(`${base}/me`, { headers: { authorization: `Bearer ${sent}` } });
        }
        await fetch(`${base}/form`, {
          method: 'POST',
          headers: { 'content-type': FORM, authorization: `Bearer ${broken}` },
          body: `access_token=${broken}`,
        });
        const log = lines.join('');
        expect(log).toContain('incoming request');
        for (const secret of [
          broken,
          garbled,
          token.split('.')[2] as string,
          token.split('.')[1] as string,
        ]) {
          expect(log).not.toContain(secret);
        }
        expect(log.toLowerCase()).not.toContain('authorization');
      } finally {
        await app.close();
      }
    }
  });
});

describe('tokenguard (fastify) review: form bodies', () => {
  it('answers an anonymous form POST over bodyLimit 413 without reading a token', async () => {
    const app = Fastify({ bodyLimit: 1024 });
    await app.register(tokenguard, { validator, transport: { body: true } });
    app.post('/form', async () => 'ok');
    try {
      const base = await listen(app);
      const res = await fetch(`${base}/form`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `access_token=${token}&pad=${'x'.repeat(2048)}`,
      });
      expect(res.status).toBe(413);
      const ok = await fetch(`${base}/form`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `access_token=${token}`,
      });
      expect(ok.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("uses the app's own urlencoded parser when one is registered before the plugin", async () => {
    const app = Fastify();
    app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    await app.register(tokenguard, { validator, transport: { body: true } });
    app.post('/form', async (request) => request.body);
    try {
      const base = await listen(app);
      const res = await fetch(`${base}/form`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `access_token=${token}&a=1`,
      });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("refuses a urlencoded parser added after the plugin, unless the plugin's is removed first (README)", async () => {
    const app = Fastify();
    await app.register(tokenguard, { validator, transport: { body: true } });
    const mine = () =>
      app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
        done(null, { ...Object.fromEntries(new URLSearchParams(body as string)), mine: true });
      });
    expect(mine).toThrow(expect.objectContaining({ code: 'FST_ERR_CTP_ALREADY_PRESENT' }));
    app.removeContentTypeParser(FORM);
    mine();
    app.post('/form', async (request) => request.body);
    try {
      const base = await listen(app);
      const res = await fetch(`${base}/form`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: `access_token=${token}&a=1`,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ mine: true });
      expect(
        (await fetch(`${base}/form`, { method: 'POST', headers: { 'content-type': FORM }, body: 'a=1' }))
          .status,
      ).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('tokenguard (fastify) review: query tokens and the request log', () => {
  const logged = async (logger: Record<string, unknown>) => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const app = Fastify({ logger: { ...logger, stream } });
    await app.register(tokenguard, { validator, transport: { query: true } });
    app.get('/me', async () => 'ok');
    try {
      const base = await listen(app);
      const res = await fetch(`${base}/me?a=1&access_token=${token}`);
      expect(res.status).toBe(200);
      return lines.join('');
    } finally {
      await app.close();
    }
  };

  it("shows the query token in Fastify's own request log line unless the req serializer drops it (README)", async () => {
    expect(await logged({})).toContain(token);
    const redacted = await logged({
      serializers: {
        req: (request: { method: string; url: string }) => ({
          method: request.method,
          url: request.url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]'),
        }),
      },
    });
    expect(redacted).not.toContain(token);
    expect(redacted).toContain('/me?a=1&access_token=[redacted]');
  });
});

describe('tokenguard (fastify) review: contexts and earlier hooks', () => {
  it('does not run after an earlier hook answered, and protects only its prefixed context', async () => {
    const app = Fastify();
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.endsWith('/blocked')) return reply.code(429).send({ limited: true });
    });
    app.register(
      async (child) => {
        await child.register(tokenguard, { validator });
        child.get('/blocked', async () => 'ok');
        child.get('/x', async (request) => ({ auth: request.auth === null ? null : 'set' }));
      },
      { prefix: '/api' },
    );
    app.get('/open', async (request) => ({ auth: request.auth === undefined ? 'undefined' : 'other' }));
    app.register(async (sibling) => {
      sibling.get('/later', async () => 'public');
    });
    try {
      const base = await listen(app);
      expect((await fetch(`${base}/api/blocked`)).status).toBe(429);
      expect((await fetch(`${base}/api/x`)).status).toBe(401);
      expect((await fetch(`${base}/api/nowhere`)).status).toBe(404);
      expect(await (await fetch(`${base}/open`)).json()).toEqual({ auth: 'undefined' });
      expect((await fetch(`${base}/later`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
