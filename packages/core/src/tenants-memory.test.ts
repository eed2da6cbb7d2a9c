/**
 * `maxTenants` is a bound, not a size: the registry's memory follows the tenants it meets, never
 * the number configured. A large bound (a deployment that means "as many as there are") must not
 * be allocated up front, nor crash `createValidator` with a RangeError that names no option.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { createValidator, type Validator } from './validator.js';

const NOW_SEC = 1_800_000_000;
const AUD = 'https://api.example';
const key = generateSigningKey('ES256', { kid: 'k1' });
const validators: Validator[] = [];

afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
});

function templateValidator(maxTenants: number): Validator {
  const validator = createValidator({
    issuers: [
      {
        issuer: 'https://login.example/{tenant}',
        audience: AUD,
        jwks: jwksOf(key),
        maxTenants,
        resolveTenant: () => true,
      },
    ],
    now: () => NOW_SEC * 1000,
  });
  validators.push(validator);
  return validator;
}

function bytesHeld(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('maxTenants', () => {
  it('accepts a bound as large as Number.MAX_SAFE_INTEGER and still keeps tenants', async () => {
    const validator = templateValidator(Number.MAX_SAFE_INTEGER);
    for (const tenant of ['acme', 'globex']) {
      const token = await signToken(
        key,
        accessTokenClaims({ iss: `https://login.example/${tenant}`, aud: AUD, nowSec: NOW_SEC }),
      );
      expect((await validator.validate(token, { tenant })).tenant).toBe(tenant);
    }
    expect(validator.state().issuers).toHaveLength(2);
  });

  it('allocates nothing in proportion to the bound', () => {
    const before = bytesHeld();
    // Held until the assertion: what it allocated cannot be collected before it is measured.
    const validator = templateValidator(5_000_000);
    const grown = bytesHeld() - before;
    expect(validator.state().issuers).toEqual([]);
    // Two preallocated caches of five million slots each take well over 100 MB.
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });
});
