import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import { createValidator } from './validator.js';

// The README's validator table: `options` is "the resolved options (frozen)". Frozen means all the
// way down: the validator reads these very objects on every request, so a write through
// `validator.options` (a diagnostics route, a plugin, a test helper) must not change what it accepts.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const EVIL = 'https://evil.example';
const NOW_SEC = 1_700_000_000;
let key: SigningKey;

beforeAll(() => {
  key = generateSigningKey('ES256');
});

/** Runs `write` and says whether it threw a TypeError (a write to something frozen, in strict mode). */
function refused(write: () => unknown): boolean {
  try {
    write();
  } catch (error) {
    return error instanceof TypeError;
  }
  return false;
}

describe('validator.options is frozen all the way down', () => {
  it('refuses writes to nested lists, sets and objects, and keeps validating as configured', async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(key),
      requiredClaims: ['sub'],
      now: () => NOW_SEC * 1000,
    });
    // Deliberately untyped: what a JavaScript caller can do.
    const options = validator.options as unknown as {
      issuers: Array<
        Record<string, unknown> & { audience: string[]; typ: Set<string>; algorithms: Set<string> }
      >;
      requiredClaims: string[];
      keySet: Record<string, number>;
      http: Record<string, number>;
    };
    const [issuer] = options.issuers;
    if (issuer === undefined) throw new Error('no issuer');
    expect(refused(() => options.issuers.push(issuer))).toBe(true);
    expect(refused(() => issuer.audience.push(EVIL))).toBe(true);
    expect(refused(() => issuer.typ.add('jwt'))).toBe(true);
    expect(refused(() => issuer.algorithms.delete('ES256'))).toBe(true);
    expect(refused(() => issuer.algorithms.clear())).toBe(true);
    expect(refused(() => Object.assign(issuer, { issuer: EVIL }))).toBe(true);
    expect(refused(() => options.requiredClaims.pop())).toBe(true);
    expect(refused(() => Object.assign(options.keySet, { staleIfErrorSec: 1e9 }))).toBe(true);
    expect(refused(() => Object.assign(options.http, { timeoutMs: 1 }))).toBe(true);

    const evil = await signToken(key, accessTokenClaims({ iss: ISS, aud: EVIL, nowSec: NOW_SEC }), {
      typ: 'JWT',
    });
    const error = await validator.validate(evil).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).code).toBe('ERR_TYPE_MISMATCH');
    const good = await signToken(key, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }));
    expect((await validator.validate(good)).audience).toEqual([AUD]);
  });

  it('freezes the template tenants and the introspection settings too', () => {
    const validator = createValidator({
      issuers: [
        { issuer: 'https://id.example/{tenant}', audience: AUD, tenants: ['a'], jwks: jwksOf(key) },
        {
          issuer: 'https://opaque.example',
          audience: AUD,
          jwks: jwksOf(key),
          introspection: { endpoint: 'https://opaque.example/introspect', clientId: 'c', clientSecret: 's' },
        },
      ],
    });
    const [template, opaque] = validator.options.issuers as unknown as Array<{
      template: { tenants: Set<string> };
      introspection: { cache: Record<string, number>; retry: Record<string, number> };
    }>;
    expect(refused(() => template?.template.tenants.add('evil'))).toBe(true);
    expect(template?.template.tenants.has('evil')).toBe(false);
    expect(refused(() => Object.assign(template?.template ?? {}, { maxTenants: 1 }))).toBe(true);
    expect(refused(() => Object.assign(opaque?.introspection.cache ?? {}, { maxTtlSec: 1e9 }))).toBe(true);
    expect(refused(() => Object.assign(opaque?.introspection.retry ?? {}, { minSec: 0 }))).toBe(true);
    expect(refused(() => Object.assign(opaque?.introspection ?? {}, { jwt: 'always' }))).toBe(true);
  });
});
