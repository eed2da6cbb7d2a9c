import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { verifyWithAny } from './jws.js';
import { createValidator, validateFound } from './validator.js';

// verifyWithAny as it is, counted: how many signature verifications a batch of found tokens costs.
vi.mock('./jws.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./jws.js')>();
  return { ...original, verifyWithAny: vi.fn(original.verifyWithAny) };
});

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
let key: SigningKey;

beforeAll(() => {
  key = generateSigningKey('ES256');
});

const validator = () =>
  createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(key), now: () => NOW_SEC * 1000 });
const token = (sub: string) =>
  signToken(key, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { sub }));

describe('a fresh token found several times in one phase', () => {
  it('is verified once; each request gets its own answer, requirements and error', async () => {
    const guard = validator();
    const [shared, other] = await Promise.all([token('shared'), token('other')]);
    const counted = vi.mocked(verifyWithAny);
    counted.mockClear();
    const answers = await Promise.allSettled([
      validateFound(guard, shared, undefined, false),
      validateFound(guard, shared, { scopes: ['not-held'] }, false),
      validateFound(guard, shared, undefined, false),
      validateFound(guard, other, undefined, false),
    ]);
    expect(counted).toHaveBeenCalledTimes(2); // shared once, other once
    const [first, refused, third, fourth] = answers;
    expect(first.status === 'fulfilled' && first.value.subject).toBe('shared');
    expect(third.status === 'fulfilled' && third.value.subject).toBe('shared');
    expect(fourth.status === 'fulfilled' && fourth.value.subject).toBe('other');
    expect(refused.status === 'rejected' && refused.reason.code).toBe('ERR_INSUFFICIENT_SCOPE');
    // Two requests admitted it: the cache of verified tokens holds it now.
    expect(guard.state().tokenCache.entries).toBe(1);
  });

  it('a tampered copy is refused for each request that sent it, with an error of its own', async () => {
    const guard = validator();
    const genuine = await token('genuine');
    const at = genuine.lastIndexOf('.') + 5;
    const tampered = `${genuine.slice(0, at)}${genuine[at] === 'A' ? 'B' : 'A'}${genuine.slice(at + 1)}`;
    const counted = vi.mocked(verifyWithAny);
    counted.mockClear();
    const [one, two, good] = await Promise.allSettled([
      validateFound(guard, tampered, undefined, false),
      validateFound(guard, tampered, undefined, false),
      validateFound(guard, genuine, undefined, false),
    ]);
    expect(counted).toHaveBeenCalledTimes(2);
    expect(one.status === 'rejected' && one.reason.code).toBe('ERR_SIGNATURE_INVALID');
    expect(two.status === 'rejected' && two.reason.code).toBe('ERR_SIGNATURE_INVALID');
    expect(one.status === 'rejected' && two.status === 'rejected' && one.reason !== two.reason).toBe(true);
    expect(good.status).toBe('fulfilled');
  });

  it('a later phase verifies it again unless the cache holds it', async () => {
    const guard = validator();
    const once = await token('once');
    const counted = vi.mocked(verifyWithAny);
    counted.mockClear();
    await validateFound(guard, once, undefined, false); // seen once: only remembered
    await validateFound(guard, once, undefined, false); // verified again, now cached
    await validateFound(guard, once, undefined, false); // a cache hit
    expect(counted).toHaveBeenCalledTimes(2);
  });
});
