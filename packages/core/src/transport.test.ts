import { describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { resolveAdapterOptions } from './adapter-options.js';
import { TokenGuardError } from './errors.js';
import {
  authenticateRequest,
  authenticateRequestNow,
  extractAccessToken,
  isFormTokenRequest,
  routeGuardRequirements,
  type TokenSource,
} from './transport.js';
import { createValidator } from './validator.js';

const TOKEN = 'abc.def-ghi_jkl';
const FORM = 'application/x-www-form-urlencoded';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof TokenGuardError ? error.code : `not a TokenGuardError: ${String(error)}`;
  }
  return undefined;
}

function post(headers: Record<string, string>, body: unknown, extra: Partial<TokenSource> = {}): TokenSource {
  return { method: 'POST', headers: { 'content-type': FORM, ...headers }, body, ...extra };
}

describe('extractAccessToken', () => {
  it('accepts a Bearer header, the scheme case-insensitive', () => {
    expect(extractAccessToken({ method: 'GET', headers: { authorization: `bEaReR ${TOKEN}` } })).toEqual({
      token: TOKEN,
      transport: 'header',
    });
  });

  it('accepts a fetch Headers object', () => {
    const headers = new Headers({ authorization: `Bearer ${TOKEN}` });
    expect(extractAccessToken({ method: 'GET', headers }).token).toBe(TOKEN);
  });

  it('rejects a request without any token as ERR_TOKEN_MISSING', () => {
    expect(codeOf(() => extractAccessToken({ method: 'GET', headers: {} }))).toBe('ERR_TOKEN_MISSING');
    expect(
      codeOf(() => extractAccessToken({ method: 'GET', headers: { authorization: 'Basic eHk6eg==' } })),
    ).toBe('ERR_TOKEN_MISSING');
  });

  it('rejects a malformed Bearer header as ERR_INVALID_REQUEST', () => {
    for (const value of ['Bearer', 'Bearer a b', 'Bearer a,b', 'Bearer "x"']) {
      expect(codeOf(() => extractAccessToken({ method: 'GET', headers: { authorization: value } }))).toBe(
        'ERR_INVALID_REQUEST',
      );
    }
  });

  it('rejects two Authorization headers seen in rawHeaders', () => {
    const source: TokenSource = {
      method: 'GET',
      headers: { authorization: `Bearer ${TOKEN}` },
      rawHeaders: ['Host', 'x', 'Authorization', `Bearer ${TOKEN}`, 'authorization', `Bearer ${TOKEN}`],
    };
    expect(codeOf(() => extractAccessToken(source))).toBe('ERR_INVALID_REQUEST');
  });

  it('ignores the form body unless body transport is enabled', () => {
    expect(codeOf(() => extractAccessToken(post({}, { access_token: TOKEN })))).toBe('ERR_TOKEN_MISSING');
  });

  it('accepts access_token in a urlencoded POST, PUT or PATCH body when enabled', () => {
    for (const method of ['POST', 'put', 'PATCH']) {
      const source = post({}, new URLSearchParams({ access_token: TOKEN }), { method });
      expect(extractAccessToken(source, { body: true })).toEqual({ token: TOKEN, transport: 'body' });
    }
    expect(
      extractAccessToken(post({ 'content-type': `${FORM}; charset=utf-8` }, { access_token: TOKEN }), {
        body: true,
      }).token,
    ).toBe(TOKEN);
  });

  it('reads the content type of a plain header record case-insensitively, as it does Authorization', () => {
    const source: TokenSource = {
      method: 'POST',
      headers: { 'Content-Type': FORM },
      body: { access_token: TOKEN },
    };
    expect(extractAccessToken(source, { body: true })).toEqual({ token: TOKEN, transport: 'body' });
  });

  it('never reads the body of a GET or of another content type', () => {
    const get: TokenSource = {
      method: 'GET',
      headers: { 'content-type': FORM },
      body: { access_token: TOKEN },
    };
    expect(codeOf(() => extractAccessToken(get, { body: true }))).toBe('ERR_TOKEN_MISSING');
    const json = post({ 'content-type': 'application/json' }, { access_token: TOKEN });
    expect(codeOf(() => extractAccessToken(json, { body: true }))).toBe('ERR_TOKEN_MISSING');
    const noMethod: TokenSource = { headers: { 'content-type': FORM }, body: { access_token: TOKEN } };
    expect(codeOf(() => extractAccessToken(noMethod, { body: true }))).toBe('ERR_TOKEN_MISSING');
  });

  it('counts Authorization in rawHeaders in any letter case, and reads a header-only source', () => {
    const rawHeaders = ['AUTHORIZATION', `Bearer ${TOKEN}`, 'Authorization', `Bearer ${TOKEN}`];
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect(codeOf(() => extractAccessToken({ headers, rawHeaders }))).toBe('ERR_INVALID_REQUEST');
    expect(extractAccessToken({ headers, rawHeaders: rawHeaders.slice(2) }).token).toBe(TOKEN);
  });

  it('reads the header record, not rawHeaders, when a middleware replaced or added the header', () => {
    const other = `${TOKEN}x`;
    const rawHeaders = ['Host', 'x', 'Authorization', `Bearer ${TOKEN}`];
    expect(extractAccessToken({ headers: { authorization: `Bearer ${other}` }, rawHeaders }).token).toBe(
      other,
    );
    expect(
      extractAccessToken({ headers: { authorization: `Bearer ${other}` }, rawHeaders: ['Host', 'x'] }).token,
    ).toBe(other);
    // Removed from the record: no token, whatever rawHeaders saw.
    expect(codeOf(() => extractAccessToken({ headers: {}, rawHeaders }))).toBe('ERR_TOKEN_MISSING');
    // A record holding the header under two spellings is two headers, even if rawHeaders shows one.
    const twice = { Authorization: `Bearer ${TOKEN}`, authorization: `Bearer ${TOKEN}` };
    expect(codeOf(() => extractAccessToken({ headers: twice, rawHeaders: rawHeaders.slice(0, 2) }))).toBe(
      'ERR_INVALID_REQUEST',
    );
    // fetch Headers with Node's raw list.
    const fetchHeaders = new Headers({ authorization: `Bearer ${TOKEN}` });
    expect(extractAccessToken({ headers: fetchHeaders, rawHeaders }).token).toBe(TOKEN);
  });

  it('parses the scheme the same in every spelling and spacing', () => {
    for (const value of [
      `Bearer ${TOKEN}`,
      `bearer ${TOKEN}`,
      `BEARER ${TOKEN}`,
      `Bearer   ${TOKEN}`,
      `  Bearer ${TOKEN}  `,
    ]) {
      expect(extractAccessToken({ headers: { authorization: value } }).token).toBe(TOKEN);
    }
    for (const value of ['Bearer ', 'Bearer', 'Bearerx y', `Bearer\t${TOKEN}`]) {
      expect(codeOf(() => extractAccessToken({ headers: { authorization: value } }))).toMatch(
        /ERR_(INVALID_REQUEST|TOKEN_MISSING)/,
      );
    }
    expect(codeOf(() => extractAccessToken({ headers: { authorization: 'Bearerx y' } }))).toBe(
      'ERR_TOKEN_MISSING',
    );
    expect(codeOf(() => extractAccessToken({ headers: { authorization: 'Bearer ' } }))).toBe(
      'ERR_INVALID_REQUEST',
    );
  });

  it('rejects a repeated or malformed access_token parameter', () => {
    const twice = post({}, { access_token: [TOKEN, TOKEN] });
    expect(codeOf(() => extractAccessToken(twice, { body: true }))).toBe('ERR_INVALID_REQUEST');
    const bad = post({}, { access_token: 'a b' });
    expect(codeOf(() => extractAccessToken(bad, { body: true }))).toBe('ERR_INVALID_REQUEST');
    const query: TokenSource = { method: 'GET', headers: {}, url: `/x?access_token=${TOKEN}&access_token=y` };
    expect(codeOf(() => extractAccessToken(query, { query: true }))).toBe('ERR_INVALID_REQUEST');
  });

  it('reads the query string only when enabled', () => {
    const source: TokenSource = { method: 'GET', headers: {}, url: `/orders?access_token=${TOKEN}` };
    expect(codeOf(() => extractAccessToken(source))).toBe('ERR_TOKEN_MISSING');
    expect(extractAccessToken(source, { query: true })).toEqual({ token: TOKEN, transport: 'query' });
    const absolute = { ...source, url: `http://127.0.0.1/orders?access_token=${TOKEN}` };
    expect(extractAccessToken(absolute, { query: true }).token).toBe(TOKEN);
  });

  it('rejects a token sent more than one way', () => {
    const both = post({ authorization: `Bearer ${TOKEN}` }, { access_token: TOKEN });
    expect(codeOf(() => extractAccessToken(both, { body: true }))).toBe('ERR_INVALID_REQUEST');
    const headerAndQuery: TokenSource = {
      method: 'GET',
      headers: { authorization: `Bearer ${TOKEN}` },
      url: `/x?access_token=${TOKEN}`,
    };
    expect(codeOf(() => extractAccessToken(headerAndQuery, { query: true }))).toBe('ERR_INVALID_REQUEST');
  });
});

describe('isFormTokenRequest', () => {
  it('accepts only body methods with the urlencoded content type', () => {
    expect(isFormTokenRequest('POST', FORM)).toBe(true);
    expect(isFormTokenRequest('POST', 'Application/X-WWW-Form-Urlencoded;charset=UTF-8')).toBe(true);
    expect(isFormTokenRequest('GET', FORM)).toBe(false);
    expect(isFormTokenRequest('DELETE', FORM)).toBe(false);
    expect(isFormTokenRequest('POST', 'multipart/form-data; boundary=x')).toBe(false);
    expect(isFormTokenRequest('POST', undefined)).toBe(false);
  });
});

describe('authenticateRequest', () => {
  const validator = createValidator({
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    secret: 's'.repeat(32),
    realm: 'orders',
  });

  it('passes an anonymous request when optional, with no auth', async () => {
    await expect(
      authenticateRequest(validator, { method: 'GET', headers: {} }, { optional: true }),
    ).resolves.toEqual({ auth: undefined, transport: undefined });
  });

  it('passes another scheme as anonymous when optional, however long its value (a Kerberos ticket)', async () => {
    for (const authorization of [`Negotiate ${'Y'.repeat(12_000)}`, 'Basic dXNlcjpwYXNz']) {
      await expect(
        authenticateRequest(validator, { method: 'GET', headers: { authorization } }, { optional: true }),
      ).resolves.toEqual({ auth: undefined, transport: undefined });
    }
    // A Bearer value that long is refused, optional or not.
    const error = await authenticateRequest(
      validator,
      { method: 'GET', headers: { authorization: `Bearer ${'Y'.repeat(12_000)}` } },
      { optional: true },
    ).catch((e: unknown) => e);
    expect((error as TokenGuardError).code).toBe('ERR_TOKEN_TOO_LARGE');
  });

  it('rejects a token that is sent but invalid, even when optional', async () => {
    const error = await authenticateRequest(
      validator,
      { method: 'GET', headers: { authorization: 'Bearer not-a-jwt' } },
      { optional: true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).status).toBe(401);
    expect((error as TokenGuardError).wwwAuthenticate).toMatch(
      /^Bearer realm="orders", error="invalid_token"/,
    );
  });

  it('rejects a missing token with a bare challenge carrying the realm', async () => {
    const error = (await authenticateRequest(validator, { method: 'GET', headers: {} }).catch(
      (e: unknown) => e,
    )) as TokenGuardError;
    expect(error.code).toBe('ERR_TOKEN_MISSING');
    expect(error.wwwAuthenticate).toBe('Bearer realm="orders"');
  });

  it('gives extraction errors the realm', async () => {
    const error = (await authenticateRequest(validator, {
      method: 'GET',
      headers: { authorization: 'Bearer a b' },
    }).catch((e: unknown) => e)) as TokenGuardError;
    expect(error.status).toBe(400);
    expect(error.wwwAuthenticate).toMatch(/^Bearer realm="orders", error="invalid_request"/);
  });
});

describe('authenticateRequestNow', () => {
  const NOW_SEC = 1_700_000_000;
  const key = secretSigningKey('k'.repeat(32));
  const options = {
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    secret: 'k'.repeat(32),
    realm: 'orders',
    now: () => NOW_SEC * 1000,
  };
  const sign = (scope = 'read') =>
    signToken(
      key,
      accessTokenClaims({ iss: options.issuer, aud: options.audience, nowSec: NOW_SEC }, { scope }),
    );
  const bearer = (value: string): TokenSource => ({ headers: { authorization: value } });
  /** Validates twice: the verified-token cache stores a token from its second verification on. */
  async function cached(validator: ReturnType<typeof createValidator>, token: string): Promise<void> {
    await validator.validate(token);
    await validator.validate(token);
  }

  it('answers a token verified before at once, with the same auth as the first time', async () => {
    const validator = createValidator(options);
    const token = await sign();
    const first = authenticateRequestNow(validator, bearer(`Bearer ${token}`));
    expect(first).toBeInstanceOf(Promise);
    const { auth } = await first;
    await cached(validator, token);
    const again = authenticateRequestNow(validator, bearer(`bearer   ${token}  `));
    expect(again).toEqual({ auth, transport: 'header' });
    await expect(authenticateRequest(validator, bearer(`Bearer ${token}`))).resolves.toEqual({
      auth,
      transport: 'header',
    });
  });

  it('validates a token the cache does not hold as validate() would, and caches it as validate() does', async () => {
    const validator = createValidator(options);
    const reference = createValidator(options);
    const token = await sign();
    const [header, payload] = token.split('.');
    const verdict = (result: Promise<unknown>) =>
      result.then(
        (value) =>
          (value as { auth?: { subject?: string } }).auth?.subject ?? (value as { subject?: string }).subject,
        (error: TokenGuardError) => `${error.code} ${error.realm}`,
      );
    for (const credentials of [
      token,
      `${header}.${payload}.AAAA`,
      `${header}.${payload}`,
      'bearer',
      'opaque-value',
    ]) {
      expect(
        await verdict(Promise.resolve(authenticateRequestNow(validator, bearer(`Bearer ${credentials}`)))),
      ).toBe(await verdict(reference.validate(`Bearer ${credentials}`)));
    }
    // Two verifications through the header (each a cache miss) store the token, as two validate() calls do.
    await authenticateRequest(validator, bearer(`Bearer ${token}`));
    expect(authenticateRequestNow(validator, bearer(`Bearer ${token}`))).not.toBeInstanceOf(Promise);
  });

  it('holds header credentials the cache misses to the b64token grammar first, as extraction does', async () => {
    const validator = createValidator(options);
    const reference = createValidator(options);
    const token = await sign();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const outcome = async (credentials: string) => {
      const error = (await Promise.resolve(
        authenticateRequestNow(validator, bearer(`Bearer ${credentials}`)),
      ).catch((e: unknown) => e)) as TokenGuardError;
      return `${error.code} ${error.status} ${error.realm}`;
    };
    // Outside the grammar: the 400 of extraction (extractAccessToken says the same), with the realm.
    for (const credentials of [
      `${token},x`,
      `"${token}"`,
      `${token}=a`,
      `${header}.${payload}.${signature}\u0141`,
      `${header}.${payload}.${signature.slice(0, -1)}Ł`,
      `${'x'.repeat(8300)},`,
    ]) {
      expect(codeOf(() => extractAccessToken(bearer(`Bearer ${credentials}`)))).toBe('ERR_INVALID_REQUEST');
      expect(await outcome(credentials)).toBe('ERR_INVALID_REQUEST 400 orders');
    }
    // Longer than any acceptable header (maxTokenLength + 256): too large before it is read, as in
    // validate(); extractAccessToken, given no validator, has no limit to apply.
    expect(await outcome(`${'x'.repeat(9000)},`)).toBe('ERR_TOKEN_TOO_LARGE 401 orders');
    expect(codeOf(() => extractAccessToken(bearer(`Bearer ${'x'.repeat(9000)},`)))).toBe(
      'ERR_INVALID_REQUEST',
    );
    // Within the grammar but not a canonical compact JWS: what validate() says of it.
    for (const credentials of [
      `${token}=`,
      `${header}.${payload}.${signature.slice(0, -2)}+/`,
      'x'.repeat(9000),
    ]) {
      const expected = (await reference.validate(credentials).catch((e: unknown) => e)) as TokenGuardError;
      expect(await outcome(credentials)).toBe(`${expected.code} ${expected.status} orders`);
    }
  });

  it('validates the credentials `bearer` as a token however the request is authenticated', async () => {
    const outcome = async (result: unknown) => {
      const error = (await Promise.resolve(result).catch((e: unknown) => e)) as TokenGuardError;
      return `${error.code} ${error.status} ${error.realm}`;
    };
    const reference = await outcome(createValidator(options).validate('Bearer bearer'));
    expect(reference).toBe('ERR_TOKEN_NOT_JWT 401 orders');
    // The cache asked and missed: the token `bearer` (33ce165).
    expect(await outcome(authenticateRequestNow(createValidator(options), bearer('Bearer bearer')))).toBe(
      reference,
    );
    // The cache not asked (no cache, a form body or query string allowed, route requirements): the
    // same, never validate('bearer'), which would read the credentials as a header (a 400).
    for (const [validatorOptions, authenticateOptions] of [
      [{ ...options, tokenCache: false }, {}],
      [options, { transport: { body: true } }],
      [options, { transport: { query: true } }],
      [options, { requirements: { scopes: ['read'] } }],
    ] as const) {
      const validator = createValidator(validatorOptions);
      const result = authenticateRequestNow(validator, bearer('Bearer bearer'), authenticateOptions);
      expect(await outcome(result)).toBe(reference);
    }
  });

  it('answers an anonymous request on an optional route at once', () => {
    const validator = createValidator(options);
    expect(authenticateRequestNow(validator, { headers: {} }, { optional: true })).toEqual({
      auth: undefined,
      transport: undefined,
    });
  });

  it('keeps every header error of a cached token: syntax, scheme, duplicates', async () => {
    const validator = createValidator(options);
    const token = await sign();
    await cached(validator, token);
    const codeOfRejection = async (source: TokenSource): Promise<unknown> => {
      const result = authenticateRequestNow(validator, source);
      expect(result).toBeInstanceOf(Promise);
      return ((await (result as Promise<unknown>).catch((e: unknown) => e)) as TokenGuardError).code;
    };
    for (const value of [
      `Bearer ${token},x`,
      `Bearer ${token} x`,
      `Bearer "${token}"`,
      `Bearer ${token}=a`,
    ]) {
      expect(await codeOfRejection(bearer(value))).toBe('ERR_INVALID_REQUEST');
    }
    expect(await codeOfRejection(bearer(`Basic ${token}`))).toBe('ERR_TOKEN_MISSING');
    expect(
      await codeOfRejection({
        headers: { authorization: `Bearer ${token}` },
        rawHeaders: ['authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`],
      }),
    ).toBe('ERR_INVALID_REQUEST');
  });

  it('still refuses a cached token sent in the header and the query at once', async () => {
    const validator = createValidator(options);
    const token = await sign();
    await cached(validator, token);
    const result = authenticateRequestNow(
      validator,
      { headers: { authorization: `Bearer ${token}` }, url: `/x?access_token=${token}` },
      { transport: { query: true } },
    );
    const error = (await (result as Promise<unknown>).catch((e: unknown) => e)) as TokenGuardError;
    expect(error.code).toBe('ERR_INVALID_REQUEST');
    expect(error.realm).toBe('orders');
  });

  it('applies route requirements to a cached token through the validator', async () => {
    const validator = createValidator(options);
    const token = await sign('read');
    await cached(validator, token);
    const result = authenticateRequestNow(validator, bearer(`Bearer ${token}`), {
      requirements: { scopes: ['write'] },
    });
    const error = (await (result as Promise<unknown>).catch((e: unknown) => e)) as TokenGuardError;
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE');
  });

  it('goes through a validate replaced on the validator (a wrapper, a spy), even for a cached token', async () => {
    const validator = createValidator(options);
    const token = await sign();
    await cached(validator, token);
    // A denylist check wrapped around the validator's own validate, in place.
    const verify = validator.validate;
    validator.validate = async (value, requirements) => {
      await verify(value, requirements);
      throw new TokenGuardError('ERR_TOKEN_INACTIVE', { message: 'revoked' });
    };
    for (const result of [
      authenticateRequestNow(validator, bearer(`Bearer ${token}`)),
      authenticateRequest(validator, bearer(`Bearer ${token}`)),
    ]) {
      expect(result).toBeInstanceOf(Promise);
      const error = (await (result as Promise<unknown>).catch((e: unknown) => e)) as TokenGuardError;
      expect(error.code).toBe('ERR_TOKEN_INACTIVE');
    }
  });

  it('re-verifies a cached token once it expired', async () => {
    let nowMs = NOW_SEC * 1000;
    const validator = createValidator({ ...options, now: () => nowMs });
    const token = await sign();
    await cached(validator, token);
    nowMs += 3_600_000;
    const result = authenticateRequestNow(validator, bearer(`Bearer ${token}`));
    const error = (await (result as Promise<unknown>).catch((e: unknown) => e)) as TokenGuardError;
    expect(error.code).toBe('ERR_TOKEN_EXPIRED');
  });
});

describe('routeGuardRequirements', () => {
  it('builds the requirements of each guard from its arguments', () => {
    expect(routeGuardRequirements('requireScopes', ['a', 'b'])(undefined)).toEqual({ scopes: ['a', 'b'] });
    expect(routeGuardRequirements('requireAnyScope', ['a', 'b'])(undefined)).toEqual({
      scopes: { anyOf: ['a', 'b'] },
    });
    const claim = { claim: 'roles', includes: 'admin' };
    expect(routeGuardRequirements('requireClaims', [claim])(undefined)).toEqual({ claims: [claim] });
    expect(routeGuardRequirements('requireTenant', [['acme', 'beta']])(undefined)).toEqual({
      tenant: ['acme', 'beta'],
    });
  });

  it('reads the tenant from the request, keeping the key when the selector finds none (fails closed)', () => {
    const requirements = routeGuardRequirements<{ tenant?: string }>('requireTenant', [
      (request: { tenant?: string }) => request.tenant,
    ]);
    expect(requirements({ tenant: 'acme' })).toEqual({ tenant: 'acme' });
    const none = requirements({});
    expect(Object.hasOwn(none, 'tenant')).toBe(true);
    expect(none.tenant).toBeUndefined();
  });

  it('rejects bad arguments when the route is declared, naming the guard', () => {
    expect(() => routeGuardRequirements('requireScopes', [])).toThrow(/requireScopes\(\) needs at least one/);
    expect(() => routeGuardRequirements('requireAnyScope', ['a b'])).toThrow(/requireAnyScope\(\)/);
    expect(() => routeGuardRequirements('requireClaims', [{ claim: 'x' }])).toThrow(/requireClaims\(\)/);
    expect(() => routeGuardRequirements('requireTenant', [42], 'context')).toThrow(
      /requireTenant\(\) .* function of the context/,
    );
    expect(() => routeGuardRequirements('requireTenant', [[1, 2]])).toThrow(/"tenant"/);
    expect(() => routeGuardRequirements('requireClaims', [{ claim: 'x', equals: {} }])).toThrow(/equals/);
  });

  it('copies each claim requirement when the route is declared: changing the object later changes nothing', () => {
    const claim: { claim: string; includes: string } = { claim: 'roles', includes: 'admin' };
    const requirements = routeGuardRequirements('requireClaims', [claim]);
    claim.includes = 'anyone';
    expect(requirements(undefined)).toEqual({ claims: [{ claim: 'roles', includes: 'admin' }] });
  });

  it('rejects a fixed tenant that names none (a 403 for every request), and copies a fixed list', () => {
    for (const tenant of ['', [], ['acme', '']]) {
      expect(() => routeGuardRequirements('requireTenant', [tenant])).toThrow(
        /requireTenant\(\) needs a non-empty tenant/,
      );
    }
    const tenants = ['acme'];
    const requirements = routeGuardRequirements('requireTenant', [tenants]);
    tenants.push('evil');
    expect(requirements(undefined)).toEqual({ tenant: ['acme'] });
  });
});

describe('resolveAdapterOptions', () => {
  const validator = createValidator({ issuer: 'https://id.example', audience: 'a', jwks: { keys: [] } });

  it('rejects an unknown key beside a validator, naming it (a typo must not pass unnoticed)', () => {
    expect(() => resolveAdapterOptions(validator, { optinal: true } as never)).toThrow(
      /invalid option "optinal": not an adapter option/,
    );
    expect(() => resolveAdapterOptions(validator, { validator } as never)).toThrow(/"validator"/);
    // The same typo in the one-object form: named, and not sent to the validator as if it were its option.
    expect(() => resolveAdapterOptions({ validator, optinal: true } as never)).toThrow(
      /invalid option "optinal": beside "validator" only adapter options apply \(optional, transport, onError, clientCertificate\)/,
    );
    expect(() => resolveAdapterOptions(validator, null as never)).toThrow(TypeError);
    expect(() => resolveAdapterOptions(validator, [] as never)).toThrow(TypeError);
    expect(resolveAdapterOptions(validator, { optional: true, onError: 'next' })).toMatchObject({
      optional: true,
      onError: 'next',
      ownsValidator: false,
    });
  });

  it('rejects a transport that is a list, not an object', () => {
    expect(() => resolveAdapterOptions(validator, { transport: ['query'] as never })).toThrow(
      /"transport": must be an object/,
    );
  });

  it('copies the transport settings: changing them later changes nothing', () => {
    const transport = { query: false };
    const resolved = resolveAdapterOptions(validator, { transport });
    transport.query = true;
    expect(resolved.transport).toEqual({ body: false, query: false });
  });
});
