import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwksOf, type SigningKey } from '../../../test/support/keys.js';
import { typeErrorOf } from '../../../test/support/rejections.js';
import type { KeySetEvent } from './jwks.js';
import type { ValidatorOptions } from './options.js';
import { createValidator } from './validator.js';

// The README's keySet table: `defaultMaxAgeSec` is the max age "without a usable Cache-Control:
// max-age or Expires"; `minMaxAgeSec` / `maxMaxAgeSec` bound the announced one. A default set outside
// those bounds was accepted and then silently clamped (defaultMaxAgeSec: 30 kept the set 60 s), so
// the option did not do what it said. It is now a TypeError naming it; set within the bounds (or the
// bounds moved with it) it is the max age a real JWKS server without caching headers gets.

let server: Server;
let url: string;
let key: SigningKey;

beforeAll(async () => {
  key = generateSigningKey('ES256');
  server = createServer((_req, res) => {
    // No Cache-Control, no Expires: the default max age applies.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(key)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** The max age the first fetch of the set got, with `keySet`. */
async function fetchedMaxAge(keySet: ValidatorOptions['keySet']): Promise<number | undefined> {
  const events: KeySetEvent[] = [];
  const validator = createValidator({
    issuer: 'https://id.example',
    audience: 'https://api.example',
    jwksUri: url,
    keySet,
    onEvent: (event) => events.push(event),
  });
  try {
    await validator.warm();
  } finally {
    await validator.close();
  }
  const fetched = events.find((event) => event.type === 'fetched');
  return fetched?.type === 'fetched' ? fetched.maxAgeSec : undefined;
}

function rejection(keySet: ValidatorOptions['keySet']): string {
  return typeErrorOf(() =>
    createValidator({ issuer: 'https://id.example', audience: 'https://api.example', jwksUri: url, keySet }),
  );
}

describe('keySet.defaultMaxAgeSec against a JWKS server without caching headers', () => {
  it('is the max age the set gets: 600 by default, or the value given within the bounds', async () => {
    expect(await fetchedMaxAge(undefined)).toBe(600);
    expect(await fetchedMaxAge({ defaultMaxAgeSec: 120 })).toBe(120);
    expect(await fetchedMaxAge({ defaultMaxAgeSec: 30, minMaxAgeSec: 10 })).toBe(30);
  });

  it('refuses a default outside minMaxAgeSec..maxMaxAgeSec instead of clamping it silently', () => {
    expect(rejection({ defaultMaxAgeSec: 30 })).toMatch(
      /invalid option "keySet\.defaultMaxAgeSec": .*keySet\.minMaxAgeSec \(60\)/,
    );
    expect(rejection({ defaultMaxAgeSec: 100_000 })).toMatch(
      /invalid option "keySet\.defaultMaxAgeSec": .*keySet\.maxMaxAgeSec \(86400\)/,
    );
    expect(rejection({ defaultMaxAgeSec: 700, maxMaxAgeSec: 300 })).toMatch(/"keySet\.defaultMaxAgeSec"/);
  });

  it('still lets the bounds alone move the default (what they are for)', async () => {
    expect(await fetchedMaxAge({ maxMaxAgeSec: 300 })).toBe(300);
    expect(await fetchedMaxAge({ minMaxAgeSec: 900 })).toBe(900);
  });

  it('names the bound that was set when the two bounds cross', () => {
    expect(rejection({ maxMaxAgeSec: 30 })).toMatch(
      /invalid option "keySet\.maxMaxAgeSec": is smaller than keySet\.minMaxAgeSec \(60\)/,
    );
    expect(rejection({ minMaxAgeSec: 100_000 })).toMatch(
      /invalid option "keySet\.minMaxAgeSec": is larger than keySet\.maxMaxAgeSec \(86400\)/,
    );
    expect(rejection({ retryMaxSec: 0.5 })).toMatch(
      /invalid option "keySet\.retryMaxSec": is smaller than keySet\.retryMinSec \(1\)/,
    );
    expect(rejection({ retryMinSec: 120 })).toMatch(
      /invalid option "keySet\.retryMinSec": is larger than keySet\.retryMaxSec \(60\)/,
    );
  });
});

describe('introspection.retry bounds', () => {
  const withRetry = (retry: { minSec?: number; maxSec?: number }): string => {
    try {
      createValidator({
        issuer: 'https://id.example',
        audience: 'https://api.example',
        jwksUri: url,
        introspection: { clientId: 'api', clientSecret: 'secret', retry },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return (error as TypeError).message;
    }
    return 'accepted';
  };

  it('names the bound that was set, with the default it crosses', () => {
    expect(withRetry({ maxSec: 0.5 })).toMatch(
      /invalid option "introspection\.retry\.maxSec": is smaller than retry\.minSec \(1\)/,
    );
    expect(withRetry({ minSec: 40 })).toMatch(
      /invalid option "introspection\.retry\.minSec": is larger than retry\.maxSec \(30\)/,
    );
    expect(withRetry({ minSec: 5, maxSec: 2 })).toMatch(/"introspection\.retry\.minSec"/);
    expect(withRetry({ minSec: 5, maxSec: 5 })).toBe('accepted');
  });
});
