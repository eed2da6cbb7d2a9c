import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { thrownBy } from '../../../test/support/rejections.js';
import { TokenGuardError } from './errors.js';
import { type ResolvedIssuerOptions, resolveOptions } from './options.js';
import {
  createIssuerRegistry,
  isTenantSegment,
  matchIssuerTemplate,
  RESOLVER_TIMEOUT_MS,
  readTokenTenant,
  type TenantResolver,
} from './tenants.js';
import { createValidator, type Validator } from './validator.js';

const NOW_SEC = 1_800_000_000;
const now = () => NOW_SEC * 1000;
const AUD = 'https://api.example';

async function rejectionOf(promise: Promise<unknown>): Promise<TokenGuardError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenGuardError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * A real HTTP server on 127.0.0.1 playing a multi-tenant authorization server: it counts every
 * request and serves, for each tenant it knows, discovery at `/t/<tenant>/.well-known/openid-configuration`
 * and keys at `/t/<tenant>/jwks` and `/keys/<tenant>`; plus an issuer of its own at the root.
 */
interface CountingIssuer {
  readonly base: string;
  readonly paths: string[];
  tenants: Map<string, SigningKey>;
  rootKey: SigningKey | undefined;
  close(): Promise<void>;
}

async function startCountingIssuer(): Promise<CountingIssuer> {
  const paths: string[] = [];
  const state: CountingIssuer = {
    base: '',
    paths,
    tenants: new Map(),
    rootKey: undefined,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    paths.push(path);
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      return json({ issuer: state.base, jwks_uri: `${state.base}/jwks` });
    }
    if (path === '/jwks' && state.rootKey !== undefined) return json(jwksOf(state.rootKey));
    const match = /^\/(?:t\/([^/]+)\/(\.well-known\/openid-configuration|jwks)|keys\/([^/]+))$/.exec(path);
    const tenant = match?.[1] ?? match?.[3];
    const key = tenant === undefined ? undefined : state.tenants.get(tenant);
    if (key !== undefined) {
      if (match?.[2]?.startsWith('.well-known')) {
        return json({ issuer: `${state.base}/t/${tenant}`, jwks_uri: `${state.base}/t/${tenant}/jwks` });
      }
      return json(jwksOf(key));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { base: string }).base = `http://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

describe('isTenantSegment', () => {
  it('accepts letters, digits, - and _ (GUIDs, org ids, slugs)', () => {
    for (const tenant of ['a', '72f988bf-86f1-41af-91ab-2d7cd011db47', 'org_abc123', 'Acme-EU']) {
      expect(isTenantSegment(tenant)).toBe(true);
    }
  });

  it('rejects anything that could leave its segment', () => {
    for (const tenant of [
      '',
      '/',
      'a/b',
      '.',
      '..',
      'a.b',
      '%2F',
      'a%2e',
      'a@b',
      'a:1',
      'a?b',
      'a#b',
      ' a',
      'é',
    ]) {
      expect(isTenantSegment(tenant)).toBe(false);
    }
    expect(isTenantSegment('a'.repeat(129))).toBe(false);
    expect(isTenantSegment(1)).toBe(false);
  });
});

describe('matchIssuerTemplate', () => {
  const template = resolveOptions({
    issuer: 'https://login.example/{tenant}/v2.0',
    audience: AUD,
    tenants: ['a'],
  }).issuers[0]?.template;
  if (template === undefined) throw new Error('expected a template');

  it('captures the tenant of a matching issuer', () => {
    expect(matchIssuerTemplate(template, 'https://login.example/abc-1/v2.0')).toBe('abc-1');
  });

  it('rejects issuers of another shape', () => {
    for (const iss of [
      'https://login.example//v2.0',
      'https://login.example/a/b/v2.0',
      'https://login.example/../v2.0',
      'https://login.example/./v2.0',
      'https://login.example/a%2Fb/v2.0',
      'https://login.example/a/v2.0/',
      'https://login.example/a/v2.1',
      'http://login.example/a/v2.0',
      'https://login.example.evil/a/v2.0',
      'https://login.example/v2.0',
    ]) {
      expect(matchIssuerTemplate(template, iss)).toBeUndefined();
    }
  });
});

describe('issuer template options', () => {
  const base = { audience: AUD };

  it('needs a tenant list or a resolver', () => {
    expect(() => resolveOptions({ ...base, issuer: 'https://id.example/{tenant}' })).toThrow(
      /invalid option "tenants": a template needs exactly one of tenants/,
    );
    expect(() =>
      resolveOptions({
        ...base,
        issuer: 'https://id.example/{tenant}',
        tenants: ['a'],
        resolveTenant: () => true,
      }),
    ).toThrow(/invalid option "tenants": a template needs exactly one/);
  });

  it('names a bad tenant of the list', () => {
    expect(() =>
      resolveOptions({
        issuers: [{ ...base, issuer: 'https://id.example/{tenant}', tenants: ['a', 'b/c'] }],
      }),
    ).toThrow(/invalid option "issuers.0.tenants.1": must be 1-128 letters/);
  });

  it('allows one placeholder only, in an http(s) URL', () => {
    expect(() =>
      resolveOptions({ ...base, issuer: 'https://id.example/{tenant}/{tenant}', tenants: ['a'] }),
    ).toThrow(/invalid option "issuer": must contain \{tenant\} once/);
    expect(() => resolveOptions({ ...base, issuer: 'urn:{tenant}', tenants: ['a'] })).toThrow(
      /invalid option "issuer": a template must be an http\(s\) URL/,
    );
  });

  it('rejects template settings on an exact issuer', () => {
    expect(() => resolveOptions({ ...base, issuer: 'https://id.example', tenants: ['a'] })).toThrow(
      /invalid option "tenants": only applies to an issuer template/,
    );
    expect(() => resolveOptions({ ...base, issuer: 'https://id.example', maxTenants: 5 })).toThrow(
      /invalid option "maxTenants"/,
    );
    expect(() =>
      resolveOptions({ ...base, issuer: 'https://id.example', jwksUri: 'https://id.example/{tenant}/keys' }),
    ).toThrow(/invalid option "jwksUri": \{tenant\} needs an issuer template/);
  });

  it('rejects a fixed tenant on a template and a non-function resolver', () => {
    expect(() =>
      resolveOptions({ ...base, issuer: 'https://id.example/{tenant}', tenants: ['a'], tenant: 'a' }),
    ).toThrow(/invalid option "tenant": cannot be fixed on a template/);
    expect(() =>
      resolveOptions({
        ...base,
        issuer: 'https://id.example/{tenant}',
        resolveTenant: 'yes' as unknown as TenantResolver,
      }),
    ).toThrow(/invalid option "resolveTenant": must be a tenant resolver function/);
  });

  it('applies defaults: 1000 tenants kept, resolver answers trusted 300 s', () => {
    const [issuer] = resolveOptions({
      ...base,
      issuer: 'https://id.example/{tenant}',
      resolveTenant: () => true,
    }).issuers;
    expect(issuer?.template).toMatchObject({
      prefix: 'https://id.example/',
      suffix: '',
      maxTenants: 1000,
      tenantTtlSec: 300,
    });
  });
});

describe('readTokenTenant', () => {
  it('reads the tenant claim of an issuer without a tenant of its own', () => {
    expect(readTokenTenant({ tid: 'a' }, { tenant: undefined, tenantClaim: 'tid' })).toBe('a');
  });

  it('uses the issuer tenant when the claim is absent or not configured', () => {
    expect(readTokenTenant({}, { tenant: 'a', tenantClaim: 'tid' })).toBe('a');
    expect(readTokenTenant({ tid: 'b' }, { tenant: 'a', tenantClaim: undefined })).toBe('a');
    expect(readTokenTenant({}, { tenant: undefined, tenantClaim: 'tid' })).toBeUndefined();
  });

  it('rejects a tenant claim that disagrees with the issuer tenant (401)', () => {
    const error = thrownBy(() => readTokenTenant({ tid: 'b' }, { tenant: 'a', tenantClaim: 'tid' }));
    expect(error.code).toBe('ERR_CLAIM_INVALID');
    expect(error.status).toBe(401);
    expect(error.claim).toBe('tid');
  });

  it('rejects a tenant claim that is not a non-empty string', () => {
    for (const tid of ['', 1, ['a'], null, {}]) {
      expect(thrownBy(() => readTokenTenant({ tid }, { tenant: undefined, tenantClaim: 'tid' })).code).toBe(
        'ERR_CLAIM_INVALID',
      );
    }
  });

  it('ignores inherited properties', () => {
    expect(readTokenTenant({}, { tenant: undefined, tenantClaim: 'constructor' })).toBeUndefined();
  });
});

describe('createIssuerRegistry', () => {
  function registryOf(
    issuers: Parameters<typeof resolveOptions>[0]['issuers'],
    clock: { ms: number },
  ): { registry: ReturnType<typeof createIssuerRegistry<ResolvedIssuerOptions>>; created: string[] } {
    const created: string[] = [];
    const registry = createIssuerRegistry(
      resolveOptions({ issuers }).issuers,
      (config) => {
        created.push(config.issuer);
        return config;
      },
      () => clock.ms,
    );
    return { registry, created };
  }

  it('selects an exact issuer, and an exact issuer wins over a template', () => {
    const { registry } = registryOf(
      [
        { issuer: 'https://id.example/{tenant}', audience: AUD, tenants: ['special'] },
        { issuer: 'https://id.example/special', audience: 'https://other.example' },
      ],
      { ms: 0 },
    );
    expect((registry.select('https://id.example/special') as ResolvedIssuerOptions).audience).toEqual([
      'https://other.example',
    ]);
  });

  it('builds the concrete issuer: issuer, jwksUri and tenant substituted', () => {
    const { registry } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}/v2',
          jwksUri: 'https://keys.example/{tenant}/jwks',
          audience: AUD,
          tenants: ['a'],
        },
      ],
      { ms: 0 },
    );
    const config = registry.select('https://id.example/a/v2') as ResolvedIssuerOptions;
    expect(config).toMatchObject({
      issuer: 'https://id.example/a/v2',
      jwksUri: 'https://keys.example/a/jwks',
      tenant: 'a',
      template: undefined,
    });
  });

  it('rejects an unlisted tenant and an unknown issuer with ERR_ISSUER_MISMATCH', () => {
    const { registry, created } = registryOf(
      [{ issuer: 'https://id.example/{tenant}', audience: AUD, tenants: ['a'] }],
      { ms: 0 },
    );
    expect(thrownBy(() => registry.select('https://id.example/b')).code).toBe('ERR_ISSUER_MISMATCH');
    expect(thrownBy(() => registry.select('https://evil.example')).code).toBe('ERR_ISSUER_MISMATCH');
    expect(created).toEqual([]);
  });

  it('lets the first template of a shape decide; a refusal does not fall through', () => {
    const { registry } = registryOf(
      [
        { issuer: 'https://id.example/{tenant}', audience: AUD, tenants: ['a'] },
        { issuer: 'https://id.example/{tenant}/', audience: AUD, tenants: ['b'] },
      ],
      { ms: 0 },
    );
    expect((registry.select('https://id.example/a') as ResolvedIssuerOptions).tenant).toBe('a');
    expect((registry.select('https://id.example/b/') as ResolvedIssuerOptions).tenant).toBe('b');
  });

  it('asks the resolver once per tenant within tenantTtlSec, shares concurrent calls, re-asks after', async () => {
    const clock = { ms: 0 };
    const asked: string[] = [];
    const { registry, created } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          tenantTtlSec: 60,
          resolveTenant: async (tenant: string, { issuer }: { issuer: string }) => {
            asked.push(`${tenant} ${issuer}`);
            return tenant.startsWith('ok');
          },
        },
      ],
      clock,
    );
    const [first, second] = await Promise.all([
      registry.select('https://id.example/ok1'),
      registry.select('https://id.example/ok1'),
    ]);
    expect(first).toBe(second);
    expect(asked).toEqual(['ok1 https://id.example/ok1']);
    expect(await registry.select('https://id.example/ok1')).toBe(first);
    expect(asked).toHaveLength(1);
    clock.ms = 61_000;
    // Still trusted after the ttl: the same context (and its cached keys) is kept.
    expect(await registry.select('https://id.example/ok1')).toBe(first);
    expect(asked).toHaveLength(2);
    expect(created).toEqual(['https://id.example/ok1']);
  });

  it('fails a request with 503 when the resolver does not answer within RESOLVER_TIMEOUT_MS', async () => {
    vi.useFakeTimers();
    try {
      const { registry } = registryOf(
        [
          {
            issuer: 'https://id.example/{tenant}',
            audience: AUD,
            resolveTenant: () => new Promise<boolean>(() => {}),
          },
        ],
        { ms: 0 },
      );
      const pending = rejectionOf(Promise.resolve().then(() => registry.select('https://id.example/slow')));
      await vi.advanceTimersByTimeAsync(RESOLVER_TIMEOUT_MS);
      expect(await pending).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('remembers a refusal for tenantTtlSec, then asks again', async () => {
    const clock = { ms: 0 };
    let calls = 0;
    const { registry } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          tenantTtlSec: 10,
          resolveTenant: () => {
            calls++;
            return false;
          },
        },
      ],
      clock,
    );
    expect(
      (await rejectionOf(Promise.resolve().then(() => registry.select('https://id.example/x')))).code,
    ).toBe('ERR_ISSUER_MISMATCH');
    expect(thrownBy(() => registry.select('https://id.example/x')).code).toBe('ERR_ISSUER_MISMATCH');
    expect(calls).toBe(1);
    clock.ms = 10_001;
    await rejectionOf(Promise.resolve().then(() => registry.select('https://id.example/x')));
    expect(calls).toBe(2);
  });

  it('drops a tenant the resolver stops trusting', async () => {
    const clock = { ms: 0 };
    let trusted = true;
    const { registry } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          tenantTtlSec: 1,
          resolveTenant: () => trusted,
        },
      ],
      clock,
    );
    await registry.select('https://id.example/a');
    expect(registry.get('https://id.example/a')).toBeDefined();
    trusted = false;
    clock.ms = 1_001;
    expect((await rejectionOf(Promise.resolve(registry.select('https://id.example/a')))).code).toBe(
      'ERR_ISSUER_MISMATCH',
    );
    expect(registry.get('https://id.example/a')).toBeUndefined();
  });

  it('trusts only a resolver answer of exactly true', async () => {
    const { registry } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          resolveTenant: (() => 'yes') as unknown as TenantResolver,
        },
      ],
      { ms: 0 },
    );
    expect((await rejectionOf(Promise.resolve(registry.select('https://id.example/a')))).code).toBe(
      'ERR_ISSUER_MISMATCH',
    );
  });

  it('reports a failing resolver as 503, not 401, and does not remember the failure', async () => {
    let fail = true;
    const { registry } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          resolveTenant: async () => {
            if (fail) throw new Error('database down');
            return true;
          },
        },
      ],
      { ms: 0 },
    );
    const error = await rejectionOf(Promise.resolve(registry.select('https://id.example/a')));
    expect(error.code).toBe('ERR_KEYS_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.headers['retry-after']).toBe('5');
    fail = false;
    expect(await registry.select('https://id.example/a')).toMatchObject({ tenant: 'a' });
  });

  it('keeps at most maxTenants concrete issuers, evicting the least recently used', async () => {
    const { registry, created } = registryOf(
      [
        { issuer: 'https://exact.example', audience: AUD },
        { issuer: 'https://id.example/{tenant}', audience: AUD, maxTenants: 2, resolveTenant: () => true },
      ],
      { ms: 0 },
    );
    for (let index = 0; index < 50; index++) await registry.select(`https://id.example/t${index}`);
    expect(created).toHaveLength(51);
    expect(registry.values().map((config) => config.issuer)).toEqual([
      'https://exact.example',
      'https://id.example/t49',
      'https://id.example/t48',
    ]);
    expect(registry.get('https://id.example/t0')).toBeUndefined();
  });

  it('get returns a resolved tenant only while its answer is fresh', async () => {
    const clock = { ms: 0 };
    const { registry } = registryOf(
      [{ issuer: 'https://id.example/{tenant}', audience: AUD, tenantTtlSec: 10, resolveTenant: () => true }],
      clock,
    );
    await registry.select('https://id.example/a');
    expect(registry.get('https://id.example/a')).toMatchObject({ tenant: 'a' });
    clock.ms = 10_000;
    expect(registry.get('https://id.example/a')).toBeUndefined();
  });

  it('get never calls the resolver or creates a context', () => {
    let calls = 0;
    const { registry, created } = registryOf(
      [
        {
          issuer: 'https://id.example/{tenant}',
          audience: AUD,
          resolveTenant: () => {
            calls++;
            return true;
          },
        },
      ],
      { ms: 0 },
    );
    expect(registry.get('https://id.example/a')).toBeUndefined();
    expect(calls).toBe(0);
    expect(created).toEqual([]);
  });

  it('listed materialises the listed tenants for warming', () => {
    const { registry } = registryOf(
      [{ issuer: 'https://id.example/{tenant}', audience: AUD, tenants: ['a', 'b'] }],
      { ms: 0 },
    );
    expect(registry.listed().map((config) => config.tenant)).toEqual(['a', 'b']);
  });
});

describe('validator with several issuers', () => {
  let server: CountingIssuer;
  let keyA: SigningKey;
  let keyB: SigningKey;
  const validators: Validator[] = [];
  const track = (validator: Validator) => {
    validators.push(validator);
    return validator;
  };

  beforeAll(async () => {
    server = await startCountingIssuer();
    // Same kid on purpose: a kid colliding with another issuer's key must not let it verify (RFC 8725 §3.8).
    keyA = generateSigningKey('ES256', { kid: 'k1' });
    keyB = generateSigningKey('ES256', { kid: 'k1' });
    server.tenants.set('a', keyA);
    server.tenants.set('b', keyB);
    server.rootKey = generateSigningKey('ES256', { kid: 'k1' });
  });

  afterAll(async () => {
    await Promise.all(validators.map((validator) => validator.close()));
    await server.close();
  });

  const token = (key: SigningKey, iss: string, overrides: Record<string, unknown> = {}, header = {}) =>
    signToken(key, accessTokenClaims({ iss, aud: AUD, nowSec: NOW_SEC }, overrides), header);

  it('rejects an unknown issuer before any network request', async () => {
    const validator = track(
      createValidator({
        issuers: [{ issuer: 'https://trusted.example', audience: AUD, jwks: jwksOf(keyA) }],
        now,
      }),
    );
    server.paths.length = 0;
    // The token names a live issuer that would serve discovery and keys, if asked.
    const forged = await token(server.rootKey as SigningKey, server.base);
    const error = await rejectionOf(validator.validate(forged));
    expect(error.code).toBe('ERR_ISSUER_MISMATCH');
    expect(error.status).toBe(401);
    expect(server.paths).toEqual([]);
  });

  it('rejects unlisted and malformed tenants of a template before any network request or resolver call', async () => {
    let resolverCalls = 0;
    const validator = track(
      createValidator({
        issuers: [
          { issuer: `${server.base}/t/{tenant}`, audience: AUD, tenants: ['a'] },
          {
            issuer: `${server.base}/r/{tenant}`,
            audience: AUD,
            resolveTenant: () => {
              resolverCalls++;
              return false;
            },
          },
        ],
        now,
      }),
    );
    server.paths.length = 0;
    for (const iss of [
      `${server.base}/t/b`,
      `${server.base}/t/..`,
      `${server.base}/t/a%2F..%2Fb`,
      `${server.base}/t/`,
    ]) {
      expect((await rejectionOf(validator.validate(await token(keyB, iss)))).code).toBe(
        'ERR_ISSUER_MISMATCH',
      );
    }
    expect((await rejectionOf(validator.validate(await token(keyB, `${server.base}/r/a.b`)))).code).toBe(
      'ERR_ISSUER_MISMATCH',
    );
    expect(resolverCalls).toBe(0);
    expect((await rejectionOf(validator.validate(await token(keyB, `${server.base}/r/b`)))).code).toBe(
      'ERR_ISSUER_MISMATCH',
    );
    expect(resolverCalls).toBe(1);
    expect(server.paths).toEqual([]);
  });

  it('discovers and fetches keys per concrete issuer; the captured tenant becomes AuthInfo.tenant', async () => {
    const validator = track(
      createValidator({
        issuers: [{ issuer: `${server.base}/t/{tenant}`, audience: AUD, tenants: ['a', 'b'] }],
        now,
      }),
    );
    server.paths.length = 0;
    const auth = await validator.validate(await token(keyA, `${server.base}/t/a`, { scope: 'read' }), {
      tenant: 'a',
      scopes: ['read'],
    });
    expect(auth.tenant).toBe('a');
    expect(auth.issuer).toBe(`${server.base}/t/a`);
    expect(server.paths).toEqual(['/t/a/.well-known/openid-configuration', '/t/a/jwks']);
    const authB = await validator.validate(await token(keyB, `${server.base}/t/b`));
    expect(authB.tenant).toBe('b');
    expect(server.paths.slice(2)).toEqual(['/t/b/.well-known/openid-configuration', '/t/b/jwks']);
    expect(validator.state().issuers.map((entry) => entry.issuer)).toEqual([
      `${server.base}/t/b`,
      `${server.base}/t/a`,
    ]);
  });

  it('never verifies a token claiming tenant b with tenant a key, even with the same kid', async () => {
    const validator = track(
      createValidator({
        issuers: [{ issuer: `${server.base}/t/{tenant}`, audience: AUD, tenants: ['a', 'b'] }],
        now,
      }),
    );
    const crossed = await token(keyA, `${server.base}/t/b`);
    expect((await rejectionOf(validator.validate(crossed))).code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('never verifies across exact issuers with colliding kids', async () => {
    const validator = track(
      createValidator({
        issuers: [
          { issuer: 'https://a.example', audience: AUD, jwks: jwksOf(keyA) },
          { issuer: 'https://b.example', audience: AUD, jwks: jwksOf(keyB) },
        ],
        now,
      }),
    );
    expect((await validator.validate(await token(keyA, 'https://a.example'))).issuer).toBe(
      'https://a.example',
    );
    expect((await rejectionOf(validator.validate(await token(keyA, 'https://b.example')))).code).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('substitutes {tenant} in jwksUri and skips discovery', async () => {
    const validator = track(
      createValidator({
        issuers: [
          {
            issuer: `${server.base}/t/{tenant}`,
            jwksUri: `${server.base}/keys/{tenant}`,
            audience: AUD,
            tenants: ['a'],
          },
        ],
        now,
      }),
    );
    server.paths.length = 0;
    expect((await validator.validate(await token(keyA, `${server.base}/t/a`))).tenant).toBe('a');
    expect(server.paths).toEqual(['/keys/a']);
  });

  it('rejects a token whose tenant claim disagrees with the tenant in its iss', async () => {
    const validator = track(
      createValidator({
        issuers: [{ issuer: `${server.base}/t/{tenant}`, audience: AUD, tenants: ['a'], tenantClaim: 'tid' }],
        now,
      }),
    );
    expect((await validator.validate(await token(keyA, `${server.base}/t/a`, { tid: 'a' }))).tenant).toBe(
      'a',
    );
    const error = await rejectionOf(
      validator.validate(await token(keyA, `${server.base}/t/a`, { tid: 'b' })),
    );
    expect(error.code).toBe('ERR_CLAIM_INVALID');
    expect(error.claim).toBe('tid');
  });

  it('keeps the concrete issuers of a generous resolver bounded by maxTenants', async () => {
    const validator = track(
      createValidator({
        issuers: [
          {
            issuer: 'https://login.example/{tenant}',
            audience: AUD,
            jwks: jwksOf(keyA),
            maxTenants: 3,
            resolveTenant: () => true,
          },
        ],
        now,
      }),
    );
    for (let index = 0; index < 20; index++) {
      const auth = await validator.validate(await token(keyA, `https://login.example/t${index}`));
      expect(auth.tenant).toBe(`t${index}`);
    }
    expect(validator.state().issuers).toHaveLength(3);
  });

  it('applies each issuer its own audience, typ policy, algorithms and scope claims', async () => {
    const validator = track(
      createValidator({
        issuers: [
          { issuer: 'https://a.example', audience: AUD, jwks: jwksOf(keyA) },
          {
            issuer: 'https://b.example',
            audience: 'https://other.example',
            jwks: jwksOf(keyB),
            typ: ['JWT'],
            algorithms: ['ES256'],
            scopeClaims: ['permissions'],
          },
        ],
        now,
      }),
    );
    const claimsB = (overrides: Record<string, unknown>) =>
      accessTokenClaims(
        { iss: 'https://b.example', aud: 'https://other.example', nowSec: NOW_SEC },
        overrides,
      );
    const authB = await validator.validate(
      await signToken(keyB, claimsB({ permissions: ['read:orders'], scope: 'ignored' }), { typ: 'JWT' }),
      { scopes: ['read:orders'] },
    );
    expect([...authB.scopes]).toEqual(['read:orders']);
    // A's audience is not B's; B's typ JWT is not A's.
    expect((await rejectionOf(validator.validate(await token(keyB, 'https://b.example')))).code).toBe(
      'ERR_TYPE_MISMATCH',
    );
    expect(
      (await rejectionOf(validator.validate(await signToken(keyB, claimsB({ aud: AUD }), { typ: 'JWT' }))))
        .code,
    ).toBe('ERR_AUDIENCE_MISMATCH');
    expect(
      (await rejectionOf(validator.validate(await token(keyA, 'https://a.example', {}, { typ: 'JWT' }))))
        .code,
    ).toBe('ERR_TYPE_MISMATCH');
    const authA = await validator.validate(
      await token(keyA, 'https://a.example', { permissions: ['x'], scp: ['y'] }),
    );
    expect([...authA.scopes]).toEqual(['y']);
  });

  it('stops accepting even cached tokens of a tenant the resolver drops, once its answer is due again', async () => {
    let clockMs = NOW_SEC * 1000;
    let trusted = true;
    const validator = track(
      createValidator({
        issuers: [
          {
            issuer: 'https://login.example/{tenant}',
            audience: AUD,
            jwks: jwksOf(keyA),
            tenantTtlSec: 60,
            resolveTenant: () => trusted,
          },
        ],
        now: () => clockMs,
      }),
    );
    const cached = await token(keyA, 'https://login.example/acme');
    // Twice: the cache of verified tokens keeps a token from its second verification on.
    expect((await validator.validate(cached)).tenant).toBe('acme');
    expect((await validator.validate(cached)).tenant).toBe('acme');
    expect(validator.state().tokenCache.entries).toBe(1);
    trusted = false;
    clockMs += 30_000;
    // Within the resolver's ttl the earlier answer stands.
    expect((await validator.validate(cached)).tenant).toBe('acme');
    clockMs += 31_000;
    expect((await rejectionOf(validator.validate(cached))).code).toBe('ERR_ISSUER_MISMATCH');
  });

  it('finishes validations whose tenant is evicted while its discovery is in flight', async () => {
    let resolverCalls = 0;
    const validator = track(
      createValidator({
        issuers: [
          {
            issuer: `${server.base}/t/{tenant}`,
            audience: AUD,
            maxTenants: 1,
            resolveTenant: () => {
              resolverCalls++;
              return true;
            },
          },
        ],
        now,
      }),
    );
    server.paths.length = 0;
    const [tokenA, tokenB] = [
      await token(keyA, `${server.base}/t/a`),
      await token(keyB, `${server.base}/t/b`),
    ];
    // Both start before either key set is fetched: b's context evicts a's while a's requests are out.
    const answers = await Promise.allSettled([
      validator.validate(tokenA, { tenant: 'a' }),
      validator.validate(tokenB, { tenant: 'b' }),
      validator.validate(tokenA, { tenant: 'a' }),
    ]);
    expect(
      answers.map((answer) => (answer.status === 'fulfilled' ? answer.value.tenant : answer.reason)),
    ).toEqual(['a', 'b', 'a']);
    expect(resolverCalls).toBe(2);
    expect(validator.state().issuers).toHaveLength(1);
    // a comes back after its eviction: asked again, its keys fetched again, and b's token is not a's.
    expect((await validator.validate(tokenA, { tenant: 'a' })).tenant).toBe('a');
    expect((await rejectionOf(validator.validate(tokenB, { tenant: 'a' }))).code).toBe('ERR_TENANT_MISMATCH');
    expect(server.paths.filter((path) => path.endsWith('/jwks')).sort()).toEqual([
      '/t/a/jwks',
      '/t/a/jwks',
      '/t/b/jwks',
      '/t/b/jwks',
    ]);
  });

  it('reports a malformed route requirement as a TypeError, not as a token error', async () => {
    const validator = track(
      createValidator({ issuers: [{ issuer: 'https://a.example', audience: AUD, jwks: jwksOf(keyA) }], now }),
    );
    await expect(
      validator.validate(await token(keyA, 'https://a.example'), { scopes: { allOf: [] } }),
    ).rejects.toThrow(TypeError);
  });
});
