/**
 * Run by tests in a child process (`node --expose-gc --import tsx`, argument `verified-cache` or
 * `metadata`): something kept for later is made inside an AsyncLocalStorage store (a cached token
 * verification, the discovery document), the store is left, and the probe prints whether anything
 * still holds the store once garbage is collected. What a validator keeps must not keep the context
 * of the request that happened to make it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { generateSigningKey, signToken } from '../../../../test/support/keys.js';
import { createMetadataLoader } from '../discovery.js';
import { createValidator } from '../validator.js';

const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('run with --expose-gc');
const storage = new AsyncLocalStorage<{ readonly request: Uint8Array }>();

/** Runs `work` in a request's context holding 1 MiB, and returns a weak reference to that context. */
async function inRequest(work: () => Promise<unknown>): Promise<WeakRef<object>> {
  const store = { request: new Uint8Array(1 << 20) };
  await storage.run(store, work);
  return new WeakRef(store);
}

async function isRetained(request: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && request.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    collect?.();
  }
  return request.deref() !== undefined;
}

async function verifiedCache(): Promise<Record<string, unknown>> {
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
  const request = await inRequest(async () => {
    await validator.validate(token);
    await validator.validate(token);
  });
  // A later request is answered from the cache, in its own context.
  await storage.run({ request: new Uint8Array(1) }, () => validator.validate(token));
  return { cached: validator.state().tokenCache.entries, retained: await isRetained(request) };
}

async function metadata(): Promise<Record<string, unknown>> {
  let loads = 0;
  const load = createMetadataLoader(async () => {
    loads++;
    return { issuer: 'https://issuer.probe.test' };
  });
  const request = await inRequest(() => load());
  await load();
  return { loads, retained: await isRetained(request) };
}

const probes: Record<string, () => Promise<Record<string, unknown>>> = {
  'verified-cache': verifiedCache,
  metadata,
};
const probe = probes[process.argv[2] ?? ''];
if (probe === undefined) throw new Error(`probe: ${process.argv[2]} (verified-cache or metadata)`);
process.stdout.write(JSON.stringify(await probe()));
