import { describe, expect, it } from 'vitest';
import type { VerifyArgs } from './args.js';
import { verifyToken } from './verify.js';
import { explainWhitespace } from './whitespace.js';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const TOKEN = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k' })}.${b64({ iss: 'https://id.example', aud: 'a', exp: 4102444800 })}.c2ln`;
const ARGS: VerifyArgs = {
  command: 'verify',
  token: undefined,
  json: false,
  issuer: 'https://id.example',
  audience: ['a'],
  scopes: [],
  jwksUri: undefined,
  typ: undefined,
  allowMissingTyp: false,
  acceptBoundTokens: false,
  clientCertificate: undefined,
  scopeClaims: undefined,
  introspection: undefined,
};

describe('explainWhitespace', () => {
  it('says nothing of an unbroken token', () => {
    expect(explainWhitespace(TOKEN)).toBeUndefined();
  });

  it('names the first whitespace inside and where it is', () => {
    expect(explainWhitespace('abcd\nefgh ij')).toBe(
      'the token has a line break after character 4: a token is one unbroken string (was it wrapped when copied?); the validator reads text with whitespace inside as a whole Authorization header',
    );
    expect(explainWhitespace('ab cd')).toContain('has a space after character 2:');
    expect(explainWhitespace('ab\tcd')).toContain('has a tab after character 2:');
    expect(explainWhitespace('ab\u00a0cd')).toContain('has whitespace (U+00A0) after character 2:');
  });
});

describe('tokenguard verify on a token wrapped across lines', () => {
  it('fails the format check saying so, with the validator still giving the verdict', async () => {
    const wrapped = `${TOKEN.slice(0, 30)}\n${TOKEN.slice(30)}`;
    const report = await verifyToken(wrapped, ARGS, { validatorOptions: { jwks: { keys: [] } } });
    expect(report.exitCode).toBe(1);
    expect(report.verdict.valid ? undefined : report.verdict.error.code).toBe('ERR_TOKEN_MISSING');
    expect(report.checks.find((check) => check.id === 'format')).toEqual({
      id: 'format',
      status: 'fail',
      message: explainWhitespace(wrapped),
    });
  });

  it('leaves the format check of an unbroken token as it was', async () => {
    const report = await verifyToken(TOKEN, ARGS, { validatorOptions: { jwks: { keys: [] } } });
    expect(report.checks.find((check) => check.id === 'format')?.status).toBe('pass');
  });
});
