import { describe, expect, it } from 'vitest';
import { resolveAdapterOptions } from './adapter-options.js';
import {
  DEFAULT_INTROSPECTION_CACHE,
  DEFAULT_KEY_SET_POLICY,
  resolveOptions,
  type ValidatorOptions,
} from './options.js';
import { createValidator } from './validator.js';

const AUDIENCE = 'https://api.example';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
}

// Option checks tightened (unknown keys, timer caps, retry.minSec, issuer query/fragment, adapter
// keys): the configurations users really write must still construct, as written, through JSON and as
// class instances.
describe('realistic configurations still construct', () => {
  const configs: Record<string, ValidatorOptions> = {
    auth0: { issuer: 'https://tenant.eu.auth0.com/', audience: AUDIENCE },
    entra: {
      issuer: 'https://login.microsoftonline.com/{tenant}/v2.0',
      audience: AUDIENCE,
      tenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'],
    },
    cognito: {
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf',
      audience: null,
      scopeClaims: ['scope'],
    },
    keycloak: {
      issuer: 'http://localhost:8080/realms/demo',
      audience: 'account',
      allowMissingTyp: true,
      typ: ['JWT', 'at+jwt'],
    },
    okta: {
      issuer: 'https://dev-1.okta.com/oauth2/default',
      audience: 'api://default',
      scopeClaims: ['scp'],
    },
    google: {
      issuer: 'https://accounts.google.com',
      audience: 'x.apps.googleusercontent.com',
      allowMissingTyp: true,
    },
    keySetSpread: {
      issuer: 'https://id.example',
      audience: AUDIENCE,
      keySet: { ...DEFAULT_KEY_SET_POLICY, staleIfErrorSec: 7200 },
    },
    introspection: {
      issuer: 'https://id.example',
      audience: AUDIENCE,
      introspection: {
        clientId: 'api',
        clientSecret: 'x',
        cache: { ...DEFAULT_INTROSPECTION_CACHE, maxTtlSec: 15 },
        retry: { minSec: 1, maxSec: 30 },
      },
    },
    httpLong: {
      issuer: 'https://id.example',
      audience: AUDIENCE,
      http: { timeoutMs: 60_000, connectTimeoutMs: 10_000 },
    },
  };
  for (const [name, config] of Object.entries(configs)) {
    it(name, () => {
      expect(message(() => resolveOptions(config))).toBe('accepted');
      expect(message(() => resolveOptions(JSON.parse(JSON.stringify(config))))).toBe('accepted');
    });
  }
  it('class instance', () => {
    class Config {
      issuer = 'https://id.example/';
      audience = AUDIENCE;
      keySet = { ...DEFAULT_KEY_SET_POLICY };
    }
    expect(message(() => resolveOptions(new Config()))).toBe('accepted');
    class Http {
      timeoutMs = 1000;
    }
    expect(
      message(() => resolveOptions({ issuer: 'https://id.example', audience: AUDIENCE, http: new Http() })),
    ).toBe('accepted');
  });
  it('undefined-valued optional keys, as from env', () => {
    expect(
      message(() =>
        resolveOptions({
          issuer: 'https://id.example',
          audience: AUDIENCE,
          jwksUri: undefined,
          http: { timeoutMs: undefined },
          keySet: { retryMinSec: undefined },
        }),
      ),
    ).toBe('accepted');
    expect(
      message(() =>
        resolveOptions({
          issuer: 'https://id.example',
          audience: AUDIENCE,
          introspection: { clientId: 'a', clientSecret: 'b', retry: { minSec: undefined, maxSec: 10 } },
        }),
      ),
    ).toBe('accepted');
    // Beside issuers, a single issuer's key set to undefined is absent too (it was a TypeError).
    expect(
      message(() =>
        resolveOptions({
          issuer: undefined,
          audience: undefined,
          issuers: [{ issuer: 'https://id.example', audience: AUDIENCE }],
        }),
      ),
    ).toBe('accepted');
    expect(
      message(() =>
        resolveOptions({
          audience: AUDIENCE,
          issuers: [{ issuer: 'https://id.example', audience: AUDIENCE }],
        }),
      ),
    ).toMatch(/"audience": set it inside each entry of "issuers"/);
  });
  it('adapter options', () => {
    const validator = createValidator({
      issuer: 'https://id.example',
      audience: AUDIENCE,
      jwks: { keys: [] },
    });
    expect(
      message(() =>
        resolveAdapterOptions(validator, { optional: undefined, transport: undefined, onError: undefined }),
      ),
    ).toBe('accepted');
    class Adapter {
      optional = true;
    }
    expect(message(() => resolveAdapterOptions(validator, new Adapter()))).toBe('accepted');
    expect(message(() => resolveAdapterOptions(validator, Object.create(null)))).toBe('accepted');
    void validator.close();
  });
});

describe('JSON __proto__ inside nested option objects', () => {
  it('is refused, never read through', () => {
    const nested = JSON.parse(
      '{"issuers":[{"issuer":"https://a.example","audience":"x","__proto__":{"jwks":{"keys":[]}}}],"keySet":{"__proto__":{"retryMinSec":0}}}',
    );
    expect(message(() => resolveOptions(nested))).toMatch(/"keySet\.__proto__": is not a known option/);
    const entry = JSON.parse(
      '{"issuer":"https://a.example","audience":"x","__proto__":{"jwks":{"keys":[]}}}',
    );
    expect(message(() => resolveOptions({ issuers: [entry] }))).toMatch(
      /"issuers\.0\.__proto__": is not a known option/,
    );
  });
});
