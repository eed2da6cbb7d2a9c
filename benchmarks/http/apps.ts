import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyJwt from '@fastify/jwt';
import { getRequestListener } from '@hono/node-server';
import { createValidator, type TokenGuardError, type Validator } from '@tokenguard/core';
import { tokenguard as tokenguardExpress } from '@tokenguard/express';
import { tokenguard as tokenguardFastify } from '@tokenguard/fastify';
import { tokenguard as tokenguardHono } from '@tokenguard/hono';
import express from 'express';
import { auth as auth0 } from 'express-oauth2-jwt-bearer';
import Fastify from 'fastify';
import buildGetJwks from 'get-jwks';
import { type Context, Hono } from 'hono';
import { jwk } from 'hono/jwk';
import { AUDIENCE } from '../lib/tokens.js';
import { createFloorAuth } from './floor-auth.js';
import type { BenchIssuer } from './issuer.js';

export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/**
 * none: the framework alone (the ceiling); noop: a middleware that attaches a fixed caller and does
 * nothing else, the way the framework runs any middleware (what an auth layer cannot go under);
 * tokenguard: our adapter with default options; tokenguard-off-thread: the same with
 * `verifyOffThread: true`; tokenguard-validate: core's `validator.validate()` called from a
 * hand-written middleware, which verifies a fresh token's signature at once (the adapters wait for
 * the end of the event loop's phase and verify the tokens read in it together); tokenguard-protect
 * (Hono only): the adapter's `auth.protect(handler)`, the route's one handler as the ceiling's is;
 * peer: what users of it pick; floor (the profiling tools only, never in `pnpm bench`): a middleware
 * that does the in-process floor's work, an RS256 signature and the claims decoded, checking nothing
 * else (see `http/floor-auth.ts`).
 */
export type AuthMode =
  | 'none'
  | 'noop'
  | 'tokenguard'
  | 'tokenguard-protect'
  | 'tokenguard-off-thread'
  | 'tokenguard-validate'
  | 'peer'
  | 'floor';
export const AUTH_MODES: readonly AuthMode[] = [
  'none',
  'noop',
  'tokenguard',
  'tokenguard-protect',
  'tokenguard-off-thread',
  'tokenguard-validate',
  'peer',
  'floor',
];

/**
 * The modes `framework` has in `pnpm bench`: `tokenguard-protect` is Hono's alone; `floor` checks no
 * claim, so it is left to the profiling tools ({@link buildApp} builds it for any framework).
 */
export function modesOf(framework: Framework): readonly AuthMode[] {
  return AUTH_MODES.filter(
    (mode) => mode !== 'floor' && (framework === 'hono' || mode !== 'tokenguard-protect'),
  );
}

export const PEER_NAMES: Readonly<Record<Framework, string>> = {
  express: 'express-oauth2-jwt-bearer',
  fastify: '@fastify/jwt + get-jwks',
  hono: "hono's jwk (jwks_uri)",
};

export interface RunningApp {
  readonly url: string;
  close(): Promise<void>;
}

const PATH = '/orders';
const reply = (subject: unknown) => ({ ok: true, sub: subject ?? null });
/** What the no-op middleware attaches: read by the handler as tokenguard's `auth` is. */
const FIXED_CALLER = Object.freeze({ subject: 'noop' });

/** An app before it listens: Node's request listener, and what frees the app's own resources. */
export interface BuiltApp {
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

/** Attempts at fetching an app's key set before a round gives up (a host stall can outlast one timeout). */
const WARM_ATTEMPTS = 3;

/**
 * `validator.warm()`, tried again after the key set's `Retry-After` when a fetch from the bench issuer
 * fails: a shared host that stalls for longer than the HTTP timeout once must not end a 7-minute run.
 */
async function warmed(validator: Validator): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await validator.warm();
      return;
    } catch (error) {
      if (attempt >= WARM_ATTEMPTS) throw error;
      const waitSec = (error as Partial<TokenGuardError>).retryAfterSec ?? 1;
      console.error(`[bench] key set fetch failed (${String(error)}); trying again in ${waitSec} s`);
      await new Promise((resolve) => setTimeout(resolve, waitSec * 1000 + 100));
    }
  }
}

/** Starts `framework` on 127.0.0.1 with one GET route protected by `mode`, checking iss, aud and exp. */
export async function startApp(
  framework: Framework,
  mode: AuthMode,
  issuer: BenchIssuer,
): Promise<RunningApp> {
  // Every framework behind the same node:http server (default keep-alive settings), so the
  // ceiling and the contenders differ by the app alone.
  const app = await buildApp(framework, mode, issuer);
  const server = createServer(app.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await app.close();
    },
  };
}

/** Builds `framework`'s app with one GET route protected by `mode`, checking iss, aud and exp. */
export async function buildApp(framework: Framework, mode: AuthMode, issuer: BenchIssuer): Promise<BuiltApp> {
  if (!modesOf(framework).includes(mode) && mode !== 'floor')
    throw new TypeError(`mode: ${framework} has no ${mode}`);
  const options = {
    issuer: issuer.issuer,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
    verifyOffThread: mode === 'tokenguard-off-thread',
  };
  const ours = mode === 'tokenguard' || mode === 'tokenguard-off-thread' || mode === 'tokenguard-protect';
  // Read by the handlers as tokenguard's `auth` is.
  const readsAuth = ours || mode === 'noop' || mode === 'tokenguard-validate' || mode === 'floor';
  const plain = mode === 'tokenguard-validate' ? createValidator(options) : undefined;
  if (plain !== undefined) await warmed(plain);
  const floorAuth = mode === 'floor' ? await createFloorAuth(issuer.jwksUri) : undefined;
  // The validator the app closes with it: the plain one, or an Express or Hono adapter's (Fastify's
  // plugin closes its own when the app closes).
  let owned: Validator | undefined = plain;
  const closeOwned = async (): Promise<void> => owned?.close();
  switch (framework) {
    case 'express': {
      const app = express();
      if (ours) {
        const middleware = tokenguardExpress(options);
        owned = middleware.validator;
        await warmed(middleware.validator);
        app.use(middleware);
      } else if (mode === 'noop') {
        app.use((req, _res, next) => {
          (req as { auth?: unknown }).auth = FIXED_CALLER;
          next();
        });
      } else if (floorAuth !== undefined) {
        app.use((req, res, next) => {
          const caller = floorAuth(req.headers.authorization);
          if (caller === undefined) {
            res.status(401).end();
            return;
          }
          (req as { auth?: unknown }).auth = caller;
          next();
        });
      } else if (plain !== undefined) {
        app.use((req, res, next) => {
          plain.validate(req.headers.authorization).then(
            (auth) => {
              req.auth = auth;
              next();
            },
            (error: TokenGuardError) => res.status(error.status).set(error.headers).json(error.toJSON()),
          );
        });
      } else if (mode === 'peer') {
        app.use(
          auth0({
            issuer: issuer.issuer,
            audience: AUDIENCE,
            jwksUri: issuer.jwksUri,
            tokenSigningAlg: 'RS256',
          }),
        );
      }
      app.get(PATH, (req, res) => {
        const subject = readsAuth
          ? req.auth?.subject
          : (req as { auth?: { payload?: { sub?: string } } }).auth?.payload?.sub;
        res.json(reply(subject));
      });
      // The peer's refusals (errors with a status and headers) answered without Express's default
      // handler, which also logs each one's stack; only the preflight's refused tokens reach it.
      app.use(
        (
          error: { status?: number; headers?: Record<string, string> },
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          res
            .status(error.status ?? 500)
            .set(error.headers ?? {})
            .end();
        },
      );
      return { listener: app, close: closeOwned };
    }
    case 'fastify': {
      // serverFactory hands over Fastify's full request handler; the server here never listens.
      let handler: BuiltApp['listener'] | undefined;
      const app = Fastify({
        logger: false,
        serverFactory: (h) => {
          handler = h as BuiltApp['listener'];
          return createServer();
        },
      });
      if (ours) {
        await app.register(tokenguardFastify, options);
      } else if (mode === 'noop') {
        app.decorateRequest('auth', null);
        app.addHook('onRequest', (request, _reply, done) => {
          (request as { auth?: unknown }).auth = FIXED_CALLER;
          done();
        });
      } else if (floorAuth !== undefined) {
        app.decorateRequest('auth', null);
        app.addHook('onRequest', (request, replyTo, done) => {
          const caller = floorAuth(request.headers.authorization);
          if (caller === undefined) {
            replyTo.code(401).send();
            return;
          }
          (request as { auth?: unknown }).auth = caller;
          done();
        });
      } else if (plain !== undefined) {
        app.decorateRequest('auth', null);
        app.addHook('onRequest', async (request, replyTo) => {
          try {
            (request as { auth?: unknown }).auth = await plain.validate(request.headers.authorization);
          } catch (error) {
            const failure = error as TokenGuardError;
            replyTo.code(failure.status).headers(failure.headers).send(failure.toJSON());
          }
        });
      } else if (mode === 'peer') {
        const getJwks = buildGetJwks({ issuersWhitelist: [issuer.issuer] });
        await app.register(fastifyJwt, {
          decode: { complete: true },
          secret: (
            _request: unknown,
            token: { header: { kid: string; alg: string }; payload: { iss: string } },
          ) =>
            getJwks.getPublicKey({ kid: token.header.kid, domain: token.payload.iss, alg: token.header.alg }),
          verify: { allowedIss: issuer.issuer, allowedAud: AUDIENCE, algorithms: ['RS256'] },
        } as never);
        app.addHook('onRequest', async (request, replyTo) => {
          try {
            await request.jwtVerify();
          } catch (error) {
            // 401 unless the error says otherwise: get-jwks refuses an issuer off its list (a wrong
            // iss) with an error that has no status, which Fastify would answer with a 500.
            replyTo.code(401).send(error);
          }
        });
      }
      app.get(PATH, async (request) => {
        const subject = readsAuth
          ? (request as { auth?: { subject?: string } | null }).auth?.subject
          : (request as { user?: { sub?: string } }).user?.sub;
        return reply(subject);
      });
      await app.ready();
      return {
        listener: handler as BuiltApp['listener'],
        close: async () => {
          await app.close();
          await closeOwned();
        },
      };
    }
    case 'hono': {
      const app = new Hono();
      // c.get, not c.var: c.var copies every variable into a new object on each read, a cost that
      // would land on the authenticated runs only (the ceiling sets no variable).
      const handler = (c: Context) => {
        const get = c.get as (key: string) => { subject?: string; sub?: string } | undefined;
        return c.json(reply(readsAuth ? get('auth')?.subject : get('jwtPayload')?.sub));
      };
      if (ours) {
        const middleware = tokenguardHono(options);
        owned = middleware.validator;
        await warmed(middleware.validator);
        if (mode === 'tokenguard-protect') {
          app.get(PATH, middleware.protect(handler));
          return { listener: getRequestListener(app.fetch), close: closeOwned };
        }
        app.use(PATH, middleware);
      } else if (mode === 'noop') {
        app.use(PATH, async (c, next) => {
          c.set('auth' as never, FIXED_CALLER as never);
          await next();
        });
      } else if (floorAuth !== undefined) {
        app.use(PATH, async (c, next) => {
          const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
          const caller = floorAuth(incoming?.headers.authorization ?? c.req.header('authorization'));
          if (caller === undefined) return c.body(null, 401);
          c.set('auth' as never, caller as never);
          await next();
        });
      } else if (plain !== undefined) {
        app.use(PATH, async (c, next) => {
          try {
            // Node's own header record, as the adapter reads it: c.req.header() would build the fetch
            // Request (@hono/node-server makes it lazily), a cost the comparison is not about.
            const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
            const header = incoming?.headers.authorization ?? c.req.header('authorization');
            c.set('auth' as never, (await plain.validate(header)) as never);
          } catch (error) {
            const failure = error as TokenGuardError;
            return c.json(failure.toJSON(), failure.status as 401, failure.headers);
          }
          await next();
        });
      } else if (mode === 'peer') {
        app.use(
          PATH,
          jwk({
            jwks_uri: issuer.jwksUri,
            alg: ['RS256'],
            verification: { iss: issuer.issuer, aud: AUDIENCE, typ: 'at+jwt' },
          }),
        );
      }
      app.get(PATH, handler);
      return { listener: getRequestListener(app.fetch), close: closeOwned };
    }
  }
}
