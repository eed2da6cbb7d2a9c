import { describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf } from '../../../test/support/keys.js';
import { typeErrorOf } from '../../../test/support/rejections.js';
import { createValidator } from './validator.js';

// The README's option table: `tenantTtlSec` is "how long a `resolveTenant` answer is trusted". With a
// fixed `tenants` list there is no answer to keep, so the option did nothing, silently (as
// `maxTenants` or `tenants` without a template already say). It is refused, naming it.

const TEMPLATE = 'https://id.example/{tenant}';
const AUD = 'https://api.example';

function rejection(options: Record<string, unknown>): string {
  const single =
    options.issuers === undefined ? { audience: AUD, jwks: jwksOf(generateSigningKey('ES256')) } : {};
  return typeErrorOf(() => createValidator({ ...single, ...options } as never));
}

describe('tenantTtlSec', () => {
  it('is refused beside a fixed tenants list, naming the option', () => {
    expect(rejection({ issuer: TEMPLATE, tenants: ['a'], tenantTtlSec: 60 })).toMatch(
      /invalid option "tenantTtlSec": only applies with resolveTenant/,
    );
    expect(
      rejection({
        issuers: [{ issuer: TEMPLATE, audience: AUD, tenants: ['a'], tenantTtlSec: 60, jwks: { keys: [] } }],
      }),
    ).toMatch(/invalid option "issuers\.0\.tenantTtlSec"/);
  });

  it('is taken with resolveTenant, and the default 300 applies without it', () => {
    const withResolver = createValidator({
      issuer: TEMPLATE,
      audience: AUD,
      jwks: { keys: [] },
      resolveTenant: () => true,
      tenantTtlSec: 60,
    });
    expect(withResolver.options.issuers[0]?.template?.tenantTtlSec).toBe(60);
    const byDefault = createValidator({
      issuer: TEMPLATE,
      audience: AUD,
      jwks: { keys: [] },
      resolveTenant: () => true,
    });
    expect(byDefault.options.issuers[0]?.template?.tenantTtlSec).toBe(300);
    expect(byDefault.options.issuers[0]?.template?.maxTenants).toBe(1000);
  });
});
