import { describe, expect, it } from 'vitest';
import {
  extractBearerToken,
  isB64Token,
  isOtherSchemeValue,
  parseAuthorizationValue,
  readAuthorizationHeader,
} from './bearer.js';
import { type ErrorCode, TokenGuardError } from './errors.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln';

function codeOf(run: () => unknown): ErrorCode {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return (error as TokenGuardError).code;
  }
  throw new Error('no error thrown');
}

describe('extractBearerToken', () => {
  it('accepts a Bearer header value', () => {
    expect(extractBearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
  });

  it('accepts the scheme in any case', () => {
    expect(extractBearerToken(`bearer ${TOKEN}`)).toBe(TOKEN);
    expect(extractBearerToken(`BEARER ${TOKEN}`)).toBe(TOKEN);
    expect(extractBearerToken(`bEaReR ${TOKEN}`)).toBe(TOKEN);
  });

  it('accepts every character of the RFC 6750 b64token grammar, with trailing =', () => {
    const token = 'AZaz09-._~+/abc==';
    expect(extractBearerToken(`Bearer ${token}`)).toBe(token);
  });

  it('tolerates surrounding whitespace and several spaces after the scheme', () => {
    expect(extractBearerToken(`  Bearer   ${TOKEN}  `)).toBe(TOKEN);
  });

  it('rejects no header as ERR_TOKEN_MISSING (bare challenge)', () => {
    expect(codeOf(() => extractBearerToken(undefined))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken(null))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken(''))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken({}))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken(new Headers()))).toBe('ERR_TOKEN_MISSING');
  });

  it('rejects another scheme as ERR_TOKEN_MISSING', () => {
    expect(codeOf(() => extractBearerToken('Basic dXNlcjpwYXNz'))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken(`DPoP ${TOKEN}`))).toBe('ERR_TOKEN_MISSING');
    expect(codeOf(() => extractBearerToken(`Bearertoken ${TOKEN}`))).toBe('ERR_TOKEN_MISSING');
  });

  it('rejects Bearer alone as invalid_request (400)', () => {
    for (const value of ['Bearer', 'Bearer ', 'bearer    ']) {
      try {
        extractBearerToken(value);
        throw new Error('accepted');
      } catch (error) {
        expect((error as TokenGuardError).code).toBe('ERR_INVALID_REQUEST');
        expect((error as TokenGuardError).status).toBe(400);
        expect((error as TokenGuardError).oauthError).toBe('invalid_request');
      }
    }
  });

  it('rejects Bearer followed by anything but a space as invalid_request, not as another scheme', () => {
    // The scheme is an RFC 9110 token: it ends at the tab, NBSP or colon, so these are Bearer
    // headers with malformed credentials (400). Read as another scheme, an optional route let
    // them through as anonymous.
    for (const value of [
      `Bearer\t${TOKEN}`,
      `bearer\u00a0${TOKEN}`,
      `Bearer:${TOKEN}`,
      'Bearer,',
      'BEARER"x"',
    ]) {
      expect(
        codeOf(() => extractBearerToken(value)),
        value,
      ).toBe('ERR_INVALID_REQUEST');
    }
    expect(codeOf(() => extractBearerToken(`Bearer.x ${TOKEN}`))).toBe('ERR_TOKEN_MISSING');
  });

  it('trims spaces, tabs and line endings around the value, never NBSP or other Unicode spaces', () => {
    expect(extractBearerToken(`\t Bearer ${TOKEN} \t\r\n`)).toBe(TOKEN);
    for (const ending of ['\u00a0', '\u2028', '\ufeff', '\u3000']) {
      expect(
        codeOf(() => extractBearerToken(`Bearer ${TOKEN}${ending}`)),
        JSON.stringify(ending),
      ).toBe('ERR_INVALID_REQUEST');
    }
  });

  it('rejects characters outside the grammar as invalid_request', () => {
    for (const token of ['abc def', 'abc,def', 'a"b', '=abc', 'abc=def', 'ab\tc', 'a\u00e9b', 'realm="x"']) {
      expect(codeOf(() => extractBearerToken(`Bearer ${token}`))).toBe('ERR_INVALID_REQUEST');
    }
  });

  it('reads a fetch Headers object', () => {
    expect(extractBearerToken(new Headers({ Authorization: `Bearer ${TOKEN}` }))).toBe(TOKEN);
  });

  it('reads a plain record with an odd-cased key', () => {
    expect(extractBearerToken({ AuThOrIzAtIoN: `Bearer ${TOKEN}` })).toBe(TOKEN);
    expect(extractBearerToken({ authorization: `Bearer ${TOKEN}`, host: 'x' })).toBe(TOKEN);
  });

  it('ignores an Authorization key whose value is undefined', () => {
    expect(extractBearerToken({ authorization: undefined, Authorization: `Bearer ${TOKEN}` })).toBe(TOKEN);
  });

  it('reads a one-element array', () => {
    expect(extractBearerToken({ authorization: [`Bearer ${TOKEN}`] })).toBe(TOKEN);
  });

  it('rejects two Authorization values as invalid_request', () => {
    expect(codeOf(() => extractBearerToken({ authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] }))).toBe(
      'ERR_INVALID_REQUEST',
    );
    expect(
      codeOf(() =>
        extractBearerToken({ Authorization: `Bearer ${TOKEN}`, AUTHORIZATION: `Bearer ${TOKEN}` }),
      ),
    ).toBe('ERR_INVALID_REQUEST');
    expect(
      codeOf(() =>
        extractBearerToken({ authorization: `Bearer ${TOKEN}`, Authorization: `Bearer ${TOKEN}` }),
      ),
    ).toBe('ERR_INVALID_REQUEST');
  });

  it('rejects a header sent twice through fetch Headers (combined with a comma)', () => {
    const headers = new Headers();
    headers.append('authorization', `Bearer ${TOKEN}`);
    headers.append('authorization', `Bearer ${TOKEN}`);
    expect(codeOf(() => extractBearerToken(headers))).toBe('ERR_INVALID_REQUEST');
  });

  it('rejects another scheme and Bearer joined into one value (two headers, as fetch Headers give them) as invalid_request', () => {
    const headers = new Headers();
    headers.append('authorization', 'Basic dXNlcg==');
    headers.append('authorization', `Bearer ${TOKEN}`);
    expect(codeOf(() => extractBearerToken(headers))).toBe('ERR_INVALID_REQUEST');
    for (const value of [
      `Basic dXNlcg==,Bearer ${TOKEN}`,
      // A first header that leaves a quoted string open is no well-formed single header.
      `Digest username="a, Bearer ${TOKEN}`,
      `Digest username="a", realm="b, Bearer ${TOKEN}`,
      `Negotiate YII=,\t bearer ${TOKEN}`,
      'Basic dXNlcg==, Bearer',
      `Basic, BEARER ${TOKEN}`,
    ]) {
      expect(
        codeOf(() => extractBearerToken(value)),
        value,
      ).toBe('ERR_INVALID_REQUEST');
      expect(isOtherSchemeValue(value), value).toBe(false);
    }
    // Still another scheme: a parameter named bearer, a scheme merely starting with it.
    // Nor is ', bearer ' inside a quoted string, or before a parameter's '=' (RFC 9110 §11.2 allows
    // whitespace around it): one Digest, AWS4 or custom header, not two joined.
    for (const value of [
      'Digest username="a", bearer="b"',
      'Basic x, Bearerish y',
      'Basic x,bearer=y',
      'Digest username="Mufasa, bearer of news", realm="api", nonce="n", uri="/", response="r"',
      'Digest username="a\\", bearer b", realm="api"',
      'Custom a=1, bearer = 2',
      'Custom a=1, bearer\t=2',
    ]) {
      expect(
        codeOf(() => extractBearerToken(value)),
        value,
      ).toBe('ERR_TOKEN_MISSING');
      expect(isOtherSchemeValue(value), value).toBe(true);
    }
  });

  it('never puts the token in the error', () => {
    const secret = 'secret-token-value with space';
    // The value must be refused: were it accepted, no assertion below would run.
    expect.assertions(3);
    try {
      extractBearerToken(`Bearer ${secret}`);
    } catch (error) {
      const e = error as TokenGuardError;
      expect(e.message).not.toContain('secret-token-value');
      expect(JSON.stringify(e.toJSON())).not.toContain('secret-token-value');
      expect(e.wwwAuthenticate).not.toContain('secret-token-value');
    }
  });
});

describe('readAuthorizationHeader', () => {
  it('returns undefined when there is no header', () => {
    expect(readAuthorizationHeader({ host: 'x' })).toBeUndefined();
    expect(readAuthorizationHeader(undefined)).toBeUndefined();
  });
});

describe('parseAuthorizationValue', () => {
  it('returns the token of one header value', () => {
    expect(parseAuthorizationValue(`Bearer ${TOKEN}`)).toBe(TOKEN);
  });
});

describe('isB64Token', () => {
  it('accepts the grammar and refuses anything else', () => {
    expect(isB64Token('abc.def-ghi_~+/==')).toBe(true);
    expect(isB64Token('')).toBe(false);
    expect(isB64Token('a b')).toBe(false);
    expect(isB64Token('==')).toBe(false);
  });

  it('takes padding only at the end, and nothing after the last character', () => {
    expect(isB64Token('a=')).toBe(true);
    expect(isB64Token('a=b')).toBe(false);
    expect(isB64Token('a==b=')).toBe(false);
    expect(isB64Token('=')).toBe(false);
    for (const ending of ['\n', '\r\n', ' ', '\t', '\u2028']) {
      expect(isB64Token(`abc${ending}`)).toBe(false);
      expect(isB64Token(`abc==${ending}`)).toBe(false);
    }
  });

  it('answers a long value that fails only at its last character', () => {
    expect(isB64Token(`${'a'.repeat(100_000)}!`)).toBe(false);
    expect(isB64Token(`${'a'.repeat(100_000)}=`)).toBe(true);
  });
});
