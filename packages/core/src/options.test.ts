import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALGORITHMS } from './lib/algorithms.js';
import { normaliseTyp, resolveOptions, type ValidatorOptions } from './options.js';
import { DEFAULT_SCOPE_CLAIMS } from './scopes.js';

const ISSUER = 'https://id.example';
const AUDIENCE = 'https://api.example';
const SECRET = 's'.repeat(32);
const base = { issuer: ISSUER, audience: AUDIENCE };

/** Resolves `options` and returns the TypeError message it throws. */
function rejection(options: unknown): string {
  try {
    resolveOptions(options as ValidatorOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error('resolveOptions accepted the options');
}

describe('resolveOptions', () => {
  it('rejects options that are not an object', () => {
    expect(rejection(null)).toMatch(/options must be an object/);
    expect(rejection('https://id.example')).toMatch(/options must be an object/);
  });

  it('takes verifyOffThread as a boolean, false by default, and names it when it is not one', () => {
    const keys = { jwks: { keys: [] } };
    expect(resolveOptions({ ...base, ...keys }).verifyOffThread).toBe(false);
    expect(resolveOptions({ ...base, ...keys, verifyOffThread: true }).verifyOffThread).toBe(true);
    expect(rejection({ ...base, ...keys, verifyOffThread: 'yes' })).toMatch(/"verifyOffThread"/);
  });

  it('rejects a missing issuer, naming it', () => {
    expect(rejection({ audience: AUDIENCE })).toMatch(/"issuer": is required/);
  });

  it('rejects an issuer that is not a URL when its keys must be discovered', () => {
    expect(rejection({ issuer: 'my-issuer', audience: AUDIENCE })).toMatch(
      /"issuer": must be an http\(s\) URL/,
    );
    expect(rejection({ issuer: 'ftp://id.example', audience: AUDIENCE })).toMatch(/"issuer"/);
  });

  it('accepts any issuer string when the keys are configured', () => {
    expect(
      resolveOptions({ issuer: 'my-issuer', audience: AUDIENCE, jwks: { keys: [] } }).issuers[0]?.issuer,
    ).toBe('my-issuer');
    expect(resolveOptions({ issuer: 'my-issuer', audience: AUDIENCE, secret: SECRET }).issuers).toHaveLength(
      1,
    );
    expect(
      resolveOptions({ issuer: 'my-issuer', audience: AUDIENCE, jwksUri: 'https://id.example/jwks' }).issuers,
    ).toHaveLength(1);
  });

  it('rejects an empty issuer', () => {
    expect(rejection({ issuer: '', audience: AUDIENCE })).toMatch(/"issuer"/);
  });

  it('rejects a missing audience and says how to opt out', () => {
    expect(rejection({ issuer: ISSUER })).toMatch(/"audience": is required \(pass null/);
  });

  it('accepts audience null as an explicit opt-out', () => {
    expect(resolveOptions({ issuer: ISSUER, audience: null }).issuers[0]?.audience).toBeNull();
  });

  it('rejects an empty audience list and an empty audience string', () => {
    expect(rejection({ issuer: ISSUER, audience: [] })).toMatch(/"audience"/);
    expect(rejection({ issuer: ISSUER, audience: '' })).toMatch(/"audience"/);
    expect(rejection({ issuer: ISSUER, audience: 42 })).toMatch(/"audience"/);
  });

  it('normalises a single audience to a list', () => {
    expect(resolveOptions(base).issuers[0]?.audience).toEqual([AUDIENCE]);
    expect(resolveOptions({ issuer: ISSUER, audience: ['a', 'b'] }).issuers[0]?.audience).toEqual(['a', 'b']);
  });

  it('rejects a jwksUri that is not an http(s) URL', () => {
    expect(rejection({ ...base, jwksUri: 'not a url' })).toMatch(/"jwksUri": must be an http\(s\) URL/);
    expect(rejection({ ...base, jwksUri: 'file:///etc/jwks.json' })).toMatch(/"jwksUri"/);
  });

  it('rejects the none algorithm', () => {
    expect(rejection({ ...base, algorithms: ['none'] })).toMatch(/"algorithms.0": none is not a supported/);
  });

  it('rejects an unknown algorithm, naming its position', () => {
    expect(rejection({ ...base, algorithms: ['RS256', 'XS999'] })).toMatch(/"algorithms.1": XS999/);
  });

  it('rejects an empty algorithm list', () => {
    expect(rejection({ ...base, algorithms: [] })).toMatch(/"algorithms"/);
  });

  it('rejects HS* algorithms without a secret', () => {
    expect(rejection({ ...base, algorithms: ['HS256'] })).toMatch(/"algorithms": HS\* algorithms need/);
  });

  it('rejects a user name or password in a URL it fetches (undici would drop them without a word)', () => {
    expect(rejection({ ...base, jwksUri: 'https://user:pass@id.example/jwks' })).toMatch(
      /"jwksUri": must have no user name or password/,
    );
    expect(rejection({ ...base, jwksUri: 'https://user@id.example/jwks' })).toMatch(/"jwksUri"/);
    expect(
      rejection({
        ...base,
        introspection: {
          endpoint: 'https://api:secret@id.example/introspect',
          clientId: 'api',
          clientSecret: 'x',
        },
      }),
    ).toMatch(/"introspection\.endpoint": must have no user name or password/);
    expect(rejection({ ...base, issuer: 'https://user:pass@id.example' })).toMatch(
      /"issuer": must have no user name or password to discover its keys/,
    );
    // Not fetched (its keys are given): the issuer is only compared to the tokens' iss.
    expect(
      resolveOptions({ ...base, issuer: 'https://user@id.example', jwks: { keys: [] } }).issuers[0]?.issuer,
    ).toBe('https://user@id.example');
  });

  it('rejects a secret combined with jwks or jwksUri', () => {
    expect(rejection({ ...base, secret: SECRET, jwksUri: 'https://id.example/jwks' })).toMatch(
      /"secret": cannot be combined/,
    );
    expect(rejection({ ...base, secret: SECRET, jwks: { keys: [] } })).toMatch(
      /"secret": cannot be combined/,
    );
  });

  it('rejects a secret with asymmetric algorithms', () => {
    expect(rejection({ ...base, secret: SECRET, algorithms: ['HS256', 'RS256'] })).toMatch(/"algorithms"/);
  });

  it('rejects a secret shorter than 32 bytes, as a string or bytes', () => {
    expect(rejection({ ...base, secret: 's'.repeat(31) })).toMatch(/"secret": must be at least 32 bytes/);
    expect(rejection({ ...base, secret: new Uint8Array(16) })).toMatch(/"secret"/);
  });

  it('defaults a secret to the HS algorithms it is long enough for (RFC 7518 §3.2)', () => {
    const algorithms = (secret: string) => [
      ...(resolveOptions({ ...base, secret }).issuers[0]?.algorithms ?? []),
    ];
    expect(algorithms('s'.repeat(32))).toEqual(['HS256']);
    expect(algorithms('s'.repeat(48))).toEqual(['HS256', 'HS384']);
    expect(algorithms('s'.repeat(64))).toEqual(['HS256', 'HS384', 'HS512']);
  });

  it('rejects jwks combined with jwksUri', () => {
    expect(rejection({ ...base, jwks: { keys: [] }, jwksUri: 'https://id.example/jwks' })).toMatch(/"jwks"/);
  });

  it('rejects a bad clockToleranceSec', () => {
    expect(rejection({ ...base, clockToleranceSec: -1 })).toMatch(/"clockToleranceSec"/);
    expect(rejection({ ...base, clockToleranceSec: Number.NaN })).toMatch(/"clockToleranceSec"/);
    expect(rejection({ ...base, clockToleranceSec: '5' })).toMatch(/"clockToleranceSec"/);
    expect(rejection({ ...base, clockToleranceSec: 601 })).toMatch(/"clockToleranceSec"/);
  });

  it('rejects other bad numeric options, naming them', () => {
    expect(rejection({ ...base, maxTokenLength: 10 })).toMatch(/"maxTokenLength"/);
    expect(rejection({ ...base, maxTokenAgeSec: -5 })).toMatch(/"maxTokenAgeSec"/);
    expect(rejection({ ...base, http: { timeoutMs: 0 } })).toMatch(/"http.timeoutMs"/);
    expect(rejection({ ...base, keySet: { maxKeys: 0 } })).toMatch(/"keySet.maxKeys"/);
  });

  it('rejects a non-function clock and claims validator', () => {
    expect(rejection({ ...base, now: 1_700_000_000_000 })).toMatch(/"now": must be a clock function/);
    expect(rejection({ ...base, validateClaims: true })).toMatch(/"validateClaims"/);
  });

  it('rejects an unknown option key, naming it', () => {
    expect(rejection({ ...base, clockTolerance: 5 })).toMatch(/clockTolerance/);
    expect(rejection({ ...base, http: { timeout: 5 } })).toMatch(/timeout/);
  });

  it('names an unknown key itself, with its path, not the object holding it', () => {
    expect(rejection({ issuer: ISSUER, audiance: AUDIENCE })).toBe(
      'tokenguard: invalid option "audiance": is not a known option',
    );
    expect(rejection({ ...base, keySet: { maxkeys: 5 } })).toMatch(
      /"keySet\.maxkeys": is not a known option/,
    );
    const introspection = { clientId: 'api', clientSecret: 'x', cache: { ttlSec: 5 } };
    expect(rejection({ issuers: [{ ...base, introspection }] })).toMatch(
      /"issuers\.0\.introspection\.cache\.ttlSec": is not a known option/,
    );
    // JSON.parse makes __proto__ an own key: reported as such, never taken as the prototype.
    expect(rejection(JSON.parse(`{"issuer":"${ISSUER}","audience":"a","__proto__":{"realm":"x"}}`))).toMatch(
      /"__proto__": is not a known option/,
    );
  });

  it('rejects an array as the options object', () => {
    expect(rejection([base])).toMatch(/options must be an object/);
  });

  it('rejects HTTP timeouts beyond what a timer holds (they would fire after 1 ms)', () => {
    // Node's timers, AbortSignal.timeout's among them, fire after 1 ms past 2^31 - 1: every fetch
    // would time out at once, and every request needing keys would be a 503.
    for (const key of ['timeoutMs', 'connectTimeoutMs', 'headersTimeoutMs', 'bodyTimeoutMs']) {
      expect(rejection({ ...base, http: { [key]: 2 ** 31 } })).toMatch(new RegExp(`"http\\.${key}"`));
      expect(resolveOptions({ ...base, http: { [key]: 2 ** 31 - 1 } }).http).toMatchObject({
        [key]: 2 ** 31 - 1,
      });
    }
  });

  it('rejects an introspection retry.minSec of 0, which would be no backoff at all', () => {
    const introspection = { clientId: 'api', clientSecret: 'x' };
    expect(rejection({ ...base, introspection: { ...introspection, retry: { minSec: 0 } } })).toMatch(
      /"introspection\.retry\.minSec"/,
    );
    const resolved = resolveOptions({ ...base, introspection: { ...introspection, retry: { minSec: 0.5 } } });
    expect(resolved.issuers[0]?.introspection?.retry).toEqual({ minSec: 0.5, maxSec: 30 });
  });

  it('rejects a discovered issuer with a query or fragment (RFC 8414 §2), not one with configured keys', () => {
    expect(rejection({ issuer: 'https://id.example/?tenant=a', audience: AUDIENCE })).toMatch(
      /"issuer": must have no query or fragment/,
    );
    expect(rejection({ issuer: 'https://id.example/#x', audience: AUDIENCE })).toMatch(/"issuer"/);
    expect(rejection({ issuers: [{ issuer: 'https://id.example?', audience: AUDIENCE }] })).toMatch(
      /"issuers\.0\.issuer"/,
    );
    // A trailing slash is an ordinary issuer (Auth0's end with one).
    expect(resolveOptions({ issuer: 'https://id.example/', audience: AUDIENCE }).issuers[0]?.issuer).toBe(
      'https://id.example/',
    );
    const keys = { jwks: { keys: [] } };
    expect(
      resolveOptions({ issuer: 'https://id.example/?a', audience: AUDIENCE, ...keys }).issuers,
    ).toHaveLength(1);
  });

  it('keeps no reference to the lists it was given', () => {
    const audience = ['https://api.example'];
    const requiredClaims = ['sub'];
    const resolved = resolveOptions({ issuer: ISSUER, audience, requiredClaims });
    audience.push('https://evil.example');
    requiredClaims.pop();
    expect(resolved.issuers[0]?.audience).toEqual(['https://api.example']);
    expect(resolved.requiredClaims).toEqual(['sub']);
  });

  it('rejects issuers mixed with single-issuer fields', () => {
    expect(rejection({ issuer: ISSUER, issuers: [base] })).toMatch(/"issuer": set it inside each entry/);
    expect(rejection({ audience: AUDIENCE, issuers: [base] })).toMatch(/"audience": set it inside/);
  });

  it('rejects a bad entry of issuers, naming its index', () => {
    expect(rejection({ issuers: [base, { issuer: 'https://b.example' }] })).toMatch(/"issuers.1.audience"/);
    expect(rejection({ issuers: [base, { ...base, issuer: 'https://b.example', nope: 1 }] })).toMatch(
      /issuers.1/,
    );
  });

  it('rejects duplicate issuers', () => {
    expect(rejection({ issuers: [base, { ...base }] })).toMatch(/"issuers.1.issuer": .* is listed twice/);
  });

  it('rejects an empty issuers list', () => {
    expect(rejection({ issuers: [] })).toMatch(/"issuers"/);
  });

  it('applies the documented defaults', () => {
    const resolved = resolveOptions(base);
    const issuer = resolved.issuers[0];
    expect([...(issuer?.algorithms ?? [])]).toEqual([...DEFAULT_ALGORITHMS]);
    expect([...(issuer?.algorithms ?? [])]).toEqual([
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
    ]);
    expect([...(issuer?.typ ?? [])]).toEqual(['at+jwt']);
    expect(issuer?.allowMissingTyp).toBe(false);
    expect(issuer?.jwksUri).toBeUndefined();
    expect(resolved.clockToleranceSec).toBe(5);
    expect(resolved.maxTokenLength).toBe(8192);
    expect(resolved.maxTokenAgeSec).toBeUndefined();
    expect(resolved.requiredClaims).toEqual([]);
    expect(resolved.now).toBe(Date.now);
  });

  it('normalises configured typ values', () => {
    const issuer = resolveOptions({ ...base, typ: ['application/AT+JWT', 'JWT'] }).issuers[0];
    expect([...(issuer?.typ ?? [])]).toEqual(['at+jwt', 'jwt']);
  });

  it('does not mutate the options object', () => {
    const options = { ...base, algorithms: ['RS256' as const] };
    const copy = structuredClone(options);
    resolveOptions(options);
    expect(options).toEqual(copy);
  });
});

describe('normaliseTyp', () => {
  it('lower-cases and strips application/', () => {
    expect(normaliseTyp('Application/At+JWT')).toBe('at+jwt');
    expect(normaliseTyp('at+jwt')).toBe('at+jwt');
    expect(normaliseTyp('JWT')).toBe('jwt');
  });
});

describe('resourceMetadata (RFC 9728)', () => {
  const resolve = (resourceMetadata: unknown) =>
    resolveOptions({ ...base, resourceMetadata } as unknown as ValidatorOptions).resourceMetadata;
  const reject = (resourceMetadata: unknown) =>
    rejection({ ...base, resourceMetadata } as unknown as ValidatorOptions);

  it('is undefined when not set', () => {
    expect(resolveOptions(base).resourceMetadata).toBeUndefined();
  });

  it('takes an https resource identifier, with a path or a query, and http on this machine only', () => {
    expect(resolve({ resource: 'https://api.example/mcp?x=1' })?.document.resource).toBe(
      'https://api.example/mcp?x=1',
    );
    for (const resource of ['http://localhost:3000/mcp', 'http://127.0.0.1:8080', 'http://[::1]/']) {
      expect(resolve({ resource })?.document.resource, resource).toBe(resource);
    }
  });

  it('rejects a resource that is not an https URL without fragment, naming the path', () => {
    expect(reject({})).toMatch(/"resourceMetadata\.resource"/);
    expect(reject({ resource: '/mcp' })).toMatch(
      /"resourceMetadata\.resource": must be an absolute https URL/,
    );
    expect(reject({ resource: 'urn:example:api' })).toMatch(
      /"resourceMetadata\.resource": must be an absolute https URL/,
    );
    expect(reject({ resource: 'http://api.example/mcp' })).toMatch(
      /"resourceMetadata\.resource": must be an https URL \(http only for localhost/,
    );
    expect(reject({ resource: 'https://api.example/mcp#x' })).toMatch(
      /"resourceMetadata\.resource": must have no fragment/,
    );
    expect(reject({ resource: 'https://api.example/mcp#' })).toMatch(
      /"resourceMetadata\.resource": must have no fragment/,
    );
    expect(reject({ resource: 'https://user:pw@api.example/' })).toMatch(
      /"resourceMetadata\.resource": must have no user name or password/,
    );
  });

  it('rejects a scheme or host not in canonical form, which clients would never find identical (§3.3)', () => {
    const escaped = (text: string) => text.replace(/[.[\]?*+()\\/]/g, '\\$&');
    for (const [resource, canonical] of [
      ['HTTPS://mcp.example/mcp', 'https://mcp.example/mcp'],
      ['https://MCP.Example/mcp', 'https://mcp.example/mcp'],
      ['https://mcp.example:443/mcp', 'https://mcp.example/mcp'],
      ['http://localhost:80', 'http://localhost/'],
      ['http://[0:0::1]:3000/', 'http://[::1]:3000/'],
      ['https://mcp.example\\mcp', 'https://mcp.example/mcp'],
      ['https://café.example/mcp', 'https://xn--caf-dma.example/mcp'],
    ] as const) {
      expect(reject({ resource }), resource).toMatch(
        new RegExp(
          `"resourceMetadata\\.resource": must be written in canonical form \\(here: ${escaped(canonical)}\\)`,
        ),
      );
    }
    for (const resource of ['https://mcp.example', 'https://mcp.example?x', 'https://mcp.example:8443/a']) {
      expect(resolve({ resource })?.document.resource).toBe(resource);
    }
  });

  it('rejects a path with a malformed percent-escape, which a router answers with 400', () => {
    for (const resource of [
      'https://mcp.example/a%zz',
      'https://mcp.example/%E9',
      'https://mcp.example/a%',
    ]) {
      expect(reject({ resource }), resource).toMatch(
        /"resourceMetadata\.resource": must have a path whose percent-escapes are well formed/,
      );
    }
    expect(resolve({ resource: 'https://mcp.example/caf%C3%A9' })?.document.resource).toBe(
      'https://mcp.example/caf%C3%A9',
    );
  });

  it('rejects bad lists and URLs, naming the path', () => {
    const resource = 'https://api.example';
    expect(reject({ resource, authorizationServers: [] })).toMatch(
      /"resourceMetadata\.authorizationServers"/,
    );
    expect(reject({ resource, authorizationServers: ['id.example'] })).toMatch(
      /"resourceMetadata\.authorizationServers\.0": must be an http\(s\) URL/,
    );
    expect(reject({ resource, scopesSupported: [] })).toMatch(/"resourceMetadata\.scopesSupported"/);
    expect(reject({ resource, scopesSupported: ['a', 'b c'] })).toMatch(
      /"resourceMetadata\.scopesSupported\.1": must be a scope/,
    );
    expect(reject({ resource, scopesSupported: [''] })).toMatch(/"resourceMetadata\.scopesSupported\.0"/);
    expect(reject({ resource, bearerMethodsSupported: ['cookie'] })).toMatch(
      /"resourceMetadata\.bearerMethodsSupported\.0": must be 'header', 'body' or 'query'/,
    );
    expect(reject({ resource, bearerMethodsSupported: [] })).toMatch(
      /"resourceMetadata\.bearerMethodsSupported"/,
    );
    expect(reject({ resource, resourceName: '' })).toMatch(
      /"resourceMetadata\.resourceName": must not be empty/,
    );
    for (const key of ['resourceDocumentation', 'resourcePolicyUri', 'resourceTosUri']) {
      expect(reject({ resource, [key]: 'docs' })).toMatch(
        new RegExp(`"resourceMetadata\\.${key}": must be an http\\(s\\) URL`),
      );
    }
    expect(reject({ resource, resourceNmae: 'x' })).toMatch(
      /"resourceMetadata\.resourceNmae": is not a known option/,
    );
    expect(reject('https://api.example')).toMatch(/"resourceMetadata"/);
  });
});

describe('options named where they fail, said what they take', () => {
  const keys = { ...base, jwks: { keys: [] } };

  it('names tokenCache.maxEntries inside the false-or-object union, and says what tokenCache takes', () => {
    const entries =
      /"tokenCache\.maxEntries": must be a whole number of entries above 0 \(or set tokenCache: false\)$/;
    for (const maxEntries of ['10000', 1.5, Number.NaN, 0, -1, null]) {
      expect(rejection({ ...keys, tokenCache: { maxEntries } })).toMatch(entries);
    }
    for (const tokenCache of [true, 'off', 0, []]) {
      expect(rejection({ ...keys, tokenCache })).toMatch(
        /"tokenCache": must be false \(no cache\) or an object \{ maxEntries \}$/,
      );
    }
    expect(rejection({ ...keys, tokenCache: { maxEntrie: 5 } })).toMatch(
      /"tokenCache\.maxEntrie": is not a known option/,
    );
    expect(resolveOptions({ ...keys, tokenCache: false }).tokenCacheMaxEntries).toBe(0);
    expect(resolveOptions({ ...keys, tokenCache: { maxEntries: 5 } }).tokenCacheMaxEntries).toBe(5);
    expect(resolveOptions({ ...keys, tokenCache: {} }).tokenCacheMaxEntries).toBe(10_000);
  });

  it('names the element of a list inside a union, and says what the union takes otherwise', () => {
    expect(rejection({ ...keys, audience: [AUDIENCE, 5] })).toMatch(
      /"audience\.1": Invalid input: expected string/,
    );
    expect(rejection({ ...keys, audience: 5 })).toMatch(
      /"audience": must be a string, a non-empty list of strings, or null$/,
    );
    const introspection = { clientId: 'api', authMethod: 'private_key_jwt', privateKey: 5 };
    expect(rejection({ ...base, introspection })).toMatch(
      /"introspection\.privateKey": must be a PKCS#8 PEM string or a private JWK object$/,
    );
  });

  it('refuses an empty realm or one with DEL, and keeps quotes, backslashes and spaces as given', () => {
    expect(rejection({ ...keys, realm: '' })).toMatch(/"realm": must not be empty/);
    expect(rejection({ ...keys, realm: 'Orders\u007f' })).toMatch(/"realm": must be printable ASCII/);
    expect(rejection({ ...keys, realm: 'Orders\u00a0API' })).toMatch(/"realm": must be printable ASCII/);
    expect(resolveOptions({ ...keys, realm: ' a "b" \\c ' }).realm).toBe(' a "b" \\c ');
  });

  it('says what is missing from a typ that is only the application/ prefix', () => {
    expect(rejection({ ...keys, typ: ['Application/'] })).toMatch(
      /"typ\.0": must name a type after "application\/"$/,
    );
    expect([...(resolveOptions({ ...keys, typ: ['application/jwt'] }).issuers[0]?.typ ?? [])]).toEqual([
      'jwt',
    ]);
  });

  it('accepts the private_key_jwt fields with private_key_jwt', () => {
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const introspection = {
      clientId: 'api',
      authMethod: 'private_key_jwt' as const,
      privateKey,
      privateKeyAlg: 'ES256' as const,
      privateKeyKid: 'key-1',
      assertionAudience: ISSUER,
    };
    const resolved = resolveOptions({ ...base, introspection }).issuers[0]?.introspection;
    expect(resolved?.assertionAudience).toBe(ISSUER);
    expect(resolved?.clientKey).toMatchObject({ alg: 'ES256', kid: 'key-1' });
  });
});

describe('scopeClaims resolved', () => {
  const base = { issuer: 'https://id.example', audience: 'https://api.example' };
  // readScopes takes its no-loop path only for this very array: a copy (as freezing made once) loses it.
  it('is the default array itself when left out or given as the default', () => {
    expect(resolveOptions(base).issuers[0]?.scopeClaims).toBe(DEFAULT_SCOPE_CLAIMS);
    expect(resolveOptions({ ...base, scopeClaims: ['scope', 'scp'] }).issuers[0]?.scopeClaims).toBe(
      DEFAULT_SCOPE_CLAIMS,
    );
  });

  it('is a frozen copy of any other list', () => {
    const given = ['scp', 'scope'];
    const resolved = resolveOptions({ ...base, scopeClaims: given }).issuers[0]?.scopeClaims;
    expect(resolved).toEqual(['scp', 'scope']);
    expect(resolved).not.toBe(given);
    expect(Object.isFrozen(resolved)).toBe(true);
  });
});
