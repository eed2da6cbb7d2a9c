import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// routeConfigOf on a real Fastify server (127.0.0.1, port 0): each test imports the module afresh,
// so the symbol it learns from the first request is learned again.
type RouteContextModule = typeof import('./route-context.js');

let app: FastifyInstance;
let base: string;
let routeContext: RouteContextModule;
/** What each request's onRequest hook saw: routeConfigOf's answer and routeOptions.config. */
let seen: { url: string; read: unknown; expected: unknown }[] = [];
/** Set by a test: runs in the hook before routeConfigOf is asked. */
let beforeRead: ((request: FastifyRequest) => void) | undefined;

beforeAll(async () => {
  app = Fastify();
  app.addHook('onRequest', (request, _reply, done) => {
    const expected = request.routeOptions.config;
    beforeRead?.(request);
    seen.push({ url: request.url, read: routeContext.routeConfigOf(request), expected });
    done();
  });
  app.get('/a', { config: { auth: { scopes: ['a'] } } }, async () => 'a');
  app.get('/b', { config: { auth: false } }, async () => 'b');
  app.get('/c', async () => 'c');
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app.close();
});

beforeEach(async () => {
  vi.resetModules();
  routeContext = await import('./route-context.js');
  seen = [];
  beforeRead = undefined;
});

async function get(path: string): Promise<number> {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return response.status;
}

describe('routeConfigOf', () => {
  it("gives each route's own config object, the one routeOptions.config gives, a 404 included", async () => {
    for (const path of ['/a', '/b', '/c', '/missing', '/a', '/b', '/missing']) await get(path);
    expect(seen).toHaveLength(7);
    for (const { read, expected } of seen) expect(read).toBe(expected);
    const byUrl = new Map(seen.map(({ url, read }) => [url, read as { auth?: unknown }]));
    expect(byUrl.get('/a')?.auth).toEqual({ scopes: ['a'] });
    expect(byUrl.get('/b')?.auth).toBe(false);
    expect(byUrl.get('/c')?.auth).toBeUndefined();
    expect(byUrl.get('/missing')).toBe(seen.find(({ url }) => url === '/missing')?.expected);
  });

  it('reads the route context directly once learned, without routeOptions', async () => {
    await get('/a');
    // From now on, a read of routeOptions on the request would fail the request.
    beforeRead = (request) => {
      Object.defineProperty(request, 'routeOptions', {
        get() {
          throw new Error('routeOptions read');
        },
      });
    };
    expect(await get('/b')).toBe(200);
    expect(await get('/a')).toBe(200);
    expect((seen[1]?.read as { auth?: unknown } | undefined)?.auth).toBe(false);
    expect((seen[2]?.read as { auth?: unknown } | undefined)?.auth).toEqual({ scopes: ['a'] });
  });

  it('reads routeOptions every time when no symbol of the request holds the route context', () => {
    const config = { auth: { scopes: ['x'] } };
    let reads = 0;
    const request = {
      [Symbol('other')]: { config: {} },
      get routeOptions() {
        reads++;
        return { config };
      },
    } as unknown as FastifyRequest;
    expect(routeContext.routeConfigOf(request)).toBe(config);
    expect(routeContext.routeConfigOf(request)).toBe(config);
    expect(reads).toBe(2);
  });
});
