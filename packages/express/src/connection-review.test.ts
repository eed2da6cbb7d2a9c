import { request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../dev-issuer/src/index.js';
import { tokenguard } from './index.js';

// The middleware on real sockets, with tokens from the real dev issuer: HEAD answers, pipelined
// requests on one connection, and a client that leaves while its token is being verified.

const AUDIENCE = 'https://api.test';

let issuer: DevIssuer;
let server: Server;
let port: number;
let token: string;
const validators: Validator[] = [];
const problems: unknown[] = [];
const onProblem = (reason: unknown): void => {
  problems.push(reason);
};
/** Resolvers waiting for a request to reach the route handler or the app's error handler. */
const reached = new Map<string, (outcome: string) => void>();
/** Resolvers waiting for a request to reach the server (before tokenguard() runs). */
const arrived = new Map<string, () => void>();
/** Resolvers waiting for the response to a request to be ended, with its status. */
const ended = new Map<string, (status: number) => void>();

function freshValidator(): Validator {
  const validator = createValidator({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'api' });
  validators.push(validator);
  return validator;
}

beforeAll(async () => {
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtExceptionMonitor', onProblem);
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: AUDIENCE, scope: 'read' });
  const app = express();
  app.use((req, res, next) => {
    arrived.get(req.path)?.();
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.end = ((...args: unknown[]) => {
      ended.get(req.path)?.(res.statusCode);
      return end(...args);
    }) as Response['end'];
    next();
  });
  const answer = (req: Request, res: Response) => {
    reached.get(req.path)?.('handler');
    res.json({ subject: req.auth?.subject ?? null });
  };
  app.all('/me', tokenguard(freshValidator()), answer);
  // Each gets a validator of its own, so its token is not verified yet when the client leaves.
  app.get('/leave-ok', tokenguard(freshValidator()), answer);
  app.get('/leave-down', tokenguard(freshValidator(), { onError: 'next' }), answer);
  app.get('/leave-respond', tokenguard(freshValidator()), answer);
  app.use((error: unknown, req: Request, _res: Response, next: NextFunction) => {
    reached.get(req.path)?.(`error ${(error as { code?: string }).code}`);
    next(error);
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtExceptionMonitor', onProblem);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await Promise.all(validators.map((validator) => validator.close()));
  await issuer.close();
});

/**
 * Sends `text` on one connection and gives back all the server wrote until it closed it (the last
 * request says `Connection: close`). Not half-closed: Node's server (httpAllowHalfOpen false) drops
 * the requests it has not answered yet when the client ends its side.
 */
function exchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}

/** The responses in `raw`, each as its status line, headers and exactly the body bytes it carried. */
function responses(raw: string): { status: number; headers: Map<string, string>; body: string }[] {
  const out: { status: number; headers: Map<string, string>; body: string }[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers = new Map(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    rest = rest.slice(end + 4);
    // A HEAD answer has a Content-Length but no body: the next response starts right away.
    const length = rest.startsWith('HTTP/1.1 ') ? 0 : Number(headers.get('content-length') ?? 0);
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(0, length) });
    rest = rest.slice(length);
  }
  return out;
}

/** Resolves once the request to `path` reached the route handler or the app's error handler. */
const outcomeOf = (path: string): Promise<string> => new Promise((resolve) => reached.set(path, resolve));

/** Sends a request to `path` and destroys the connection once it reached the server. */
async function leaveDuringVerification(path: string): Promise<void> {
  const serverGotIt = new Promise<void>((resolve) => arrived.set(path, resolve));
  const req = httpRequest({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } });
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
  req.on('error', () => {});
  req.end();
  await serverGotIt;
  req.destroy();
  await closed;
}

describe('tokenguard (express) on real connections', () => {
  it('answers a HEAD without a token with the 401 status and challenge, and no body', async () => {
    const [head, get] = responses(
      await exchange(
        'HEAD /me HTTP/1.1\r\nHost: a\r\n\r\nGET /me HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      ),
    );
    expect(head?.status).toBe(401);
    expect(head?.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(head?.body).toBe('');
    // The GET after it on the same connection is read as a request of its own, with its body.
    expect(get?.status).toBe(401);
    expect(JSON.parse(get?.body ?? '')).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
    });
  });

  it('keeps req.auth to its own request among pipelined requests on one connection', async () => {
    const withToken = `GET /me HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const without = 'GET /me HTTP/1.1\r\nHost: a\r\n\r\n';
    const last = 'GET /me HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    const answers = responses(await exchange(without + withToken + without + withToken + last));
    expect(answers.map((answer) => answer.status)).toEqual([401, 200, 401, 200, 401]);
    expect(JSON.parse(answers[1]?.body ?? '')).toEqual({ subject: 'tokenguard-dev-client' });
    expect(answers[2]?.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  it('goes on quietly when the client leaves while its token is verified: no write error, no unhandled rejection', async () => {
    issuer.jwks.setLatencyMs(300);
    try {
      const ok = outcomeOf('/leave-ok');
      await leaveDuringVerification('/leave-ok');
      expect(await ok).toBe('handler');

      issuer.jwks.setDown(true);
      const down = outcomeOf('/leave-down');
      await leaveDuringVerification('/leave-down');
      expect(await down).toBe('error ERR_KEYS_UNAVAILABLE');

      // Answered by tokenguard() itself (503) on a connection already gone.
      const responded = new Promise<number>((resolve) => ended.set('/leave-respond', resolve));
      await leaveDuringVerification('/leave-respond');
      expect(await responded).toBe(503);
    } finally {
      issuer.jwks.reset();
    }
    // The server still answers.
    const res = await fetch(`http://127.0.0.1:${port}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(problems).toEqual([]);
  });
});
