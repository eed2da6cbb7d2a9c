/**
 * Runs in its own process (`--expose-gc`), so the figures are this validator's alone: pushes `count`
 * distinct HS256 tokens through one validator with default cache sizes and reports RSS and heap
 * after a full GC, before and after.
 */
import { createValidator } from '@tokenguard/core';
import { AUDIENCE, accessTokenClaims, generateBenchKey, ISSUER, signToken } from '../lib/tokens.js';

export interface MemoryResult {
  readonly tokens: number;
  readonly tokenLength: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly heapBeforeMb: number;
  readonly heapAfterMb: number;
  readonly peakRssMb: number;
  readonly cacheEntries: number;
  readonly cacheMaxEntries: number;
  readonly seconds: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): number => bytes / 1024 / 1024;

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage();
}

async function main(count: number, padTo: number): Promise<MemoryResult> {
  const key = generateBenchKey('HS256');
  const validator = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    secret: key.secret as Buffer,
    algorithms: ['HS256'],
  });
  const nowSec = Math.floor(Date.now() / 1000);
  // Padded to the length of an RS256 token, so the cache holds strings of a realistic size.
  const unpadded = signToken(key, accessTokenClaims(0, nowSec)).length;
  const ext = 'x'.repeat(Math.max(0, Math.floor(((padTo - unpadded) * 3) / 4) - 10));
  const tokenFor = (n: number) => signToken(key, { ...accessTokenClaims(n, nowSec), ext });
  // Every token is validated twice: the cache admits a token on its second verification, so each
  // one is then stored (the worst case for memory; tokens seen once leave only a fingerprint).
  const validateTwice = async (token: string): Promise<void> => {
    await validator.validate(token);
    await validator.validate(token);
  };
  // Warm-up: JIT, the header cache, and a cache that is already full.
  const warm = validator.options.tokenCacheMaxEntries * 2;
  for (let i = 0; i < warm; i++) await validateTwice(tokenFor(-1 - i));
  const before = settle();
  let peak = before.rss;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await validateTwice(tokenFor(i));
    if ((i & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const seconds = (performance.now() - start) / 1000;
  const after = settle();
  const state = validator.state();
  await validator.close();
  return {
    tokens: count,
    tokenLength: tokenFor(0).length,
    rssBeforeMb: mb(before.rss),
    rssAfterMb: mb(after.rss),
    heapBeforeMb: mb(before.heapUsed),
    heapAfterMb: mb(after.heapUsed),
    peakRssMb: mb(Math.max(peak, after.rss)),
    cacheEntries: state.tokenCache.entries,
    cacheMaxEntries: state.tokenCache.maxEntries,
    seconds,
  };
}

const [count = '1000000', padTo = '800'] = process.argv.slice(2);
main(Number(count), Number(padTo)).then(
  (result) => {
    process.send?.(result);
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
