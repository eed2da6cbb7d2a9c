import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { probeContextRetention } from './__fixtures__/context-retention.js';
import {
  createMetadataLoader,
  discoveryUrls,
  fetchIssuerMetadata,
  type IssuerMetadata,
} from './discovery.js';
import { TokenGuardError } from './errors.js';
import { createHttpClient, type HttpClient, HttpFailure } from './lib/http.js';
import { createValidator } from './validator.js';

const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const limits = { maxResponseBytes: 64 * 1024, maxJsonDepth: 8 };

/** Documents served by path (a number: that status, no body); anything else is a 404. */
let documents: Record<string, unknown> = {};
let requests: string[] = [];
let server: Server;
let base: string;
let http: HttpClient;
let key: SigningKey;

beforeAll(async () => {
  key = generateSigningKey('ES256');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const document = documents[req.url ?? ''];
    if (document === undefined) res.writeHead(404).end();
    else if (typeof document === 'number') res.writeHead(document).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = createHttpClient({
    fetch: undefined,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
    timeoutMs: 2000,
  });
});

afterAll(async () => {
  await http.close();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  documents = {};
  requests = [];
});

describe('discoveryUrls', () => {
  it('builds both URLs for an issuer without a path', () => {
    expect(discoveryUrls('https://id.example')).toEqual([
      'https://id.example/.well-known/openid-configuration',
      'https://id.example/.well-known/oauth-authorization-server',
    ]);
    expect(discoveryUrls('https://id.example/')).toEqual([
      'https://id.example/.well-known/openid-configuration',
      'https://id.example/.well-known/oauth-authorization-server',
    ]);
  });

  it('appends (OIDC) and inserts between host and path (RFC 8414) for an issuer with a path', () => {
    expect(discoveryUrls('https://id.example/tenants/a')).toEqual([
      'https://id.example/tenants/a/.well-known/openid-configuration',
      'https://id.example/.well-known/oauth-authorization-server/tenants/a',
    ]);
    expect(discoveryUrls('https://id.example:8443/realm/')).toEqual([
      'https://id.example:8443/realm/.well-known/openid-configuration',
      'https://id.example:8443/.well-known/oauth-authorization-server/realm',
    ]);
  });
});

describe('fetchIssuerMetadata', () => {
  it('uses the OpenID Connect document', async () => {
    documents['/.well-known/openid-configuration'] = { issuer: base, jwks_uri: `${base}/jwks` };
    const metadata = await fetchIssuerMetadata(base, http, limits);
    expect(metadata.jwks_uri).toBe(`${base}/jwks`);
    expect(requests).toEqual(['/.well-known/openid-configuration']);
  });

  it('falls back to RFC 8414 with the path after the well-known segment', async () => {
    const issuer = `${base}/tenant-a`;
    documents['/.well-known/oauth-authorization-server/tenant-a'] = { issuer, jwks_uri: `${base}/a/jwks` };
    const metadata = await fetchIssuerMetadata(issuer, http, limits);
    expect(metadata.jwks_uri).toBe(`${base}/a/jwks`);
    expect(requests).toEqual([
      '/tenant-a/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server/tenant-a',
    ]);
  });

  it('falls back to RFC 8414 when the OIDC location is refused (403, how S3 answers a missing file) or gone (410)', async () => {
    const issuer = `${base}/static`;
    documents['/.well-known/oauth-authorization-server/static'] = { issuer, jwks_uri: `${base}/s/jwks` };
    for (const status of [403, 410]) {
      documents['/static/.well-known/openid-configuration'] = status;
      requests = [];
      expect((await fetchIssuerMetadata(issuer, http, limits)).jwks_uri).toBe(`${base}/s/jwks`);
      expect(requests).toEqual([
        '/static/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server/static',
      ]);
    }
  });

  it('does not ask the RFC 8414 location when the OIDC one fails otherwise (500, 401)', async () => {
    documents['/.well-known/oauth-authorization-server'] = { issuer: base, jwks_uri: `${base}/jwks` };
    for (const status of [500, 401]) {
      documents['/.well-known/openid-configuration'] = status;
      requests = [];
      const error = await fetchIssuerMetadata(base, http, limits).catch((e: unknown) => e);
      expect((error as HttpFailure).status).toBe(status);
      expect(requests).toEqual(['/.well-known/openid-configuration']);
    }
  });

  it('does not use a document that names another issuer', async () => {
    documents['/.well-known/openid-configuration'] = {
      issuer: 'https://evil.example',
      jwks_uri: `${base}/jwks`,
    };
    await expect(fetchIssuerMetadata(base, http, limits)).rejects.toThrow(/names issuer/);
  });

  it('compares the issuer exactly (a trailing slash differs)', async () => {
    documents['/.well-known/openid-configuration'] = { issuer: `${base}/`, jwks_uri: `${base}/jwks` };
    await expect(fetchIssuerMetadata(base, http, limits)).rejects.toBeInstanceOf(HttpFailure);
  });

  it('refuses a document that is not metadata, or whose jwks_uri is not http(s)', async () => {
    documents['/.well-known/openid-configuration'] = { jwks_uri: `${base}/jwks` };
    await expect(fetchIssuerMetadata(base, http, limits)).rejects.toThrow(/not valid issuer metadata/);
    documents['/.well-known/openid-configuration'] = { issuer: base, jwks_uri: 'file:///etc/passwd' };
    await expect(fetchIssuerMetadata(base, http, limits)).rejects.toThrow(/not valid issuer metadata/);
  });

  it('fails when neither document exists', async () => {
    const error = await fetchIssuerMetadata(base, http, limits).catch((e: unknown) => e);
    expect((error as HttpFailure).status).toBe(404);
    expect(requests).toHaveLength(2);
  });
});

describe('createMetadataLoader', () => {
  it('does not keep the async context of the request that asked first', async () => {
    expect(await probeContextRetention('metadata')).toEqual({ loads: 1, retained: false });
  });

  it('loads once and shares one request in flight', async () => {
    let loads = 0;
    const load = createMetadataLoader(async () => {
      loads++;
      return { issuer: 'x' };
    });
    const [a, b] = await Promise.all([load(), load()]);
    await load();
    expect(a).toBe(b);
    expect(loads).toBe(1);
  });

  it('does not cache a failure', async () => {
    let loads = 0;
    const load = createMetadataLoader(async (): Promise<IssuerMetadata> => {
      loads++;
      if (loads === 1) throw new Error('down');
      return { issuer: 'x' };
    });
    await expect(load()).rejects.toThrow('down');
    await expect(load()).resolves.toEqual({ issuer: 'x' });
    expect(loads).toBe(2);
  });
});

describe('validator with discovery', () => {
  const now = () => NOW_SEC * 1000;

  it('finds the key set through the discovery document and validates', async () => {
    documents['/.well-known/openid-configuration'] = { issuer: base, jwks_uri: `${base}/jwks` };
    documents['/jwks'] = jwksOf(key);
    const validator = createValidator({ issuer: base, audience: AUD, now });
    try {
      const token = await signToken(key, accessTokenClaims({ iss: base, aud: AUD, nowSec: NOW_SEC }));
      expect((await validator.validate(token)).issuer).toBe(base);
      expect(requests).toEqual(['/.well-known/openid-configuration', '/jwks']);
    } finally {
      await validator.close();
    }
  });

  it('discovers through RFC 8414 for an issuer with a path', async () => {
    const issuer = `${base}/tenant-b`;
    documents['/.well-known/oauth-authorization-server/tenant-b'] = { issuer, jwks_uri: `${base}/b/jwks` };
    documents['/b/jwks'] = jwksOf(key);
    const validator = createValidator({ issuer, audience: AUD, now });
    try {
      const token = await signToken(key, accessTokenClaims({ iss: issuer, aud: AUD, nowSec: NOW_SEC }));
      expect((await validator.validate(token)).issuer).toBe(issuer);
    } finally {
      await validator.close();
    }
  });

  it('fails with ERR_KEYS_UNAVAILABLE (503) when the document names another issuer', async () => {
    documents['/.well-known/openid-configuration'] = {
      issuer: 'https://evil.example',
      jwks_uri: `${base}/jwks`,
    };
    documents['/jwks'] = jwksOf(key);
    const validator = createValidator({ issuer: base, audience: AUD, now });
    try {
      const token = await signToken(key, accessTokenClaims({ iss: base, aud: AUD, nowSec: NOW_SEC }));
      const error = await validator.validate(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenGuardError);
      expect((error as TokenGuardError).code).toBe('ERR_KEYS_UNAVAILABLE');
      expect((error as TokenGuardError).status).toBe(503);
      expect(requests).not.toContain('/jwks');
    } finally {
      await validator.close();
    }
  });

  it('fails with ERR_KEYS_UNAVAILABLE when the document has no jwks_uri', async () => {
    documents['/.well-known/openid-configuration'] = { issuer: base };
    const validator = createValidator({ issuer: base, audience: AUD, now });
    try {
      const token = await signToken(key, accessTokenClaims({ iss: base, aud: AUD, nowSec: NOW_SEC }));
      const error = await validator.validate(token).catch((e: unknown) => e);
      expect((error as TokenGuardError).code).toBe('ERR_KEYS_UNAVAILABLE');
    } finally {
      await validator.close();
    }
  });
});

describe('validator with a misbehaving discovery endpoint', () => {
  const faults = {
    hang: () => {},
    html: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>'),
    redirect: (res) => res.writeHead(302, { location: 'http://other.example/' }).end(),
    huge: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(200_000)}"`),
  } satisfies Record<string, (res: import('node:http').ServerResponse) => void>;

  it.each(Object.keys(faults) as (keyof typeof faults)[])(
    'answers 100 concurrent validations with one request and 503 + Retry-After, then fails fast (%s)',
    async (fault) => {
      let hits = 0;
      const misbehaving = createServer((_req, res) => {
        hits++;
        faults[fault](res);
      });
      await new Promise<void>((resolve) => misbehaving.listen(0, '127.0.0.1', resolve));
      const issuer = `http://127.0.0.1:${(misbehaving.address() as AddressInfo).port}`;
      const validator = createValidator({ issuer, audience: AUD, now, http: { timeoutMs: 300 } });
      try {
        const token = await signToken(key, accessTokenClaims({ iss: issuer, aud: AUD, nowSec: NOW_SEC }));
        const errors = await Promise.all(
          Array.from({ length: 100 }, () => validator.validate(token).catch((e: unknown) => e)),
        );
        for (const error of errors) {
          expect(error).toBeInstanceOf(TokenGuardError);
          expect((error as TokenGuardError).code).toBe('ERR_KEYS_UNAVAILABLE');
          expect((error as TokenGuardError).headers).toEqual({ 'retry-after': '1' });
        }
        expect(hits).toBe(1);
        await expect(validator.validate(token)).rejects.toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE' });
        expect(hits).toBe(1);
      } finally {
        await validator.close();
        misbehaving.closeAllConnections();
        await new Promise((resolve) => misbehaving.close(resolve));
      }
    },
  );

  function now(): number {
    return NOW_SEC * 1000;
  }
});
