/**
 * Run by verified-cache.test.ts in a child process (`node --expose-gc --import tsx`): a token's
 * verification is cached inside an AsyncLocalStorage store, the store is left, and the probe prints
 * whether anything still holds it once garbage is collected. A cached answer must not keep the
 * context of the request that happened to admit the token.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { generateSigningKey, signToken } from '../../../../test/support/keys.js';
import { createValidator } from '../validator.js';

const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('run with --expose-gc');
const issuer = 'https://issuer.probe.test';
const audience = 'https://api.probe.test';
const key = generateSigningKey('ES256');
const nowSec = Math.floor(Date.now() / 1000);
const token = await signToken(key, {
  iss: issuer,
  aud: audience,
  sub: 'probe',
  iat: nowSec,
  exp: nowSec + 300,
});
const validator = createValidator({ issuer, audience, jwks: { keys: [key.publicJwk as never] } });
const storage = new AsyncLocalStorage<{ readonly request: Uint8Array }>();

async function admitInRequest(): Promise<WeakRef<object>> {
  const store = { request: new Uint8Array(1 << 20) };
  await storage.run(store, async () => {
    await validator.validate(token);
    await validator.validate(token);
  });
  return new WeakRef(store);
}

const request = await admitInRequest();
// Later requests are answered from the cache, each in its own context.
await storage.run({ request: new Uint8Array(1) }, () => validator.validate(token));
for (let i = 0; i < 10 && request.deref() !== undefined; i++) {
  await new Promise((resolve) => setImmediate(resolve));
  collect();
}
process.stdout.write(
  JSON.stringify({ cached: validator.state().tokenCache.entries, retained: request.deref() !== undefined }),
);
