/**
 * Differential tests: the validator against jose's `jwtVerify` (jose 6, a dependency of core),
 * configured alike: one issuer, one audience, the same local key set (RS256, PS256, ES256, EdDSA keys
 * made as PEM with node:crypto), `typ` at+jwt, 5 s of clock tolerance, one fixed clock, the same
 * algorithm list, and for jose `requiredClaims: ['exp', 'iss', 'aud']`; no token cache, so every call
 * verifies. Tokens are hand-made (header and payload as exact JSON text or bytes, signed with
 * node:crypto), so nothing passes through either library on the way in.
 *
 * What is on record here (all passing):
 * - the cases where both refuse or both accept (the validator never accepts what jose refuses);
 * - where the validator refuses what jose accepts, on purpose: each case names the RFC section or the
 *   line of SECURITY.md / the README that makes it so, and says whether jose is lax there;
 * - where the validator accepts what jose refuses: jose's clock is the current time floored to a whole
 *   second, jose leaves several matching keys to its caller, and an Ed25519 token is verified with a
 *   JWK whose alg is EdDSA;
 * - two fast-check properties: mutations of valid tokens (only the unmutated token is ever accepted,
 *   and what jose alone accepts is a re-spelling of the same signature bytes), and signed tokens with
 *   random headers and claims (jose accepting and the validator refusing only for a documented reason);
 * - every refusal is a TokenGuardError with status 401, settled within a deadline.
 *
 * The one disagreement the documentation does not account for (an exp, nbf or iat above 8.64e12
 * refused though SECURITY.md only asks for finite non-negative numbers) is numericdate-bound-undocumented.test.ts.
 */
import { constants, createHmac, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { withinDeadline } from '../../../test/support/deadline.js';
import fc, { characterEdits } from '../../../test/support/fast-check.js';
import { generateSigningKey, jwksOf, type SigningKey } from '../../../test/support/keys.js';
import { isTokenGuardError } from './errors.js';
import type { Algorithm } from './lib/algorithms.js';
import type { ValidatorOptions } from './options.js';
import { createValidator, type Validator } from './validator.js';

/** NFC: `é` is U+00E9, so the NFD spelling (`e` U+0301) is another string. */
const ISSUER = 'https://issuer.diff.test/\u00e9metteur';
const AUDIENCE = 'https://api.diff.test';
const NOW_MS = 1_800_000_000_000;
const NOW_SEC = NOW_MS / 1000;
const TOLERANCE_SEC = 5;
const ALGS: Algorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];
type Alg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const DEADLINE_MS = 2_000;

const KEYS: Record<Alg, SigningKey> = {
  RS256: generateSigningKey('RS256', { kid: 'rs' }),
  PS256: generateSigningKey('PS256', { kid: 'ps' }),
  ES256: generateSigningKey('ES256', { kid: 'es' }),
  EdDSA: generateSigningKey('EdDSA', { kid: 'ed' }),
};
const JWKS = jwksOf(KEYS.RS256, KEYS.PS256, KEYS.ES256, KEYS.EdDSA);

const validators: Validator[] = [];
afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
});

/** A pair configured alike: the validator, and jose's `jwtVerify` with the same settings. */
function pair(nowMs = NOW_MS, jwks: { keys: JWK[] } = JWKS) {
  const options: ValidatorOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks,
    typ: ['at+jwt'],
    clockToleranceSec: TOLERANCE_SEC,
    now: () => nowMs,
    tokenCache: false,
    algorithms: ALGS,
  };
  const validator = createValidator(options);
  validators.push(validator);
  const keySet = createLocalJWKSet(jwks);
  const joseOptions = {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    clockTolerance: TOLERANCE_SEC,
    currentDate: new Date(nowMs),
    requiredClaims: ['exp', 'iss', 'aud'],
    algorithms: ALGS,
  };
  return {
    /** 'accepted', or the TokenGuardError's code; anything but a 401 TokenGuardError fails. */
    async tokenguard(token: string): Promise<string> {
      const result = await withinDeadline(
        validator.validate(token).then(
          () => 'accepted' as const,
          (error: unknown) => ({ error }),
        ),
        DEADLINE_MS,
      );
      if (result === 'accepted') return result;
      const { error } = result;
      if (!isTokenGuardError(error)) throw new Error(`not a TokenGuardError: ${String(error)}`);
      if (error.status !== 401) throw new Error(`${error.code} with status ${error.status}, not 401`);
      return error.code;
    },
    /** 'accepted', or jose's error code. */
    async jose(token: string): Promise<string> {
      return withinDeadline(
        jwtVerify(token, keySet, joseOptions).then(
          () => 'accepted',
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        ),
        DEADLINE_MS,
      );
    },
  };
}

const b64u = (data: string | Uint8Array): string => Buffer.from(data as Uint8Array).toString('base64url');
/** A segment: an object is JSON-encoded, a string is the exact JSON text, a Buffer the exact bytes. */
const segment = (part: object | string | Buffer): string =>
  Buffer.isBuffer(part) ? b64u(part) : b64u(typeof part === 'string' ? part : JSON.stringify(part));

function signInput(alg: Alg | 'HS256', key: KeyObject | Buffer, input: string): Buffer {
  const data = Buffer.from(input, 'latin1');
  if (alg === 'HS256')
    return createHmac('sha256', key as Buffer)
      .update(data)
      .digest();
  const privateKey = key as KeyObject;
  if (alg === 'RS256') return sign('sha256', data, privateKey);
  if (alg === 'PS256')
    return sign('sha256', data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  if (alg === 'ES256') return sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return sign(null, data, privateKey);
}

/**
 * A compact JWS of `header` and `payload` (objects, exact JSON text, bytes, or `{ raw }` segments
 * taken as they are), signed as `signAs` with that algorithm's key or `key`.
 */
function forge(
  header: object | string | Buffer | { raw: string },
  payload: object | string | Buffer | { raw: string },
  signAs: Alg | 'HS256' = 'ES256',
  key?: KeyObject | Buffer,
): string {
  const raw = (part: object | string | Buffer | { raw: string }) =>
    typeof part === 'object' && !Buffer.isBuffer(part) && 'raw' in part ? part.raw : segment(part);
  const input = `${raw(header)}.${raw(payload)}`;
  const signingKey = key ?? KEYS[signAs as Alg].privateKey;
  return `${input}.${b64u(signInput(signAs, signingKey, input))}`;
}

/** `{ alg, kid, typ: 'at+jwt' }` for `alg`'s key, with overrides (`undefined` removes a member). */
function header(alg: Alg, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const value: Record<string, unknown> = { alg, kid: KEYS[alg].kid, typ: 'at+jwt', ...overrides };
  for (const [name, member] of Object.entries(value)) if (member === undefined) delete value[name];
  return value;
}

/** Access-token claims valid at NOW, with overrides (`undefined` removes a claim). */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const value: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    client_id: 'client-1',
    jti: 'jti-1',
    iat: NOW_SEC - 10,
    exp: NOW_SEC + 300,
    scope: 'orders:read',
    ...overrides,
  };
  for (const [name, member] of Object.entries(value)) if (member === undefined) delete value[name];
  return value;
}

const HEADER_TEXT = JSON.stringify(header('ES256'));
const PAYLOAD_TEXT = JSON.stringify(claims());
/** The claims as JSON text with `exp` (or `name`, added first) written as `literal`. */
const withLiteral = (name: string, literal: string): string =>
  name === 'exp'
    ? PAYLOAD_TEXT.replace(`"exp":${NOW_SEC + 300}`, `"exp":${literal}`)
    : PAYLOAD_TEXT.replace('{', `{"${name}":${literal},`);
const pad = (text: string): string => text + '='.repeat((4 - (text.length % 4)) % 4);

const main = pair();

describe('both accept', () => {
  const cases: [string, string][] = [
    ...ALGS.map((alg): [string, string] => [
      `a valid ${alg} token`,
      forge(header(alg as Alg), claims(), alg as Alg),
    ]),
    // RFC 9068 §4 and RFC 7515 §4.1.9: typ compared case-insensitively, application/ optional.
    ['typ AT+JWT', forge(header('ES256', { typ: 'AT+JWT' }), claims())],
    ['typ application/at+jwt', forge(header('ES256', { typ: 'application/at+jwt' }), claims())],
    ['typ APPLICATION/AT+JWT', forge(header('ES256', { typ: 'APPLICATION/AT+JWT' }), claims())],
    // RFC 7515 §4.1.4: kid is optional; the key is found by alg.
    ['no kid', forge(header('ES256', { kid: undefined }), claims())],
    // RFC 7519 §2: a NumericDate may be fractional, in exponent form; -0 is 0.
    ['exp fractional', forge(header('ES256'), claims({ exp: NOW_SEC + 300.5 }))],
    ['exp in exponent form', forge(header('ES256'), withLiteral('exp', '1.8000003e9'))],
    ['nbf -0', forge(header('ES256'), withLiteral('nbf', '-0'))],
    ['exp 8.64e12 (the largest a Date holds)', forge(header('ES256'), claims({ exp: 8.64e12 }))],
    // Edges of the 5 s tolerance (RFC 7519 §4.1.4, §4.1.5: "some small leeway").
    ['exp 4 s ago', forge(header('ES256'), claims({ exp: NOW_SEC - 4 }))],
    ['nbf 5 s ahead', forge(header('ES256'), claims({ nbf: NOW_SEC + 5 }))],
    ['aud a list with ours twice', forge(header('ES256'), claims({ aud: [AUDIENCE, AUDIENCE] }))],
    // SECURITY.md, documented behaviours: duplicate members, the last one wins (RFC 7515 §4, RFC 8259 §4).
    ['duplicate alg, last ES256', forge(`{"alg":"none","alg":"ES256","kid":"es","typ":"at+jwt"}`, claims())],
    [
      'duplicate iss, last ours',
      forge(header('ES256'), PAYLOAD_TEXT.replace('{', '{"iss":"https://evil.test",')),
    ],
    // SECURITY.md item 5: jwk, jku, x5u are never read (so they neither help nor hurt).
    [
      'jku, x5u and jwk in the header',
      forge(
        header('ES256', { jku: 'https://evil.test/jwks', x5u: 'https://evil.test/x', jwk: { kty: 'EC' } }),
        claims(),
      ),
    ],
    ['an unknown header member', forge(header('ES256', { foo: { bar: 1 } }), claims())],
    ['a constructor claim', forge(header('ES256'), PAYLOAD_TEXT.replace('{', '{"constructor":{"x":1},'))],
    ['whitespace around the JSON', forge(` ${HEADER_TEXT}\n`, `\t${PAYLOAD_TEXT} `)],
    // JSON allows an escaped lone surrogate (RFC 8259 §8.2: unpredictable, not invalid).
    [
      'an escaped lone surrogate in sub',
      forge(header('ES256'), PAYLOAD_TEXT.replace('user-1', 'user-\\ud800')),
    ],
    // RFC 7800 §3.1: no cnf member, nothing to prove.
    ['cnf null', forge(header('ES256'), claims({ cnf: null }))],
  ];
  for (const [name, token] of cases) {
    it(name, async () => {
      expect(await main.jose(token)).toBe('accepted');
      expect(await main.tokenguard(token)).toBe('accepted');
    });
  }
  it('an ECDSA signature with s replaced by n - s (SECURITY.md: JOSE does not require low-S)', async () => {
    const input = `${segment(header('ES256'))}.${segment(claims())}`;
    const raw = signInput('ES256', KEYS.ES256.privateKey, input);
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const flipped = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
    const token = `${input}.${b64u(Buffer.concat([raw.subarray(0, 32), flipped]))}`;
    expect(await main.jose(token)).toBe('accepted');
    expect(await main.tokenguard(token)).toBe('accepted');
  });
});

/**
 * A valid ES256 token whose signature holds a `-` or `_`, so that its standard-alphabet spelling is
 * another string (ECDSA signs afresh each time: about one signature in fifteen has neither).
 */
function validWithUrlSafeSignature(): string {
  for (let attempt = 0; attempt < 200; attempt++) {
    const token = forge(header('ES256'), claims());
    if (/[-_]/.test(token.slice(token.lastIndexOf('.') + 1))) return token;
  }
  throw new Error('no ES256 signature with - or _ in 200 attempts');
}

describe('both refuse (the validator never accepts what jose refuses)', () => {
  const valid = validWithUrlSafeSignature();
  const [h, p, s] = valid.split('.') as [string, string, string];
  const rsaPem = createPublicKey(KEYS.RS256.privateKey).export({ type: 'spki', format: 'pem' });
  const cases: [string, string, string][] = [
    // Claim types: RFC 7519 §4.1.4-4.1.6 NumericDate, §4.1.1 iss, §4.1.3 aud.
    ...(
      [
        ['exp', 'a string', String(NOW_SEC + 300)],
        ['exp', 'true', true],
        ['exp', 'null', null],
        ['exp', 'a list', [NOW_SEC + 300]],
        ['exp', 'an object', {}],
        ['nbf', 'a string', String(NOW_SEC)],
        ['nbf', 'false', false],
        ['nbf', 'null', null],
        ['iat', 'a string', String(NOW_SEC)],
        ['iat', 'null', null],
        ['iat', 'true', true],
      ] as [string, string, unknown][]
    ).map(([name, what, value]): [string, string, string] => [
      `${name} ${what}`,
      forge(header('ES256'), claims({ [name]: value })),
      'ERR_CLAIM_INVALID',
    ]),
    ['exp absent', forge(header('ES256'), claims({ exp: undefined })), 'ERR_CLAIM_MISSING'],
    ['exp -1 (RFC 7519 §4.1.4)', forge(header('ES256'), claims({ exp: -1 })), 'ERR_CLAIM_INVALID'],
    ['exp -0', forge(header('ES256'), withLiteral('exp', '-0')), 'ERR_TOKEN_EXPIRED'],
    ['exp exactly tolerance ago', forge(header('ES256'), claims({ exp: NOW_SEC - 5 })), 'ERR_TOKEN_EXPIRED'],
    ['nbf 5.5 s ahead', forge(header('ES256'), claims({ nbf: NOW_SEC + 5.5 })), 'ERR_TOKEN_NOT_YET_VALID'],
    ['aud an empty list', forge(header('ES256'), claims({ aud: [] })), 'ERR_AUDIENCE_MISMATCH'],
    ['aud empty', forge(header('ES256'), claims({ aud: '' })), 'ERR_AUDIENCE_MISMATCH'],
    [
      'aud with a trailing slash',
      forge(header('ES256'), claims({ aud: `${AUDIENCE}/` })),
      'ERR_AUDIENCE_MISMATCH',
    ],
    [
      'aud upper case',
      forge(header('ES256'), claims({ aud: AUDIENCE.toUpperCase() })),
      'ERR_AUDIENCE_MISMATCH',
    ],
    ['aud with a NUL', forge(header('ES256'), claims({ aud: `${AUDIENCE}\u0000` })), 'ERR_AUDIENCE_MISMATCH'],
    ['aud an object', forge(header('ES256'), claims({ aud: { a: AUDIENCE } })), 'ERR_CLAIM_INVALID'],
    ['aud nested in a list', forge(header('ES256'), claims({ aud: [[AUDIENCE]] })), 'ERR_CLAIM_INVALID'],
    ['aud null', forge(header('ES256'), claims({ aud: null })), 'ERR_CLAIM_INVALID'],
    // RFC 7519 §4.1.1 and RFC 9068 §4: iss compared exactly, with no whitespace or Unicode folding.
    [
      'iss with a leading space',
      forge(header('ES256'), claims({ iss: ` ${ISSUER}` })),
      'ERR_ISSUER_MISMATCH',
    ],
    [
      'iss with a trailing slash',
      forge(header('ES256'), claims({ iss: `${ISSUER}/` })),
      'ERR_ISSUER_MISMATCH',
    ],
    ['iss with a BOM', forge(header('ES256'), claims({ iss: `\ufeff${ISSUER}` })), 'ERR_ISSUER_MISMATCH'],
    ['iss in NFD', forge(header('ES256'), claims({ iss: ISSUER.normalize('NFD') })), 'ERR_ISSUER_MISMATCH'],
    [
      'iss in NFKC-equivalent fullwidth',
      forge(header('ES256'), claims({ iss: ISSUER.replace('test', '\uff54est') })),
      'ERR_ISSUER_MISMATCH',
    ],
    [
      'duplicate iss, last not ours',
      forge(header('ES256'), PAYLOAD_TEXT.replace('}', ',"iss":"https://evil.test"}')),
      'ERR_ISSUER_MISMATCH',
    ],
    // README: a non-string iss is ERR_CLAIM_MISSING (pinned in test/adversarial/claims.test.ts).
    ['iss a list', forge(header('ES256'), claims({ iss: [ISSUER] })), 'ERR_CLAIM_MISSING'],
    ['iss absent', forge(header('ES256'), claims({ iss: undefined })), 'ERR_CLAIM_MISSING'],
    // RFC 9068 §4 / RFC 8725 §3.11: typ at+jwt exactly, as a media type.
    ...(
      [
        ['at+jwt; charset=x', 'at+jwt; charset=x'],
        ['with a leading space', ' at+jwt'],
        ['JWT', 'JWT'],
        ['absent', undefined],
        ['a list', ['at+jwt']],
        ['application/application/at+jwt', 'application/application/at+jwt'],
        ['x/at+jwt', 'x/at+jwt'],
        ['empty', ''],
      ] as [string, unknown][]
    ).map(([what, typ]): [string, string, string] => [
      `typ ${what}`,
      forge(header('ES256', { typ }), claims()),
      'ERR_TYPE_MISMATCH',
    ]),
    [
      'duplicate typ, last JWT',
      forge(`{"alg":"ES256","typ":"at+jwt","kid":"es","typ":"JWT"}`, claims()),
      'ERR_TYPE_MISMATCH',
    ],
    // RFC 7515 §4.1.11: crit must be a non-empty list of understood extensions.
    ['crit unknown', forge(header('ES256', { crit: ['exp'], exp: 1 }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['crit empty', forge(header('ES256', { crit: [] }), claims()), 'ERR_TOKEN_MALFORMED'],
    [
      'crit naming an absent member',
      forge(header('ES256', { crit: ['foo'] }), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // RFC 7797 §6 / jose: "JWTs MUST NOT use unencoded payload".
    [
      'b64 false under crit',
      forge(header('ES256', { crit: ['b64'], b64: false }), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // kid of other types: no key (jose), malformed (SECURITY.md item 5).
    ['kid a number', forge(header('ES256', { kid: 1 }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['kid null', forge(header('ES256', { kid: null }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['kid an object', forge(header('ES256', { kid: {} }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['kid unknown', forge(header('ES256', { kid: 'nope' }), claims()), 'ERR_KEY_NOT_FOUND'],
    [
      'kid of 300 characters',
      forge(header('ES256', { kid: 'k'.repeat(300) }), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // RFC 8725 §3.1 and §2.1: alg from the allow-list only, case-sensitive (RFC 7515 §4.1.1); no none.
    ...['es256', 'Es256', 'ES256 ', 'none', 'NONE', 'ES384', 'HS256', 'Ed25519', ''].map(
      (alg): [string, string, string] => [
        `alg ${JSON.stringify(alg)}`,
        forge({ alg, kid: 'es', typ: 'at+jwt' }, claims()),
        'ERR_ALGORITHM_NOT_ALLOWED',
      ],
    ),
    [
      'alg none with an empty signature',
      `${segment({ alg: 'none', typ: 'at+jwt' })}.${segment(claims())}.`,
      'ERR_TOKEN_MALFORMED',
    ],
    // RFC 8725 §2.1 / §3.1: the RSA public key as an HMAC secret.
    [
      'HS256 keyed with the RSA public key',
      forge({ alg: 'HS256', typ: 'at+jwt', kid: 'rs' }, claims(), 'HS256', Buffer.from(rsaPem)),
      'ERR_ALGORITHM_NOT_ALLOWED',
    ],
    [
      'HS256 keyed with the RSA public key, no kid',
      forge({ alg: 'HS256', typ: 'at+jwt' }, claims(), 'HS256', Buffer.from(rsaPem)),
      'ERR_ALGORITHM_NOT_ALLOWED',
    ],
    // SECURITY.md item 9: a JWK's alg must be the token's (RFC 7517 §4.4).
    [
      'RS256 with the PS256 key',
      forge({ alg: 'RS256', kid: 'ps', typ: 'at+jwt' }, claims(), 'RS256', KEYS.PS256.privateKey),
      'ERR_KEY_NOT_FOUND',
    ],
    [
      'PS256 with the RS256 key',
      forge({ alg: 'PS256', kid: 'rs', typ: 'at+jwt' }, claims(), 'PS256', KEYS.RS256.privateKey),
      'ERR_KEY_NOT_FOUND',
    ],
    [
      'ES256 naming the RSA key',
      forge({ alg: 'ES256', kid: 'rs', typ: 'at+jwt' }, claims()),
      'ERR_KEY_NOT_FOUND',
    ],
    [
      'PS256 header, RS256 signature',
      forge(header('PS256'), claims(), 'RS256', KEYS.PS256.privateKey),
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'RS256 header, PS256 signature',
      forge(header('RS256'), claims(), 'PS256', KEYS.RS256.privateKey),
      'ERR_SIGNATURE_INVALID',
    ],
    // RFC 7519 §7.2 step 9 / RFC 8259 §2: header and claims must be JSON objects, valid UTF-8 (RFC 8259 §8.1).
    ['payload a list', forge(header('ES256'), `[${PAYLOAD_TEXT}]`), 'ERR_TOKEN_MALFORMED'],
    ['payload a number', forge(header('ES256'), '42'), 'ERR_TOKEN_MALFORMED'],
    ['payload null', forge(header('ES256'), 'null'), 'ERR_TOKEN_MALFORMED'],
    ['payload a string', forge(header('ES256'), '"x"'), 'ERR_TOKEN_MALFORMED'],
    ['header a list', forge(`[${HEADER_TEXT}]`, claims()), 'ERR_TOKEN_MALFORMED'],
    ['payload UTF-16LE', forge(header('ES256'), Buffer.from(PAYLOAD_TEXT, 'utf16le')), 'ERR_TOKEN_MALFORMED'],
    [
      'payload UTF-16LE with BOM',
      forge(
        header('ES256'),
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PAYLOAD_TEXT, 'utf16le')]),
      ),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'payload with 0xff in sub',
      forge(header('ES256'), bytesWith(PAYLOAD_TEXT, 'user-1', [0xff])),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'payload with a UTF-8-encoded surrogate',
      forge(header('ES256'), bytesWith(PAYLOAD_TEXT, 'user-1', [0xed, 0xa0, 0x80])),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'payload with an overlong UTF-8 a',
      forge(header('ES256'), bytesWith(PAYLOAD_TEXT, 'user-1', [0xc1, 0xa1])),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'header with a stray 0xc0',
      forge(bytesWith(HEADER_TEXT, 'at+jwt', [0xc0]), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    ['payload with a NUL after it', forge(header('ES256'), `${PAYLOAD_TEXT}\u0000`), 'ERR_TOKEN_MALFORMED'],
    // RFC 7515 §7.1: three segments, base64url (no standard alphabet: jose 6 checks it too).
    ['a trailing dot', `${valid}.`, 'ERR_TOKEN_NOT_JWT'],
    ['a fourth segment', `${valid}.AAAA`, 'ERR_TOKEN_NOT_JWT'],
    ['an empty header', `.${p}.${s}`, 'ERR_TOKEN_NOT_JWT'],
    ['an empty payload', `${h}..${s}`, 'ERR_TOKEN_NOT_JWT'],
    ['an empty signature', `${h}.${p}.`, 'ERR_TOKEN_MALFORMED'],
    ['a leading space', ` ${valid}`, 'ERR_TOKEN_MALFORMED'],
    [
      'the signature in the standard alphabet',
      `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64').replace(/=+$/, '')}`,
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'the payload signed in the standard alphabet',
      forge(
        { raw: h },
        {
          raw: Buffer.from(JSON.stringify(claims({ sub: '>>>???' })))
            .toString('base64')
            .replace(/=+$/, ''),
        },
      ),
      'ERR_TOKEN_MALFORMED',
    ],
    // RFC 7518 §3.4: ECDSA signatures are R || S, 64 bytes for ES256; DER is not JWS.
    [
      'ES256 signature in DER',
      `${h}.${p}.${b64u(sign('sha256', Buffer.from(`${h}.${p}`), { key: KEYS.ES256.privateKey, dsaEncoding: 'der' }))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'ES256 signature with a 00 appended',
      `${h}.${p}.${b64u(Buffer.concat([Buffer.from(s, 'base64url'), Buffer.alloc(1)]))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    ['ES256 signature r = s = 0', `${h}.${p}.${b64u(Buffer.alloc(64))}`, 'ERR_SIGNATURE_INVALID'],
    ...rsaSignatureCases(),
    ...ed25519SignatureCases(),
  ];
  for (const [name, token, code] of cases) {
    it(`${name}: ${code}`, async () => {
      expect(await main.jose(token)).not.toBe('accepted');
      expect(await main.tokenguard(token)).toBe(code);
    });
  }
});

/** `text` as UTF-8 bytes, with the first byte of `at`'s first occurrence replaced by `bytes`. */
function bytesWith(text: string, at: string, bytes: number[]): Buffer {
  const whole = Buffer.from(text, 'utf8');
  const index = whole.indexOf(at);
  return Buffer.concat([whole.subarray(0, index), Buffer.from(bytes), whole.subarray(index + 1)]);
}

/** RFC 8017 §8.2.2 step 1: an RS256 signature is exactly k bytes and below n. */
function rsaSignatureCases(): [string, string, string][] {
  const input = `${segment(header('RS256'))}.${segment(claims())}`;
  const signature = signInput('RS256', KEYS.RS256.privateKey, input);
  const n = BigInt(
    `0x${Buffer.from((KEYS.RS256.publicJwk as { n: string }).n, 'base64url').toString('hex')}`,
  );
  const plusN = BigInt(`0x${signature.toString('hex')}`) + n;
  const zero = leadingZeroSignature('RS256');
  return [
    [
      'RS256 signature with 00 prepended',
      `${input}.${b64u(Buffer.concat([Buffer.alloc(1), signature]))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'RS256 signature with its first byte cut',
      `${input}.${b64u(signature.subarray(1))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'RS256 signature + n (k + 1 bytes)',
      `${input}.${b64u(Buffer.from(plusN.toString(16).padStart(514, '0'), 'hex'))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'RS256 signature whose leading 00 is dropped',
      `${zero.input}.${b64u(zero.signature.subarray(1))}`,
      'ERR_SIGNATURE_INVALID',
    ],
  ];
}

/** RFC 8032 §5.1.7: S must be below L (OpenSSL refuses S + L). */
function ed25519SignatureCases(): [string, string, string][] {
  const input = `${segment(header('EdDSA'))}.${segment(claims())}`;
  const signature = signInput('EdDSA', KEYS.EdDSA.privateKey, input);
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + L;
  const sPlusL = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return [
    [
      'Ed25519 signature with S + L',
      `${input}.${b64u(Buffer.concat([signature.subarray(0, 32), sPlusL]))}`,
      'ERR_SIGNATURE_INVALID',
    ],
    [
      'Ed25519 signature with a 00 appended',
      `${input}.${b64u(Buffer.concat([signature, Buffer.alloc(1)]))}`,
      'ERR_SIGNATURE_INVALID',
    ],
  ];
}

/** A genuine RS256 or PS256 token whose signature's first byte is zero (about one in 256), as parts. */
function leadingZeroSignature(alg: 'RS256' | 'PS256'): { input: string; signature: Buffer } {
  const payload = segment(claims());
  for (let attempt = 0; ; attempt++) {
    const input = `${segment(header(alg, { attempt }))}.${payload}`;
    const signature = signInput(alg, KEYS[alg].privateKey, input);
    if (signature[0] === 0) return { input, signature };
  }
}

describe('the validator refuses, jose accepts', () => {
  const valid = forge(header('ES256'), claims());
  const [h, p, s] = valid.split('.') as [string, string, string];
  /** The last character of a segment with one of its unused low bits set. */
  const withTrailingBits = (text: string): string => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(text.at(-1) as string);
    return text.slice(0, -1) + alphabet[last | 1];
  };
  const refusals: [string, string, string][] = [
    // jose lax, tokens that would never expire: RFC 7519 §4.1.4 and RFC 9068 §4 (exp MUST be checked);
    // 1e400 parses as Infinity. SECURITY.md item 11 ("1e400 is ERR_CLAIM_INVALID").
    ['exp 1e400 (Infinity)', forge(header('ES256'), withLiteral('exp', '1e400')), 'ERR_CLAIM_INVALID'],
    ['nbf -1e400 (-Infinity)', forge(header('ES256'), withLiteral('nbf', '-1e400')), 'ERR_CLAIM_INVALID'],
    // Deliberately stricter: SECURITY.md item 11, NumericDates are non-negative (RFC 7519 §2 does not
    // forbid dates before 1970; no issuer mints them).
    ['nbf -1', forge(header('ES256'), claims({ nbf: -1 })), 'ERR_CLAIM_INVALID'],
    ['iat -1', forge(header('ES256'), claims({ iat: -1 })), 'ERR_CLAIM_INVALID'],
    // Deliberately stricter: a NumericDate a Date can hold (validator.test.ts, rules-claims.test.ts),
    // which SECURITY.md does not say (numericdate-bound-undocumented.test.ts).
    ['exp 1e13', forge(header('ES256'), claims({ exp: 1e13 })), 'ERR_CLAIM_INVALID'],
    [
      'exp 1.8e25 as a JSON integer',
      forge(header('ES256'), withLiteral('exp', '18000003000000000000000000')),
      'ERR_CLAIM_INVALID',
    ],
    ['iat 1e20', forge(header('ES256'), claims({ iat: 1e20 })), 'ERR_CLAIM_INVALID'],
    // Deliberately stricter: the README's ERR_TOKEN_NOT_YET_VALID covers iat in the future beyond the
    // tolerance; RFC 7519 §4.1.6 asks nothing of iat, and jose checks it only with maxTokenAge.
    ['iat 60 s ahead', forge(header('ES256'), claims({ iat: NOW_SEC + 60 })), 'ERR_TOKEN_NOT_YET_VALID'],
    // jose lax: RFC 7519 §4.1.3, aud is a string or an array of strings; jose ignores other members.
    ['aud a list with a number', forge(header('ES256'), claims({ aud: [AUDIENCE, 1] })), 'ERR_CLAIM_INVALID'],
    ['aud a list with null', forge(header('ES256'), claims({ aud: [AUDIENCE, null] })), 'ERR_CLAIM_INVALID'],
    [
      'aud a list with an object',
      forge(header('ES256'), claims({ aud: [AUDIENCE, {}] })),
      'ERR_CLAIM_INVALID',
    ],
    // jose lax: RFC 7519 §4.1.2 sub and §4.1.7 jti are strings; RFC 9068 §2.2 client_id (RFC 8693 §4.3)
    // too. SECURITY.md item 11.
    ['sub a number', forge(header('ES256'), claims({ sub: 1 })), 'ERR_CLAIM_INVALID'],
    ['sub null', forge(header('ES256'), claims({ sub: null })), 'ERR_CLAIM_INVALID'],
    ['jti a number', forge(header('ES256'), claims({ jti: 7 })), 'ERR_CLAIM_INVALID'],
    ['client_id a list', forge(header('ES256'), claims({ client_id: ['x'] })), 'ERR_CLAIM_INVALID'],
    // Deliberately stricter: RFC 9449 §7.1 and RFC 8705 §3, a bound token is not a bearer token
    // (SECURITY.md item 11, README acceptBoundTokens). jose knows nothing of cnf.
    [
      'cnf jkt, as a bearer token',
      forge(header('ES256'), claims({ cnf: { jkt: 'abc' } })),
      'ERR_TOKEN_BOUND',
    ],
    // Deliberately stricter: SECURITY.md item 5. RFC 7515 §4.1.11 lets a recipient refuse crit; b64
    // (RFC 7797 §3) is meaningless without crit and a JWT never unencoded (RFC 7797 §7); zip and enc
    // are JWE parameters (RFC 7516 §4.1.2-4.1.3).
    [
      'crit b64, b64 true',
      forge(header('ES256', { crit: ['b64'], b64: true }), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    ['b64 false without crit', forge(header('ES256', { b64: false }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['b64 true without crit', forge(header('ES256', { b64: true }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['zip DEF', forge(header('ES256', { zip: 'DEF' }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['enc A128GCM', forge(header('ES256', { enc: 'A128GCM' }), claims()), 'ERR_TOKEN_MALFORMED'],
    // jose lax: RFC 7519 §5.2 and §7.2 step 8, cty JWT says the payload is a nested JWT, not claims
    // (any case, application/ optional: RFC 7515 §4.1.10). SECURITY.md item 5.
    ['cty JWT', forge(header('ES256', { cty: 'JWT' }), claims()), 'ERR_TOKEN_MALFORMED'],
    ['cty jwt', forge(header('ES256', { cty: 'jwt' }), claims()), 'ERR_TOKEN_MALFORMED'],
    [
      'cty application/jwt',
      forge(header('ES256', { cty: 'application/jwt' }), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // Deliberately stricter: SECURITY.md item 4, no __proto__ member at any depth, however spelled.
    [
      '__proto__ in the payload',
      forge(header('ES256'), PAYLOAD_TEXT.replace('{', '{"__proto__":{"x":1},')),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      '__proto__ escaped in the payload',
      forge(header('ES256'), PAYLOAD_TEXT.replace('{', '{"\\u005f_proto__":{"x":1},')),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      '__proto__ in the header',
      forge(HEADER_TEXT.replace('{', '{"__proto__":{"alg":"none"},'), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      '__proto__ a number in the header',
      forge(HEADER_TEXT.replace('{', '{"__proto__":1,'), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // Deliberately stricter: RFC 8259 §8.1, JSON text MUST NOT begin with a BOM (a parser MAY ignore
    // one; jose's TextDecoder strips it). SECURITY.md item 4, valid UTF-8 JSON objects.
    [
      'payload with a BOM',
      forge(header('ES256'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PAYLOAD_TEXT)])),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'header with a BOM',
      forge(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER_TEXT)]), claims()),
      'ERR_TOKEN_MALFORMED',
    ],
    // Limits (SECURITY.md, Limits and their defaults): JSON depth 32, 8192 characters.
    [
      'payload nested 41 deep',
      forge(header('ES256'), PAYLOAD_TEXT.replace('{', `{"deep":${'['.repeat(40)}${']'.repeat(40)},`)),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a token of over 8192 characters',
      forge(header('ES256'), claims({ pad: 'x'.repeat(7000) })),
      'ERR_TOKEN_TOO_LARGE',
    ],
    // jose lax: RFC 7515 §2 and §7.1, base64url without padding, unpadded segments; a token with `=`,
    // stray low bits or whitespace in its signature is another string with the same signature bytes
    // (a second cache or replay key). SECURITY.md item 4: canonical unpadded base64url only.
    ['the signature padded with =', `${h}.${p}.${pad(s)}`, 'ERR_TOKEN_MALFORMED'],
    ['the signature with its unused low bits set', `${h}.${p}.${withTrailingBits(s)}`, 'ERR_TOKEN_MALFORMED'],
    ['a space in the signature', `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`, 'ERR_TOKEN_MISSING'],
    ['a tab in the signature', `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`, 'ERR_TOKEN_MISSING'],
    ['a newline in the signature', `${h}.${p}.${s.slice(0, 10)}\n${s.slice(10)}`, 'ERR_TOKEN_MISSING'],
    ['a trailing space', `${valid} `, 'ERR_TOKEN_MALFORMED'],
    ['a trailing newline', `${valid}\n`, 'ERR_TOKEN_MALFORMED'],
    // The same for segments the issuer signed that way: RFC 7515 §3.1 BASE64URL, no padding or stray bits.
    ['the header signed padded', forge({ raw: pad(h) }, { raw: p }), 'ERR_TOKEN_MALFORMED'],
    [
      'the payload signed with stray low bits',
      forge({ raw: h }, { raw: withTrailingBits(segment(claims({ x: 'ab' }))) }),
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'the payload signed with a space in it',
      forge({ raw: h }, { raw: `${p.slice(0, 8)} ${p.slice(8)}` }),
      'ERR_TOKEN_MISSING',
    ],
  ];
  for (const [name, token, code] of refusals) {
    it(`${name}: ${code}`, async () => {
      expect(await main.jose(token)).toBe('accepted');
      expect(await main.tokenguard(token)).toBe(code);
    });
  }
  it('a PS256 signature whose leading 00 is dropped (jose lax: RFC 8017 §8.1.2 step 1, length k)', async () => {
    const { input, signature } = leadingZeroSignature('PS256');
    expect(await main.tokenguard(`${input}.${b64u(signature)}`)).toBe('accepted');
    const shortened = `${input}.${b64u(signature.subarray(1))}`;
    expect(await main.jose(shortened)).toBe('accepted');
    expect(await main.tokenguard(shortened)).toBe('ERR_SIGNATURE_INVALID');
  });
  it('a token whose exp passed 0.3 s beyond the tolerance (jose lax: it floors the clock; RFC 7519 §4.1.4)', async () => {
    // At NOW + 0.5 s, exp NOW - 4.7 ended at NOW + 0.3 s with the 5 s tolerance; jose reads the
    // clock as NOW and so sees it still valid for 0.3 s more.
    const late = pair(NOW_MS + 500);
    for (const exp of [NOW_SEC - 4.7, NOW_SEC - 4.5]) {
      const token = forge(header('ES256'), claims({ exp }));
      expect(await late.jose(token)).toBe('accepted');
      expect(await late.tokenguard(token)).toBe('ERR_TOKEN_EXPIRED');
    }
    const token = forge(header('ES256'), claims({ exp: NOW_SEC - 4.4 }));
    expect(await late.jose(token)).toBe('accepted');
    expect(await late.tokenguard(token)).toBe('accepted');
  });
});

describe('the validator accepts, jose refuses', () => {
  it('nbf within the tolerance of a clock between whole seconds (jose floors the clock; RFC 7519 §4.1.5)', async () => {
    // At NOW + 0.5 s with 5 s of leeway, nbf NOW + 5.3 s is already reached; jose reads NOW.
    const late = pair(NOW_MS + 500);
    for (const nbf of [NOW_SEC + 5.3, NOW_SEC + 5.5]) {
      const token = forge(header('ES256'), claims({ nbf }));
      expect(await late.jose(token)).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
      expect(await late.tokenguard(token)).toBe('accepted');
    }
    const token = forge(header('ES256'), claims({ nbf: NOW_SEC + 5.6 }));
    expect(await late.jose(token)).not.toBe('accepted');
    expect(await late.tokenguard(token)).toBe('ERR_TOKEN_NOT_YET_VALID');
  });
  it('a token without kid when two keys fit its alg (SECURITY.md: every candidate is tried)', async () => {
    // RFC 7515 §4.1.4: kid is a hint, optional. jose's local key set answers several matching keys
    // with JWKSMultipleMatchingKeys and leaves trying them to its caller; jwtVerify does not.
    const second = generateSigningKey('ES256', { kid: 'es-2' });
    const twoKeys = pair(NOW_MS, {
      keys: [
        { ...KEYS.ES256.publicJwk, kid: undefined },
        { ...second.publicJwk, kid: undefined },
      ],
    });
    for (const key of [KEYS.ES256, second]) {
      const token = forge(header('ES256', { kid: undefined }), claims(), 'ES256', key.privateKey);
      expect(await twoKeys.jose(token)).toBe('ERR_JWKS_MULTIPLE_MATCHING_KEYS');
      expect(await twoKeys.tokenguard(token)).toBe('accepted');
    }
  });
  it('an Ed25519 token verified with a JWK whose alg is EdDSA (keys.test.ts: EdDSA covers the same keys)', async () => {
    // RFC 9864 §2.2: Ed25519 is EdDSA on the Ed25519 curve, the JWK's own crv; the same key, the
    // same operation. jose holds the JWK's alg to the token's exactly (RFC 7517 §4.4 says what a
    // key is intended for). SECURITY.md item 9 ("its alg, if present, is the token's alg") does not
    // name this one exception. The reverse (an EdDSA token, a JWK for Ed25519) is refused by both.
    const ed = KEYS.EdDSA;
    const options: ValidatorOptions = {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [{ ...ed.publicJwk, alg: 'EdDSA' }] },
      now: () => NOW_MS,
      tokenCache: false,
      algorithms: ['Ed25519', 'EdDSA'],
    };
    const validator = createValidator(options);
    validators.push(validator);
    const keySet = createLocalJWKSet({ keys: [{ ...ed.publicJwk, alg: 'EdDSA' }] });
    const joseOptions = {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      clockTolerance: 5,
      currentDate: new Date(NOW_MS),
      algorithms: ['Ed25519', 'EdDSA'],
    };
    const token = forge({ alg: 'Ed25519', kid: ed.kid, typ: 'at+jwt' }, claims(), 'EdDSA');
    await expect(jwtVerify(token, keySet, joseOptions)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    await expect(validator.validate(token)).resolves.toMatchObject({ subject: 'user-1' });

    const reverse = createValidator({ ...options, jwks: { keys: [{ ...ed.publicJwk, alg: 'Ed25519' }] } });
    validators.push(reverse);
    const eddsa = forge(header('EdDSA'), claims(), 'EdDSA');
    const reverseKeys = createLocalJWKSet({ keys: [{ ...ed.publicJwk, alg: 'Ed25519' }] });
    await expect(jwtVerify(eddsa, reverseKeys, joseOptions)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    await expect(reverse.validate(eddsa)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND', status: 401 });
  });
});

// ---------------------------------------------------------------------------------------------------
// fast-check

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const interestingChars = fc.constantFrom(
  ...'.=+/ \t\n\r\u0000\u00ff\u0141\ufeff{}"\\'.split(''),
  ...alphabet.split(''),
);

/** Byte-by-byte and segment-by-segment mutations of `token`. */
function mutation(token: string): fc.Arbitrary<string> {
  const parts = token.split('.') as [string, string, string];
  const withPart = (index: number, value: string) =>
    parts.map((part, i) => (i === index ? value : part)).join('.');
  const segmentIndex = fc.constantFrom(0, 1, 2);
  return fc.oneof(
    ...characterEdits(token, interestingChars, 8),
    // A character's case flipped; a bit of a decoded byte flipped, then re-encoded.
    fc.nat(token.length - 1).map((at) => {
      const c = token[at] as string;
      return (
        token.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + token.slice(at + 1)
      );
    }),
    fc.record({ index: segmentIndex, bit: fc.nat() }).map(({ index, bit }) => {
      const bytes = Buffer.from(parts[index] as string, 'base64url');
      const at = bit % (bytes.length * 8);
      bytes[at >> 3] = (bytes[at >> 3] as number) ^ (1 << (at & 7));
      return withPart(index, b64u(bytes));
    }),
    // Segment surgery: emptied, swapped, padded, re-encoded in the standard alphabet, low bits set.
    segmentIndex.map((index) => withPart(index, '')),
    fc.tuple(segmentIndex, segmentIndex).map(([i, j]) => {
      const swapped = [...parts];
      [swapped[i], swapped[j]] = [parts[j] as string, parts[i] as string];
      return swapped.join('.');
    }),
    segmentIndex.map((index) => withPart(index, pad(parts[index] as string))),
    segmentIndex.map((index) =>
      withPart(index, Buffer.from(parts[index] as string, 'base64url').toString('base64')),
    ),
    fc.record({ index: segmentIndex, low: fc.integer({ min: 1, max: 15 }) }).map(({ index, low }) => {
      const part = parts[index] as string;
      const last = alphabet.indexOf(part.at(-1) as string);
      const bits = part.length % 4 === 2 ? 15 : part.length % 4 === 3 ? 3 : 0;
      return withPart(index, part.slice(0, -1) + alphabet[last | (low & bits)]);
    }),
    fc.uint8Array({ maxLength: 80 }).map((bytes) => withPart(2, b64u(bytes))),
  );
}

/** jose's own reading of a signature segment (WHATWG forgiving base64: whitespace, `=` and low bits pass). */
function forgivingBytes(text: string): Buffer | undefined {
  if (text.includes('+') || text.includes('/')) return undefined;
  try {
    return Buffer.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), 'latin1');
  } catch {
    return undefined;
  }
}

/** Whether `mutated` is `original` with the same signature bytes spelled otherwise. */
function isSignatureRespelling(mutated: string, original: string): boolean {
  const m = mutated.split('.');
  const o = original.split('.');
  if (m.length !== 3 || m[0] !== o[0] || m[1] !== o[1]) return false;
  const bytes = forgivingBytes(m[2] as string);
  return bytes?.equals(Buffer.from(o[2] as string, 'base64url')) === true;
}

describe('fast-check', () => {
  it('mutated valid tokens: only the unmutated token passes; jose alone passes only re-spelled signatures', async () => {
    const joseOnly = new Set<string>();
    for (const alg of ALGS as Alg[]) {
      const original = forge(header(alg), claims(), alg);
      await fc.assert(
        fc.asyncProperty(mutation(original), async (mutated) => {
          const [ours, theirs] = [await main.tokenguard(mutated), await main.jose(mutated)];
          if (ours === 'accepted') {
            expect(mutated).toBe(original);
            expect(theirs).toBe('accepted');
          } else if (theirs === 'accepted') {
            expect(isSignatureRespelling(mutated, original), JSON.stringify(mutated)).toBe(true);
            joseOnly.add(ours);
          }
        }),
        { numRuns: RUNS },
      );
    }
    // What jose alone accepted was refused as not canonical base64url (a whitespace makes a bare token
    // read as an Authorization value of another scheme, SECURITY.md: documented behaviours).
    for (const code of joseOnly) expect(['ERR_TOKEN_MALFORMED', 'ERR_TOKEN_MISSING']).toContain(code);
  });

  /** Mostly `good`, sometimes one of `bad`, so both verdicts occur. */
  const mostly = <T>(good: T, ...bad: unknown[]) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant<unknown>(good) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(...bad) },
    );
  const numericDate = (good: number | undefined) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant<unknown>(good) },
      { weight: 3, arbitrary: fc.double({ min: NOW_SEC - 400, max: NOW_SEC + 400, noNaN: true }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(
          undefined,
          null,
          String(NOW_SEC),
          true,
          -1,
          0,
          -0.5,
          [NOW_SEC],
          {},
          1e13,
          8.64e12,
          NOW_SEC - TOLERANCE_SEC,
          NOW_SEC + TOLERANCE_SEC,
        ),
      },
    );
  const stringClaim = (good: string | undefined) => mostly(good, undefined, null, 1, '', ['x'], {}, true);

  /** Why the validator may refuse what jose accepts: a documented rule, or undefined. */
  function documentedStricter(
    head: Record<string, unknown>,
    body: Record<string, unknown>,
  ): string | undefined {
    for (const name of ['crit', 'b64', 'zip', 'enc']) if (name in head) return `header ${name}`;
    if (typeof head.cty === 'string' && ['jwt', 'application/jwt'].includes(head.cty.toLowerCase()))
      return 'nested JWT';
    for (const name of ['exp', 'nbf', 'iat']) {
      const value = body[name];
      if (typeof value === 'number' && (value < 0 || value > 8.64e12)) return `${name} out of range`;
    }
    if (typeof body.iat === 'number' && body.iat > NOW_SEC + TOLERANCE_SEC) return 'iat in the future';
    if (Array.isArray(body.aud) && body.aud.some((value) => typeof value !== 'string')) return 'aud member';
    for (const name of ['sub', 'jti', 'client_id'])
      if (body[name] !== undefined && typeof body[name] !== 'string') return `${name} type`;
    if (body.cnf !== undefined && body.cnf !== null) return 'cnf';
    return undefined;
  }

  it('signed tokens with random headers and claims: the validator never accepts what jose refuses', async () => {
    const headers = fc.record({
      alg: fc.constantFrom<Alg>('RS256', 'PS256', 'ES256', 'EdDSA'),
      kid: fc.boolean(),
      typ: mostly(
        'at+jwt',
        'AT+JWT',
        'application/at+jwt',
        'JWT',
        'at+jwt ',
        undefined,
        null,
        ['at+jwt'],
        '',
      ),
      crit: fc.constantFrom(undefined, undefined, undefined, ['b64'], ['exp'], []),
      b64: fc.constantFrom(undefined, undefined, undefined, true, false),
      cty: fc.constantFrom(undefined, undefined, undefined, 'JWT', 'json', 'application/JWT'),
      zip: fc.constantFrom(undefined, undefined, undefined, undefined, 'DEF'),
    });
    const bodies = fc.record({
      iss: mostly(ISSUER, `${ISSUER}/`, ISSUER.normalize('NFD'), ` ${ISSUER}`, null, 1, [ISSUER], undefined),
      aud: mostly(
        AUDIENCE,
        [AUDIENCE, 1],
        [AUDIENCE, null],
        ['x', AUDIENCE],
        [],
        '',
        undefined,
        `${AUDIENCE} `,
      ),
      exp: numericDate(NOW_SEC + 300),
      nbf: numericDate(undefined),
      iat: numericDate(NOW_SEC - 10),
      sub: stringClaim('user-1'),
      jti: stringClaim('jti-1'),
      client_id: stringClaim('client-1'),
      cnf: mostly(undefined, null, { jkt: 'x' }, {}, false),
    });
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(headers, bodies, async (draft, draftBody) => {
        const { alg, kid, ...rest } = draft;
        const head = header(alg, { kid: kid ? KEYS[alg].kid : undefined, ...rest });
        const body = Object.fromEntries(Object.entries(draftBody).filter(([, value]) => value !== undefined));
        const token = forge(head, body, alg);
        const [ours, theirs] = [await main.tokenguard(token), await main.jose(token)];
        if (ours === 'accepted') expect(theirs).toBe('accepted');
        if (theirs === 'accepted' && ours !== 'accepted') {
          const reason = documentedStricter(head, body);
          expect(reason, `${ours} for ${JSON.stringify(head)} ${JSON.stringify(body)}`).toBeDefined();
          seen.set(reason as string, (seen.get(reason as string) ?? 0) + 1);
        }
        seen.set(
          `${ours === 'accepted'}/${theirs === 'accepted'}`,
          (seen.get(`${ours === 'accepted'}/${theirs === 'accepted'}`) ?? 0) + 1,
        );
      }),
      { numRuns: RUNS * 3 },
    );
    // Both verdicts occurred, agreeing and not.
    expect(seen.get('true/true')).toBeGreaterThan(0);
    expect(seen.get('false/false')).toBeGreaterThan(0);
  });
});
