import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createValidator, isTokenGuardError } from '@tokenguard/core';
import buildGetJwks from 'get-jwks';
import { createRemoteJWKSet, jwtVerify, SignJWT } from 'jose';
import { JwksClient } from 'jwks-rsa';
import {
  createSigningKey,
  type JwksServer,
  startJwksServer,
  type TestSigningKey,
} from '../../test/support/jwks-server.js';

/**
 * Key set fetch counts under rotation and `kid` storms, against a local JWKS server that adds 50 ms
 * of latency per response: tokenguard next to jose `createRemoteJWKSet`, `get-jwks` and `jwks-rsa`,
 * each with its default settings.
 *
 * @example
 * ```ts
 * const table = await runKeySetScenarios();
 * ```
 */
export async function runKeySetScenarios(
  options: { stormSeconds?: number; latencyMs?: number } = {},
): Promise<{ title: string; columns: string[]; rows: (string | number)[][]; notes: string[] }> {
  const stormMs = (options.stormSeconds ?? 5) * 1000;
  const latencyMs = options.latencyMs ?? 50;
  const key = createSigningKey('k1', 'ES256');
  const rotated = createSigningKey('k2', 'ES256');
  const contenders = [tokenguard, jose, getJwks, jwksRsa];

  const cold = await sign(key);
  const stormTokens = await Promise.all(Array.from({ length: 1000 }, () => sign(key, randomUUID())));
  const rotatedToken = await sign(rotated);

  const rows: (string | number)[][] = [];
  const run = async (cell: (contender: Contender, server: JwksServer) => Promise<string | number>) => {
    const cells: (string | number)[] = [];
    for (const contender of contenders) {
      const server = await startJwksServer([key.jwk]);
      server.latencyMs = latencyMs;
      try {
        cells.push(await cell(contender, server));
      } finally {
        await server.close();
      }
    }
    return cells;
  };

  rows.push([
    '1000 concurrent validations, cold cache',
    'exactly 1',
    ...(await run(async (contender, server) => {
      const check = contender.create(server.url);
      await Promise.allSettled(Array.from({ length: 1000 }, () => check(cold)));
      await check.close();
      return server.fetchCount;
    })),
  ]);

  rows.push([
    '1000 concurrent random kids, warm cache',
    '≤ 1',
    ...(await run(async (contender, server) => {
      const check = contender.create(server.url);
      await check(cold);
      const before = server.fetchCount;
      await Promise.allSettled(stormTokens.map((token) => check(token)));
      await check.close();
      return server.fetchCount - before;
    })),
  ]);

  const windowsSec = 10;
  rows.push([
    `random kids one after another for ${stormMs / 1000} s (fetches)`,
    `≤ 1 per cooldown window (tokenguard: ${Math.ceil(stormMs / 1000 / windowsSec)} window of ${windowsSec} s)`,
    ...(await run(async (contender, server) => {
      const check = contender.create(server.url);
      await check(cold);
      const before = server.fetchCount;
      const end = performance.now() + stormMs;
      let requests = 0;
      while (performance.now() < end) {
        await check(stormTokens[requests % stormTokens.length] as string).catch(() => undefined);
        requests++;
      }
      await check.close();
      return `${server.fetchCount - before} (${requests} requests)`;
    })),
  ]);

  rows.push([
    'rotated-in key right after warm-up',
    'accepted, 1 fetch',
    ...(await run(async (contender, server) => {
      const check = contender.create(server.url);
      await check(cold);
      server.keys = [key.jwk, rotated.jwk];
      const before = server.fetchCount;
      const verdict = await check(rotatedToken).then(
        () => 'accepted',
        (error: unknown) => `rejected (${describe(error)})`,
      );
      await check.close();
      return `${verdict}, ${server.fetchCount - before} fetch${server.fetchCount - before === 1 ? '' : 'es'}`;
    })),
  ]);

  return {
    title: 'Key set fetches under rotation and kid storms (JWKS server adds 50 ms per response)',
    columns: ['scenario', 'target', ...contenders.map((contender) => contender.name)],
    rows,
    notes: [
      'Each cell is a fresh validator/client with default settings and its own JWKS server; counts are requests the server received.',
      'tokenguard, jose: full JWT validation; get-jwks, jwks-rsa: key lookup by the token kid (what @fastify/jwt and express-jwt do per request).',
    ],
  };
}

type Check = ((token: string) => Promise<unknown>) & { close(): Promise<void> };
interface Contender {
  name: string;
  create(url: string): Check;
}

const ISSUER = 'https://issuer.bench';
const AUDIENCE = 'https://api.bench';

function sign(key: TestSigningKey, kid = key.kid): Promise<string> {
  return new SignJWT({ scope: 'read', client_id: 'bench' })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key.privateKey);
}

function kidOf(token: string): string {
  const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as {
    kid: string;
  };
  return header.kid;
}

function check(fn: (token: string) => Promise<unknown>, close = async () => {}): Check {
  return Object.assign(fn, { close });
}

function describe(error: unknown): string {
  if (isTokenGuardError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : ((error as Error)?.name ?? 'error');
}

const tokenguard: Contender = {
  name: 'tokenguard',
  create(url) {
    const validator = createValidator({ issuer: ISSUER, audience: AUDIENCE, jwksUri: url });
    return check(
      (token) => validator.validate(token),
      () => validator.close(),
    );
  },
};

const jose: Contender = {
  name: 'jose createRemoteJWKSet',
  create(url) {
    const jwks = createRemoteJWKSet(new URL(url));
    return check((token) => jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' }));
  },
};

const getJwks: Contender = {
  name: 'get-jwks',
  create(url) {
    const parsed = new URL(url);
    const client = buildGetJwks({ jwksPath: parsed.pathname });
    return check((token) => client.getPublicKey({ domain: parsed.origin, alg: 'ES256', kid: kidOf(token) }));
  },
};

const jwksRsa: Contender = {
  name: 'jwks-rsa',
  create(url) {
    const client = new JwksClient({ jwksUri: url });
    return check((token) => client.getSigningKey(kidOf(token)));
  },
};

function toMarkdown(table: {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes: string[];
}) {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [
    `### ${table.title}`,
    '',
    line(table.columns),
    line(table.columns.map(() => '---')),
    ...table.rows.map(line),
    '',
    ...table.notes,
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const core = import.meta.resolve('@tokenguard/core');
  if (core.includes('/dist/')) {
    console.error(
      `note: @tokenguard/core resolved to its build (${core}); run \`pnpm build\` first, or use \`npx tsx --conditions=source scenarios/keyset.ts\` to measure the sources.`,
    );
  }
  console.log(toMarkdown(await runKeySetScenarios()));
}
