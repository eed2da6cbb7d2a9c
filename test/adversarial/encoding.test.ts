/**
 * Encoding attacks below the claims: non-canonical base64url, duplicate JSON members, `__proto__` and
 * `constructor` members, invalid UTF-8, deep nesting and huge tokens. Every token is signed over the
 * exact bytes under test, so a lenient decoder would let it through: the rejection must come from
 * the strict decoding, not from a broken signature.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { jwksOf } from '../support/keys.js';
import {
  AUDIENCE,
  b64u,
  claims,
  expectRejection,
  forge,
  ISSUER,
  NOW_SEC,
  signInput,
  validatorFor,
} from './forge.js';
import { createKeyring } from './keyring.js';

const ring = createKeyring();
const key = ring.rs256.privateKey;
const validator = validatorFor({ issuer: ISSUER, audience: AUDIENCE, jwks: jwksOf(ring.rs256) });
const roomy = validatorFor({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksOf(ring.rs256),
  maxTokenLength: 1_048_576,
});
afterAll(async () => {
  await validator.close();
  await roomy.close();
});

const header = { alg: 'RS256', typ: 'at+jwt', kid: ring.rs256.kid };
const headerJson = JSON.stringify(header);

/** Signs the exact segments given (already encoded, possibly non-canonically). */
function signSegments(h: string, p: string): string {
  return `${h}.${p}.${b64u(signInput('RS256', key, `${h}.${p}`))}`;
}
/** A token from raw JSON text (or bytes) for header and payload, signed over exactly those bytes. */
function rawToken(headerText: string | Buffer, payloadText: string | Buffer): string {
  return signSegments(b64u(headerText), b64u(payloadText));
}

/** Sets the low bits a canonical encoder leaves at zero in the last character of `segment`. */
function dirtyTrailingBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const remainder = segment.length % 4;
  if (remainder === 0) throw new Error('segment has no trailing bits');
  const value = alphabet.indexOf(segment.at(-1) as string);
  const mask = remainder === 2 ? 0x0f : 0x03;
  return segment.slice(0, -1) + (alphabet[value | mask] as string);
}

describe('non-canonical base64url', () => {
  // A payload whose encoding contains both '-' and '_', so '+' and '/' substitutions are possible.
  const payloadText = JSON.stringify(claims({ note: '\u00fb\u00ff\u00be>>>???~~~' }));
  const h = b64u(headerJson);
  const p = b64u(payloadText);
  const good = signSegments(h, p);
  const s = good.split('.')[2] as string;

  it('control: the canonical token verifies', async () => {
    expect(p).toMatch(/[-_]/);
    expect((await validator.validate(good)).subject).toBe('user-1');
  });
  it('rejects "=" padding on any segment, even when re-signed', async () => {
    await expectRejection(validator.validate(signSegments(`${h}==`, p)), 'ERR_TOKEN_MALFORMED');
    await expectRejection(validator.validate(signSegments(h, `${p}=`)), 'ERR_TOKEN_MALFORMED');
    await expectRejection(validator.validate(`${h}.${p}.${s}==`), 'ERR_TOKEN_MALFORMED');
    await expectRejection(validator.validate(`Bearer ${h}.${p}.${s}==`), 'ERR_TOKEN_MALFORMED');
  });
  it('rejects the standard alphabet (+ and /), even when re-signed', async () => {
    const standard = (text: string) => text.replace(/-/g, '+').replace(/_/g, '/');
    await expectRejection(validator.validate(signSegments(h, standard(p))), 'ERR_TOKEN_MALFORMED');
    const sStandard = standard(s);
    if (sStandard !== s)
      await expectRejection(validator.validate(`${h}.${p}.${sStandard}`), 'ERR_TOKEN_MALFORMED');
    const plain = Buffer.from(payloadText).toString('base64');
    await expectRejection(validator.validate(signSegments(h, plain)), 'ERR_TOKEN_MALFORMED');
  });
  it('rejects whitespace inside any segment, even when re-signed', async () => {
    for (const ws of [' ', '\t', '\n', '\r\n', '\u00a0', '\u2028']) {
      const mid = (text: string) => `${text.slice(0, 8)}${ws}${text.slice(8)}`;
      for (const token of [signSegments(mid(h), p), signSegments(h, mid(p)), `${h}.${p}.${mid(s)}`]) {
        // As a header value: outside the RFC 6750 token grammar (400).
        await expectRejection(validator.validate(`Bearer ${token}`), 'ERR_INVALID_REQUEST');
        // Bare: a value with whitespace is read as an Authorization value of some other scheme.
        await expectRejection(validator.validate(token), 'ERR_TOKEN_MISSING');
      }
    }
  });
  it('rejects non-zero trailing bits (same bytes to a lenient decoder), even when re-signed', async () => {
    const hOdd = b64u(`${headerJson} `); // pick lengths that leave trailing bits
    const hs = [h, hOdd].filter((segment) => segment.length % 4 !== 0);
    expect(hs.length).toBeGreaterThan(0);
    for (const segment of hs) {
      expect(Buffer.from(dirtyTrailingBits(segment), 'base64url')).toEqual(Buffer.from(segment, 'base64url'));
      await expectRejection(
        validator.validate(signSegments(dirtyTrailingBits(segment), p)),
        'ERR_TOKEN_MALFORMED',
      );
    }
    expect(s.length % 4).not.toBe(0);
    await expectRejection(validator.validate(`${h}.${p}.${dirtyTrailingBits(s)}`), 'ERR_TOKEN_MALFORMED');
  });
  it('rejects a segment whose length leaves a single dangling character', async () => {
    await expectRejection(
      validator.validate(
        signSegments(`${h}A`.slice(0, h.length + (h.length % 4 === 0 ? 1 : 4 - (h.length % 4) + 1)), p),
      ),
      'ERR_TOKEN_MALFORMED',
    );
  });
  it('rejects a trailing newline or surrounding spaces on a raw token', async () => {
    for (const candidate of [`${good}\n`, `${good}\r\n`, ` ${good}`, `${good} `, `${good}\u0000`]) {
      await expectRejection(validator.validate(candidate), 'ERR_TOKEN_MALFORMED');
    }
  });
  it('trims the Authorization value as HTTP does (OWS), but never inside the token', async () => {
    // Header values arrive without surrounding whitespace from HTTP parsers; the value form is trimmed too.
    expect((await validator.validate(`Bearer ${good}\n`)).subject).toBe('user-1');
    await expectRejection(validator.validate(`Bearer ${h}.${p}.\n${s}`), 'ERR_INVALID_REQUEST');
  });
  it('rejects characters outside the alphabet, including lookalikes', async () => {
    for (const bad of ['?', '#', '%', '\u0435' /* Cyrillic e */, '\uff41' /* fullwidth a */, '\u{1f600}']) {
      await expectRejection(
        validator.validate(signSegments(h, `${p.slice(0, 4)}${bad}${p.slice(4)}`)),
        'ERR_TOKEN_MALFORMED',
      );
    }
  });
});

describe('duplicate JSON members: the last one wins, and what is checked is what is used', () => {
  const body = (first: string, last: string) => {
    const rest = JSON.stringify(claims()).slice(1);
    return `{${first},${rest.slice(0, -1)},${last}}`;
  };
  it('uses the last alg: none then RS256 verifies as RS256; RS256 then none is refused', async () => {
    const noneFirst = `{"alg":"none",${headerJson.slice(1)}`;
    expect((await validator.validate(rawToken(noneFirst, JSON.stringify(claims())))).subject).toBe('user-1');
    const noneLast = `${headerJson.slice(0, -1)},"alg":"none"}`;
    await expectRejection(
      validator.validate(rawToken(noneLast, JSON.stringify(claims()))),
      'ERR_ALGORITHM_NOT_ALLOWED',
    );
    const hsLast = `${headerJson.slice(0, -1)},"alg":"HS256"}`;
    await expectRejection(
      validator.validate(rawToken(hsLast, JSON.stringify(claims()))),
      'ERR_ALGORITHM_NOT_ALLOWED',
    );
  });
  it('uses the last iss for both the check and the result', async () => {
    const evilLast = body(`"iss":"${ISSUER}"`, '"iss":"https://evil.test"').replace(`"iss":"${ISSUER}",`, '');
    const payloads = {
      evilFirst: `{"iss":"https://evil.test",${JSON.stringify(claims()).slice(1)}`,
      evilLast: `${JSON.stringify(claims()).slice(0, -1)},"iss":"https://evil.test"}`,
    };
    const auth = await validator.validate(rawToken(headerJson, payloads.evilFirst));
    expect(auth.issuer).toBe(ISSUER);
    expect(auth.claims.iss).toBe(ISSUER);
    await expectRejection(validator.validate(rawToken(headerJson, payloads.evilLast)), 'ERR_ISSUER_MISMATCH');
    expect(evilLast).toContain('evil');
  });
  it('uses the last aud, scope and exp', async () => {
    const base = JSON.stringify(claims()).slice(0, -1);
    await expectRejection(
      validator.validate(rawToken(headerJson, `${base},"aud":"https://evil.test"}`)),
      'ERR_AUDIENCE_MISMATCH',
    );
    const audLast = await validator.validate(
      rawToken(headerJson, `{"aud":"https://evil.test",${JSON.stringify(claims()).slice(1)}`),
    );
    expect(audLast.audience).toEqual([AUDIENCE]);
    const scoped = await validator.validate(
      rawToken(headerJson, `{"scope":"admin",${JSON.stringify(claims()).slice(1)}`),
    );
    expect([...scoped.scopes]).toEqual(['orders:read']);
    await expectRejection(
      validator.validate(rawToken(headerJson, `{"scope":"admin",${JSON.stringify(claims()).slice(1)}`), {
        scopes: ['admin'],
      }),
      'ERR_INSUFFICIENT_SCOPE',
    );
    await expectRejection(
      validator.validate(rawToken(headerJson, `${base},"exp":${NOW_SEC - 3600}}`)),
      'ERR_TOKEN_EXPIRED',
    );
  });
  it('uses the last kid', async () => {
    const kidLast = `{"kid":"attacker",${headerJson.slice(1)}`;
    expect((await validator.validate(rawToken(kidLast, JSON.stringify(claims())))).subject).toBe('user-1');
  });
});

describe('__proto__ and constructor members', () => {
  const payload = JSON.stringify(claims()).slice(0, -1);
  const cases: [string, string, string][] = [
    ['a top-level __proto__ claim', headerJson, `${payload},"__proto__":{"admin":true}}`],
    ['a nested __proto__ member', headerJson, `${payload},"ext":{"a":[{"__proto__":{"admin":true}}]}}`],
    [
      'a __proto__ member spelled with a JSON escape',
      headerJson,
      `${payload},"\\u005f_proto__":{"admin":true}}`,
    ],
    [
      'a __proto__ member fully escaped',
      headerJson,
      `${payload},"\\u005f\\u005f\\u0070roto\\u005f\\u005f":{"a":1}}`,
    ],
    ['a __proto__ header parameter', `${headerJson.slice(0, -1)},"__proto__":{"alg":"none"}}`, `${payload}}`],
  ];
  for (const [name, h, p] of cases) {
    it(`rejects ${name}`, async () => {
      await expectRejection(validator.validate(rawToken(h, p)), 'ERR_TOKEN_MALFORMED');
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  }
  it('accepts constructor, prototype and toString claims as plain data without touching prototypes', async () => {
    const p = `${payload},"constructor":{"prototype":{"polluted":true}},"prototype":1,"toString":"x","hasOwnProperty":2,"valueOf":null}`;
    const auth = await validator.validate(rawToken(headerJson, p));
    expect(auth.claims.toString).toBe('x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(JSON.stringify(auth)).toContain('user-1');
  });
});

describe('invalid UTF-8', () => {
  const payload = (bytes: number[]) =>
    Buffer.concat([
      Buffer.from(`${JSON.stringify(claims()).slice(0, -1)},"name":"`),
      Buffer.from(bytes),
      Buffer.from('"}'),
    ]);
  const invalid: [string, number[]][] = [
    ['a lone 0xff byte', [0xff]],
    ['a truncated two-byte sequence', [0xc3]],
    ['an overlong "/"', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a stray continuation byte', [0x80]],
  ];
  for (const [name, bytes] of invalid) {
    it(`rejects ${name} in the payload`, async () => {
      await expectRejection(validator.validate(rawToken(headerJson, payload(bytes))), 'ERR_TOKEN_MALFORMED');
    });
    it(`rejects ${name} in the header`, async () => {
      const h = Buffer.concat([
        Buffer.from(`${headerJson.slice(0, -1)},"x":"`),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      await expectRejection(validator.validate(rawToken(h, JSON.stringify(claims()))), 'ERR_TOKEN_MALFORMED');
    });
  }
  it('rejects a byte-order mark before the JSON', async () => {
    await expectRejection(
      validator.validate(
        rawToken(
          headerJson,
          Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claims()))]),
        ),
      ),
      'ERR_TOKEN_MALFORMED',
    );
  });
  it('accepts valid non-ASCII text, including a genuine U+FFFD', async () => {
    const auth = await validator.validate(
      rawToken(headerJson, JSON.stringify(claims({ name: 'Zo\u00eb \u{1f600} \ufffd' }))),
    );
    expect(auth.claims.name).toBe('Zo\u00eb \u{1f600} \ufffd');
  });
  it('accepts insignificant JSON whitespace in header and payload', async () => {
    const h = JSON.stringify(header, null, '\t');
    const auth = await validator.validate(rawToken(`\n ${h} \r\n`, JSON.stringify(claims(), null, 2)));
    expect(auth.subject).toBe('user-1');
  });
});

describe('size and nesting', () => {
  const deep = (depth: number, open: string, close: string) => `${open.repeat(depth)}${close.repeat(depth)}`;
  it('rejects 4000-deep arrays and objects in the payload, within and beyond the length limit', async () => {
    const arrays = `${JSON.stringify(claims()).slice(0, -1)},"x":${deep(4000, '[', ']')}}`;
    const objects = `${JSON.stringify(claims()).slice(0, -1)},"x":${'{"a":'.repeat(4000)}1${'}'.repeat(4000)}}`;
    for (const text of [arrays, objects]) {
      await expectRejection(validator.validate(rawToken(headerJson, text)), 'ERR_TOKEN_TOO_LARGE');
      await expectRejection(roomy.validate(rawToken(headerJson, text)), 'ERR_TOKEN_MALFORMED');
    }
  });
  it('rejects 4000-deep nesting in the header', async () => {
    const h = `${headerJson.slice(0, -1)},"x":${deep(4000, '[', ']')}}`;
    await expectRejection(roomy.validate(rawToken(h, JSON.stringify(claims()))), 'ERR_TOKEN_MALFORMED');
  });
  it('does not count brackets inside strings as nesting', async () => {
    const auth = await validator.validate(
      rawToken(headerJson, JSON.stringify(claims({ note: '[[[[{{{{\\"'.repeat(100) }))),
    );
    expect(auth.subject).toBe('user-1');
  });
  it('rejects a 1 MB token before decoding it, raw and as a header value', async () => {
    const claimsText = JSON.stringify(claims({ pad: 'x'.repeat(780_000) }));
    const big = rawToken(headerJson, claimsText);
    expect(big.length).toBeGreaterThan(1_000_000);
    await expectRejection(validator.validate(big), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(`Bearer ${big}`), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate('a'.repeat(1 << 20)), 'ERR_TOKEN_TOO_LARGE');
    await expectRejection(validator.validate(`Bearer ${'.'.repeat(1 << 20)}`), 'ERR_TOKEN_TOO_LARGE');
  });
  it('accepts a 1 MB token when the limit is raised to allow it (the limit is the only gate)', async () => {
    const big = rawToken(headerJson, JSON.stringify(claims({ pad: 'x'.repeat(700_000) })));
    expect(big.length).toBeLessThanOrEqual(1_048_576);
    expect((await roomy.validate(big)).subject).toBe('user-1');
  });
});

it('forge sanity: forge() and rawToken() agree', () => {
  expect(forge(header, claims(), key)).toBe(rawToken(headerJson, JSON.stringify(claims())));
});
