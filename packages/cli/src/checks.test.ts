import { createValidator } from '@tokenguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { explainChecks } from './checks.js';

const NOW = Date.UTC(2030, 0, 1);
const nowSec = NOW / 1000;
const validator = createValidator({
  issuer: 'https://id.example/',
  audience: 'https://api.example',
  jwks: { keys: [] },
});
const wrapped = createValidator({
  issuer: 'https://id.example',
  audience: null,
  jwks: { keys: [] },
  allowMissingTyp: true,
});
afterAll(async () => {
  await validator.close();
  await wrapped.close();
});

const claims: Record<string, unknown> = {
  iss: 'https://id.example/',
  aud: 'https://api.example',
  exp: nowSec + 240,
  iat: nowSec - 60,
};
const header: Record<string, unknown> = { alg: 'RS256', typ: 'at+jwt', kid: 'k1' };
const check = (
  id: string,
  decoded = { header, claims },
  scopes: string[] = [],
  options = validator.options,
) => explainChecks('x'.repeat(100), decoded, options, scopes, NOW).find((entry) => entry.id === id);

describe('explainChecks', () => {
  it('accepts a well-formed token, with relative and ISO times', () => {
    expect(check('expiry')).toEqual({
      id: 'expiry',
      status: 'pass',
      message: 'the token expires in 4m (2030-01-01T00:04:00.000Z)',
    });
    expect(check('issued-at')?.message).toBe('issued 1m ago (2029-12-31T23:59:00.000Z)');
    expect(check('audience')).toMatchObject({
      status: 'pass',
      message: 'aud is https://api.example, this API is https://api.example',
    });
  });

  it('rejects an expired token beyond the clock tolerance, saying when it expired', () => {
    const expired = check('expiry', { header, claims: { ...claims, exp: nowSec - 6 } });
    expect(expired?.status).toBe('fail');
    expect(expired?.message).toBe(
      'the token expired 6s ago (2029-12-31T23:59:54.000Z); the clock tolerance is 5 s',
    );
    expect(check('expiry', { header, claims: { ...claims, exp: nowSec - 4 } })?.status).toBe('pass');
  });

  it('points at a trailing-slash difference in iss', () => {
    const result = check('issuer', { header, claims: { ...claims, iss: 'https://id.example' } });
    expect(result?.status).toBe('fail');
    expect(result?.message).toContain('differ only by a trailing slash');
  });

  it('suggests --typ for typ JWT and --allow-missing-typ for no typ', () => {
    expect(check('type', { header: { ...header, typ: 'JWT' }, claims })?.message).toContain(
      '--typ at+jwt,JWT',
    );
    const missing = check('type', { header: { alg: 'RS256' }, claims });
    expect(missing?.status).toBe('fail');
    expect(missing?.message).toContain('--allow-missing-typ');
    expect(check('type', { header: { alg: 'RS256' }, claims }, [], wrapped.options)?.status).toBe('pass');
  });

  it('rejects alg none and names the allow-list', () => {
    const result = check('algorithm', { header: { ...header, alg: 'none' }, claims });
    expect(result?.status).toBe('fail');
    expect(result?.message).toContain('never accepted');
  });

  it('names missing scopes and hints at the permissions claim', () => {
    const result = check('scopes', { header, claims: { ...claims, permissions: ['read:orders'] } }, [
      'read:orders',
    ]);
    expect(result?.status).toBe('fail');
    expect(result?.message).toContain('missing read:orders');
    expect(result?.message).toContain('--scope-claims scope,permissions');
  });

  it('skips the audience check only when the validator does', () => {
    expect(check('audience', { header, claims: { ...claims, aud: undefined } })?.status).toBe('fail');
    expect(check('audience', { header, claims }, [], wrapped.options)?.status).toBe('skip');
  });
});
