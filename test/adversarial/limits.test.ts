/**
 * Every size limit at its edge, with its default and when configured: token length (raw and as an
 * Authorization value), JSON depth of tokens, and the size, key count and depth of key sets and
 * discovery documents. Key-set and discovery limits fail closed as the documented 503.
 */

import {
  DEFAULT_KEY_SET_POLICY,
  type KeySetEvent,
  type Validator,
  type ValidatorOptions,
} from '@tokenguard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwksOf } from '../support/keys.js';
import { AUDIENCE, b64u, claims, expectRejection, ISSUER, signInput, validatorFor } from './forge.js';
import { type JsonServer, startJsonServer } from './jwks-server.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
const headerText = JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: ring.es256.kid });
let server: JsonServer;
const opened: Validator[] = [];
beforeAll(async () => {
  server = await startJsonServer({});
});
afterAll(async () => {
  for (const validator of opened) await validator.close();
  await server.close();
});

function open(options: Partial<ValidatorOptions>): Validator {
  const validator = validatorFor({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: jwksOf(ring.es256),
    ...options,
  } as ValidatorOptions);
  opened.push(validator);
  return validator;
}
function tokenFromPayload(payloadText: string): string {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  return `${input}.${b64u(signInput('ES256', ring.es256.privateKey, input))}`;
}
/** A valid token of exactly `length` characters (padding claim tuned; base64url of 3 bytes is 4 chars). */
function tokenOfLength(length: number): string {
  let pad = 0;
  for (;;) {
    const token = tokenFromPayload(JSON.stringify(claims({ pad: 'x'.repeat(pad) })));
    if (token.length === length) return token;
    if (token.length > length) throw new Error(`cannot hit ${length} exactly`);
    pad += Math.max(1, Math.floor(((length - token.length) * 3) / 4));
  }
}
/** Claims with a member nested so that the whole payload has JSON depth `depth`. */
const payloadOfDepth = (depth: number) =>
  `${JSON.stringify(claims()).slice(0, -1)},"x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('maxTokenLength', () => {
  it('accepts a token of exactly 8192 characters by default and rejects 8193, raw and as a header value', async () => {
    const validator = open({});
    const edge = tokenOfLength(8192);
    expect((await validator.validate(edge)).subject).toBe('user-1');
    expect((await validator.validate(`Bearer ${edge}`)).subject).toBe('user-1');
    // Not every length is reachable (a base64url segment is never 1 mod 4 long): take the first that is.
    const over = [8193, 8194, 8195]
      .map((length) => {
        try {
          return tokenOfLength(length);
        } catch {
          return undefined;
        }
      })
      .find((token) => token !== undefined) as string;
    expect(over.length).toBeLessThanOrEqual(8195);
    await expectRejection(validator.validate(over), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(`Bearer ${over}`), 'ERR_TOKEN_TOO_LARGE');
  });
  it('honours a configured limit', async () => {
    const validator = open({ maxTokenLength: 1024 });
    const small = tokenFromPayload(JSON.stringify(claims()));
    expect(small.length).toBeLessThan(1024);
    expect((await validator.validate(small)).subject).toBe('user-1');
    await expectRejection(validator.validate(tokenOfLength(1200)), 'ERR_TOKEN_TOO_LARGE');
  });
  it('refuses limits outside 64 .. 1 MiB at configuration time', () => {
    for (const maxTokenLength of [63, 1_048_577, 0, -1, 1.5]) {
      expect(() => open({ maxTokenLength })).toThrow(/maxTokenLength/);
    }
  });
  it('refuses an Authorization value longer than maxTokenLength + 256 before parsing it', async () => {
    const validator = open({});
    const edge = tokenOfLength(8192);
    // RFC 6750 allows 1*SP after the scheme: some spacing fits in the allowance...
    expect((await validator.validate(`Bearer ${' '.repeat(200)}${edge}`)).subject).toBe('user-1');
    // ...a value padded beyond it is refused whatever it holds.
    await expectRejection(validator.validate(`Bearer ${' '.repeat(300)}${edge}`), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(`Bearer ${' '.repeat(1 << 20)}x`), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(' '.repeat(1 << 20)), 'ERR_TOKEN_TOO_LARGE');
  });
  it('refuses an oversized token on its size, never on what a parse of it would find', async () => {
    const validator = open({});
    const signature = b64u(Buffer.alloc(64));
    for (const token of [
      `${b64u('{"alg":')}.${'A'.repeat(100_000)}.${signature}`, // header not JSON
      `${b64u('{"alg":"none","crit":["x"],"kid":7}')}.${b64u(JSON.stringify(claims()))}.${'A'.repeat(100_000)}`,
      `${'A'.repeat(100_001)}.${'A'.repeat(4)}.${signature}`, // a 1-mod-4 segment: not base64url
      `${'A'.repeat(100_000)}.${'A'.repeat(8)}.${'A'.repeat(8)}.${'A'.repeat(8)}.${'A'.repeat(8)}`, // JWE shape
      `${'A'.repeat(8300)}.e30.${signature}`, // just over the limit, not over the header allowance
    ]) {
      await expectRejection(validator.validate(token), 'ERR_TOKEN_TOO_LARGE');
      await expectRejection(validator.validate(`Bearer ${token}`), 'ERR_TOKEN_TOO_LARGE');
    }
  });
  it('checks the Bearer syntax of a value within the header allowance first: a token outside it is 400 (SECURITY.md items 1-2)', async () => {
    const validator = open({});
    // Over maxTokenLength, within maxTokenLength + 256: the token is read from the value first.
    await expectRejection(validator.validate(`Bearer ${'!'.repeat(8300)}`), 'ERR_INVALID_REQUEST');
    await expectRejection(validator.validate(`Bearer\t${'A'.repeat(8300)}`), 'ERR_INVALID_REQUEST');
    // Over the allowance: a Bearer value or a bare token is refused on its length whatever it holds.
    await expectRejection(validator.validate(`Bearer ${'!'.repeat(9000)}`), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(`bearer\t${'A'.repeat(9000)}`), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate('!'.repeat(9000)), 'ERR_TOKEN_TOO_LARGE');
    // Another scheme's value is no bearer token, however long (a Kerberos ticket often passes 8 KB).
    await expectRejection(validator.validate(`Basic ${'A'.repeat(9000)}`), 'ERR_TOKEN_MISSING');
    await expectRejection(validator.validate(`Negotiate ${'A'.repeat(12_000)}`), 'ERR_TOKEN_MISSING');
  });
});

describe('maxTokenJsonDepth', () => {
  it('accepts depth 32 by default and rejects 33', async () => {
    const validator = open({});
    expect((await validator.validate(tokenFromPayload(payloadOfDepth(32)))).subject).toBe('user-1');
    await expectRejection(validator.validate(tokenFromPayload(payloadOfDepth(33))), 'ERR_TOKEN_MALFORMED');
  });
  it('honours a configured depth, for the payload and the header', async () => {
    const validator = open({ maxTokenJsonDepth: 3 });
    expect((await validator.validate(tokenFromPayload(payloadOfDepth(3)))).subject).toBe('user-1');
    await expectRejection(validator.validate(tokenFromPayload(payloadOfDepth(4))), 'ERR_TOKEN_MALFORMED');
    const deepHeader = `${headerText.slice(0, -1)},"x":[[[1]]]}`;
    const input = `${b64u(deepHeader)}.${b64u(JSON.stringify(claims()))}`;
    const token = `${input}.${b64u(signInput('ES256', ring.es256.privateKey, input))}`;
    await expectRejection(validator.validate(token), 'ERR_TOKEN_MALFORMED');
  });
  it('refuses depths outside 2 .. 1000 at configuration time', () => {
    for (const maxTokenJsonDepth of [1, 1001, 2.5])
      expect(() => open({ maxTokenJsonDepth })).toThrow(/maxTokenJsonDepth/);
  });
});

describe('key set limits (fail closed: 503 ERR_KEYS_UNAVAILABLE)', () => {
  let route = 0;
  async function remote(document: unknown, keySet: ValidatorOptions['keySet'] = {}) {
    const path = `/limits/${++route}`;
    server.set(path, document);
    const events: KeySetEvent[] = [];
    const validator = validatorFor({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.url(path),
      keySet,
      onEvent: (event) => events.push(event),
    });
    opened.push(validator);
    return { validator, events };
  }
  const token = () => tokenFromPayload(JSON.stringify(claims()));
  async function expectUnavailable(validator: Validator): Promise<void> {
    const error = await validator.validate(token()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
  }
  const padded = (bytes: number) => ({ keys: [ring.es256.publicJwk], pad: 'x'.repeat(bytes) });

  it('documents the defaults', () => {
    expect(DEFAULT_KEY_SET_POLICY).toMatchObject({
      maxResponseBytes: 131_072,
      maxKeys: 100,
      maxJsonDepth: 8,
    });
  });
  it('rejects a key set over maxResponseBytes (default 128 KiB) and accepts one under it', async () => {
    await expectUnavailable((await remote(padded(140_000))).validator);
    const { validator } = await remote(padded(120_000));
    expect((await validator.validate(token())).subject).toBe('user-1');
  });
  it('honours a configured maxResponseBytes', async () => {
    await expectUnavailable((await remote(padded(5_000), { maxResponseBytes: 4_096 })).validator);
    const { validator } = await remote(padded(140_000), { maxResponseBytes: 200_000 });
    expect((await validator.validate(token())).subject).toBe('user-1');
  });
  it('rejects more than maxKeys keys (default 100) and honours a configured value', async () => {
    const many = (count: number) => ({
      keys: Array.from({ length: count }, (_, i) => ({
        ...ring.es256.publicJwk,
        kid: i === 0 ? ring.es256.kid : `k${i}`,
      })),
    });
    await expectUnavailable((await remote(many(101))).validator);
    expect((await (await remote(many(100))).validator.validate(token())).subject).toBe('user-1');
    await expectUnavailable((await remote(many(3), { maxKeys: 2 })).validator);
  });
  it('rejects a key set nested deeper than maxJsonDepth (default 8) and honours a configured value', async () => {
    const nested = (depth: number) => ({
      keys: [{ ...ring.es256.publicJwk, x5c_ext: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) }],
    });
    // keys object (1) > keys array (2) > key (3) > nested arrays (4 ..)
    const { validator, events } = await remote(nested(6));
    await expectUnavailable(validator);
    expect(events.some((event) => event.type === 'fetch_failed')).toBe(true);
    expect((await (await remote(nested(5))).validator.validate(token())).subject).toBe('user-1');
    expect((await (await remote(nested(6), { maxJsonDepth: 9 })).validator.validate(token())).subject).toBe(
      'user-1',
    );
  });
  it('applies the same size and depth limits to the discovery document', async () => {
    const issuerPath = `/tenant-${++route}`;
    const issuer = server.url(issuerPath);
    server.set(`${issuerPath}/.well-known/openid-configuration`, {
      issuer,
      jwks_uri: server.url('/never'),
      pad: 'x'.repeat(140_000),
    });
    const validator = validatorFor({ issuer, audience: AUDIENCE });
    opened.push(validator);
    const input = `${b64u(headerText)}.${b64u(JSON.stringify(claims({ iss: issuer })))}`;
    const error = await validator
      .validate(`${input}.${b64u(signInput('ES256', ring.es256.privateKey, input))}`)
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
    expect(server.count('/never')).toBe(0);
  });
});
