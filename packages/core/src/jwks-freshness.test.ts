import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSigningKey, type TestSigningKey } from '../../../test/support/jwks-server.js';
import { TokenGuardError } from './errors.js';
import type { KeySetEvent } from './jwks.js';
import type { ValidatorOptions } from './options.js';
import { createValidator, type Validator } from './validator.js';

/**
 * How long a fetched key set is kept, and what a refetch does to tokens already verified, against a
 * real JWKS server on 127.0.0.1 whose answer (headers included) each test sets.
 */
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';
const T0 = Date.UTC(2030, 0, 1);

let server: Server;
let url: string;
let keys: Record<string, unknown>[];
let rawHeaders: string[];
let k1: TestSigningKey;
let e1: TestSigningKey;
let clock: number;
let events: KeySetEvent[];
const open: Validator[] = [];

beforeAll(async () => {
  k1 = createSigningKey('k1');
  e1 = createSigningKey('k1', 'ES256');
  server = createServer((_req, res) => {
    // Raw header lines, so that a header can be sent twice.
    res.writeHead(200, ['content-type', 'application/json', ...rawHeaders]).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  keys = [k1.jwk];
  rawHeaders = [];
  clock = T0;
  events = [];
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((validator) => validator.close()));
});

function validator(overrides: Partial<ValidatorOptions> = {}): Validator {
  const created = createValidator({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: url,
    now: () => clock,
    http: { timeoutMs: 2000 },
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  open.push(created);
  return created;
}

function token(key: TestSigningKey, kid: string | undefined = key.kid): Promise<string> {
  const iat = Math.floor(clock / 1000);
  return new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 86_400)
    .sign(key.privateKey);
}

async function outcome(v: Validator, jwt: string): Promise<string> {
  try {
    await v.validate(jwt);
    return 'ok';
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

const maxAgeOfFetch = () => events.findLast((event) => event.type === 'fetched')?.maxAgeSec;

describe('max age from Cache-Control', () => {
  it.each([
    ['max-age=-1', 60],
    ['max-age=soon', 60],
    ['max-age=', 60],
    ['max-age=300', 300],
    ['max-age=0', 60],
    ['no-store, max-age=3600', 60],
    ['max-age=99999999999999999999999', 86_400],
  ])(
    '%s gives the set a max age of %i s (an invalid max-age is stale: RFC 9111 §4.2.1)',
    async (value, sec) => {
      rawHeaders = ['cache-control', value];
      await validator().warm();
      expect(maxAgeOfFetch()).toBe(sec);
    },
  );

  it('reads a Cache-Control sent on two header lines as one list (the most restrictive wins)', async () => {
    rawHeaders = ['cache-control', 'max-age=3600', 'cache-control', 'no-cache'];
    await validator().warm();
    expect(maxAgeOfFetch()).toBe(60);
  });
});

describe('a refetch that changes the set', () => {
  it('rejects every token, cached or not, once the set shrinks to no keys', async () => {
    const v = validator();
    const jwt = await token(k1);
    expect(await outcome(v, jwt)).toBe('ok');
    expect(await outcome(v, jwt)).toBe('ok');
    keys = [];
    await v.refreshKeys();
    expect(events).toContainEqual(expect.objectContaining({ type: 'key_removed', kid: 'k1' }));
    expect(await outcome(v, jwt)).toBe('401 ERR_KEY_NOT_FOUND');
    expect(v.state().issuers[0]?.keySet).toMatchObject({ status: 'fresh', keys: 0, kids: [] });
  });

  it('tells a kid that is the empty string from no kid: a key that loses it is a removed key', async () => {
    keys = [{ ...k1.jwk, kid: '' }];
    const v = validator();
    const jwt = await token(k1, '');
    expect(await outcome(v, jwt)).toBe('ok');
    const { kid: _dropped, ...withoutKid } = k1.jwk;
    keys = [withoutKid];
    await v.refreshKeys();
    expect(events).toContainEqual(expect.objectContaining({ type: 'key_removed', kid: '' }));
    // The same token verified anew finds no key with kid "": the cached answer must not differ.
    expect(await outcome(v, jwt)).toBe('401 ERR_KEY_NOT_FOUND');
  });

  it('offers each of two keys sharing a kid to the algorithm its type fits', async () => {
    keys = [k1.jwk, e1.jwk];
    const v = validator();
    expect(await outcome(v, await token(k1))).toBe('ok');
    expect(await outcome(v, await token(e1))).toBe('ok');
    keys = [e1.jwk];
    await v.refreshKeys();
    expect(await outcome(v, await token(k1))).toBe('401 ERR_KEY_NOT_FOUND');
    expect(await outcome(v, await token(e1))).toBe('ok');
  });
});
