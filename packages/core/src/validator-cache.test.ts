import { describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import type { TokenGuardError } from './errors.js';
import type { ValidatorOptions } from './options.js';
import type { Requirements } from './requirements.js';
import { createValidator, type Validator, validateFound } from './validator.js';

// The validator's cache of verified tokens (issue #7) as every path that reads it sees it: a hit
// still applies the route's requirements and never outlives the verification it stands for.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

/** A validator whose clock the test moves. */
function validatorAt(clock: { ms: number }, extra: Partial<ValidatorOptions> = {}): Validator {
  return createValidator({
    issuer: ISS,
    audience: AUD,
    secret: SECRET,
    tenantClaim: 'tid',
    now: () => clock.ms,
    ...extra,
  } as ValidatorOptions);
}

function tokenWith(overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken(
    secretSigningKey(SECRET),
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { scope: 'read', ...overrides }),
  );
}

/** Validates `token` until its verification is cached (the cache stores it the second time). */
async function cacheVerified(validator: Validator, token: string): Promise<void> {
  const before = validator.state().tokenCache.entries;
  await validator.validate(token);
  await validator.validate(token);
  expect(validator.state().tokenCache.entries).toBe(before + 1);
}

async function codeOf(result: Promise<unknown>): Promise<string> {
  return result.then(
    () => 'resolved',
    (error: TokenGuardError) => error.code,
  );
}

/** Every way a cached verification is read with requirements to apply. */
const pathsWithRequirements: readonly [
  string,
  (validator: Validator, token: string, requirements: Requirements) => Promise<unknown>,
][] = [
  ['validate(token, requirements)', (v, token, r) => v.validate(token, r)],
  ['validate("Bearer <token>", requirements)', (v, token, r) => v.validate(`Bearer ${token}`, r)],
  [
    'validateFound (authenticateRequest with requirements)',
    (v, token, r) => validateFound(v, token, r, false),
  ],
];

describe('a cached verification read with requirements', () => {
  it.each(pathsWithRequirements)('applies scopes, tenant and claims on a hit: %s', async (_, read) => {
    const clock = { ms: NOW_SEC * 1000 };
    const validator = validatorAt(clock);
    const token = await tokenWith({ tid: 'acme', role: 'member' });
    await cacheVerified(validator, token);
    const met = { scopes: ['read'], tenant: 'acme', claims: [{ claim: 'role', equals: 'member' }] };
    expect(await codeOf(read(validator, token, met))).toBe('resolved');
    expect(await codeOf(read(validator, token, { scopes: ['write'] }))).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(await codeOf(read(validator, token, { tenant: 'globex' }))).toBe('ERR_TENANT_MISMATCH');
    expect(await codeOf(read(validator, token, { claims: [{ claim: 'role', equals: 'admin' }] }))).toBe(
      'ERR_CLAIM_REQUIREMENT',
    );
    // Each answered from the cache: nothing was verified or stored again.
    expect(validator.state().tokenCache.entries).toBe(1);
  });

  it.each(pathsWithRequirements)('is not used once the token expired: %s', async (_, read) => {
    const clock = { ms: NOW_SEC * 1000 };
    const validator = validatorAt(clock);
    const token = await tokenWith();
    await cacheVerified(validator, token);
    // exp plus the default clock tolerance (5 s): the first instant validate() calls it expired.
    clock.ms = (NOW_SEC + 300 + 5) * 1000;
    expect(await codeOf(read(validator, token, { scopes: ['read'] }))).toBe('ERR_TOKEN_EXPIRED');
    expect(validator.state().tokenCache.entries).toBe(0);
  });
});

describe('the size of the cache of verified tokens', () => {
  it('holds at most tokenCache.maxEntries verifications', async () => {
    const clock = { ms: NOW_SEC * 1000 };
    const validator = validatorAt(clock, { tokenCache: { maxEntries: 2 } });
    const tokens = await Promise.all([tokenWith(), tokenWith(), tokenWith()]);
    for (const token of tokens) {
      await validator.validate(token);
      await validator.validate(token);
    }
    expect(validator.state().tokenCache).toEqual({ entries: 2, maxEntries: 2 });
  });
});
