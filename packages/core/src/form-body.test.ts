import { describe, expect, it } from 'vitest';
import { FORM_BODY_MAX_BYTES, formBodyRefusal, parseFormBody } from './form-body.js';
import { extractAccessToken, isFormTokenSource } from './transport.js';

const FORM = 'application/x-www-form-urlencoded';

describe('formBodyRefusal', () => {
  it('reads a plain form in UTF-8 or ISO-8859-1, or with no charset', () => {
    for (const contentType of [
      FORM,
      `${FORM}; charset=utf-8`,
      `${FORM}; charset="UTF-8"`,
      `${FORM};charset=ISO-8859-1`,
    ]) {
      expect(formBodyRefusal({ 'content-type': contentType }), contentType).toBeUndefined();
    }
    expect(formBodyRefusal({ 'content-type': FORM, 'content-encoding': 'identity' })).toBeUndefined();
    expect(
      formBodyRefusal(new Headers({ 'content-type': FORM, 'content-encoding': 'IDENTITY' })),
    ).toBeUndefined();
  });

  it('refuses any content coding but identity, however it is listed', () => {
    for (const coding of ['gzip', 'deflate', 'br', 'x-custom', 'identity, gzip', 'GZIP']) {
      expect(formBodyRefusal({ 'content-type': FORM, 'content-encoding': coding }), coding).toBe(
        'unsupported content encoding',
      );
    }
    expect(formBodyRefusal({ 'content-type': FORM, 'content-encoding': ['identity', 'gzip'] })).toBe(
      'unsupported content encoding',
    );
  });

  it('refuses another charset without echoing it', () => {
    expect(formBodyRefusal({ 'content-type': `${FORM}; charset=utf-16` })).toBe('unsupported charset');
    expect(formBodyRefusal({ 'content-type': `${FORM}; charset="<script>"` })).toBe('unsupported charset');
  });

  it('reads at most 100 KiB, as Express does by default', () => {
    expect(FORM_BODY_MAX_BYTES).toBe(102_400);
  });
});

describe('parseFormBody', () => {
  it('keeps every parameter, a repeated one as the list of its values', () => {
    const text = `${Array.from({ length: 2000 }, (_, i) => `p${i}=${i}`).join('&')}&access_token=a&access_token=b`;
    const parameters = parseFormBody(text);
    expect(parameters.p1999).toBe('1999');
    expect(parameters.access_token).toEqual(['a', 'b']);
    expect(Object.keys(parameters)).toHaveLength(2001);
  });

  it('drops a leading byte order mark, decodes + and percent escapes, and has no prototype', () => {
    const parameters = parseFormBody('\uFEFFaccess_token=a%2Bb&note=two+words&__proto__=x');
    expect(parameters.access_token).toBe('a+b');
    expect(parameters.note).toBe('two words');
    expect(Object.getPrototypeOf(parameters)).toBeNull();
    expect(Object.hasOwn(parameters, '__proto__')).toBe(true);
  });

  it('gives core what it needs to refuse a token sent twice, wherever the second one stands', () => {
    const body = parseFormBody(`access_token=a&${'x=1&'.repeat(1500)}access_token=b`);
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
