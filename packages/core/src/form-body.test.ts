import { describe, expect, it } from 'vitest';
import { FORM_BODY_MAX_BYTES, FORM_MAX_PARAMETERS, type FormBodyReading, readFormBody } from './form-body.js';
import { extractAccessToken, isFormTokenSource } from './transport.js';

const FORM = 'application/x-www-form-urlencoded';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function parametersOf(reading: FormBodyReading): Record<string, string | string[]> {
  if (!('parameters' in reading)) throw new Error(`refused: ${reading.status} ${reading.reason}`);
  return reading.parameters;
}

describe('readFormBody: what it refuses', () => {
  it('reads a plain form in UTF-8 or ISO-8859-1, or with no charset or an empty or unterminated one (ignored, as Express does)', () => {
    for (const contentType of [
      FORM,
      `${FORM}; charset=utf-8`,
      `${FORM}; charset="UTF-8"`,
      `${FORM};charset=ISO-8859-1`,
      `${FORM}; charset=""`,
      `${FORM}; charset=`,
      `${FORM}; charset="utf-16`,
    ]) {
      expect(readFormBody(bytes('a=1'), { 'content-type': contentType }), contentType).toEqual({
        parameters: { a: '1' },
      });
    }
  });

  it('refuses any other charset with a 415 that does not echo it', () => {
    for (const charset of ['utf-16', 'utf8', 'latin1', '"<script>"']) {
      expect(readFormBody(bytes('a=1'), { 'content-type': `${FORM}; charset=${charset}` }), charset).toEqual({
        status: 415,
        reason: 'unsupported charset',
      });
    }
  });

  it('refuses a Content-Encoding other than one identity, however it is written (415), unless told to leave it', () => {
    for (const coding of ['identity', 'IDENTITY', '']) {
      expect(
        'parameters' in readFormBody(bytes('a=1'), { 'content-type': FORM, 'content-encoding': coding }),
        coding,
      ).toBe(true);
    }
    for (const coding of [
      'gzip',
      'deflate',
      'br',
      'identity, identity',
      ', identity',
      ['identity', 'identity'],
      ['identity', 'gzip'],
    ]) {
      const headers = { 'content-type': FORM, 'content-encoding': coding };
      expect(readFormBody(bytes('a=1'), headers), String(coding)).toEqual({
        status: 415,
        reason: 'unsupported content encoding',
      });
      expect('parameters' in readFormBody(bytes('a=1'), headers, { checkEncoding: false })).toBe(true);
    }
    expect(
      readFormBody(bytes('a=1'), new Headers({ 'content-type': FORM, 'content-encoding': 'gzip' })),
    ).toMatchObject({
      status: 415,
    });
  });

  it('refuses more than FORM_BODY_MAX_BYTES (or maxBytes) with a 413', () => {
    expect(FORM_BODY_MAX_BYTES).toBe(102_400);
    const full = bytes(`a=${'x'.repeat(FORM_BODY_MAX_BYTES - 2)}`);
    expect('parameters' in readFormBody(full, { 'content-type': FORM })).toBe(true);
    expect(readFormBody(bytes(`a=${'x'.repeat(FORM_BODY_MAX_BYTES - 1)}`), { 'content-type': FORM })).toEqual(
      {
        status: 413,
        reason: 'request entity too large',
      },
    );
    expect(readFormBody(bytes('a=12345'), { 'content-type': FORM }, { maxBytes: 4 })).toMatchObject({
      status: 413,
    });
  });

  it('refuses more than 1000 parameters, counted as Express counts them (empty ones too), with a 413', () => {
    expect(FORM_MAX_PARAMETERS).toBe(1000);
    const headers = { 'content-type': FORM };
    expect('parameters' in readFormBody(bytes('&'.repeat(999)), headers)).toBe(true);
    for (const text of [
      '&'.repeat(1000),
      '&'.repeat(FORM_BODY_MAX_BYTES),
      'a&'.repeat(51_200).slice(0, -1),
    ]) {
      expect(readFormBody(bytes(text), headers)).toEqual({ status: 413, reason: 'too many parameters' });
    }
  });
});

describe('readFormBody: what it reads', () => {
  it('keeps every parameter, a repeated one as the list of its values, in a record without a prototype', () => {
    const text = `${Array.from({ length: 997 }, (_, i) => `p${i}=${i}`).join('&')}&access_token=a&access_token=b&__proto__=x`;
    const parameters = parametersOf(readFormBody(bytes(text), { 'content-type': FORM }));
    expect(parameters.p996).toBe('996');
    expect(parameters.access_token).toEqual(['a', 'b']);
    expect(Object.getPrototypeOf(parameters)).toBeNull();
    expect(Object.hasOwn(parameters, '__proto__')).toBe(true);
  });

  it('decodes + and percent escapes once, and UTF-8 with one leading byte order mark dropped', () => {
    const one = parametersOf(
      readFormBody(bytes('\uFEFFaccess_token=a%2Bb&note=two+words'), { 'content-type': FORM }),
    );
    expect(one.access_token).toBe('a+b');
    expect(one.note).toBe('two words');
    const two = parametersOf(readFormBody(bytes('\uFEFF\uFEFFaccess_token=a'), { 'content-type': FORM }));
    expect(two.access_token).toBeUndefined();
    expect(two['\uFEFFaccess_token']).toBe('a');
  });

  it('decodes ISO-8859-1 as such: a byte is a character, and UTF-8 BOM bytes are no byte order mark', () => {
    const latin1 = { 'content-type': `${FORM}; charset=iso-8859-1` };
    expect(parametersOf(readFormBody(Uint8Array.from([0x6e, 0x3d, 0xe9]), latin1)).n).toBe('é');
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('access_token=a')]);
    expect(parametersOf(readFormBody(withBom, latin1)).access_token).toBeUndefined();
    expect(parametersOf(readFormBody(withBom, { 'content-type': FORM })).access_token).toBe('a');
  });

  it('gives core what it needs to refuse a token sent twice, wherever the second one stands', () => {
    const body = parametersOf(
      readFormBody(bytes(`access_token=a&${'x=1&'.repeat(990)}access_token=b`), { 'content-type': FORM }),
    );
    const source = { method: 'POST', headers: { 'content-type': FORM }, body };
    expect(() => extractAccessToken(source, { body: true })).toThrow(/more than once/);
  });
});

describe('isFormTokenSource', () => {
  it('judges the first Content-Type as core reads it', () => {
    expect(isFormTokenSource({ method: 'POST', headers: { 'content-type': `${FORM}; charset=utf-8` } })).toBe(
      true,
    );
    expect(isFormTokenSource({ method: 'POST', headers: { 'content-type': [FORM, 'text/plain'] } })).toBe(
      true,
    );
    expect(isFormTokenSource({ method: 'POST', headers: { 'content-type': ['text/plain', FORM] } })).toBe(
      false,
    );
    // A fetch Headers joins a repeated header: no form.
    const joined = new Headers([
      ['content-type', FORM],
      ['content-type', 'text/plain'],
    ]);
    expect(isFormTokenSource({ method: 'POST', headers: joined })).toBe(false);
  });

  it('never on GET, nor without a method', () => {
    expect(isFormTokenSource({ method: 'GET', headers: { 'content-type': FORM } })).toBe(false);
    expect(isFormTokenSource({ headers: { 'content-type': FORM } })).toBe(false);
  });
});
