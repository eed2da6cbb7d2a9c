import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, isTokenGuardError, TokenGuardError } from './errors.js';

describe('ERROR_CODES', () => {
  it('maps each OAuth error to its RFC 6750 status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      if (spec.oauthError === 'invalid_request') expect(spec.status, code).toBe(400);
      if (spec.oauthError === 'invalid_token') expect(spec.status, code).toBe(401);
      if (spec.oauthError === 'insufficient_scope') expect(spec.status, code).toBe(403);
      if (spec.oauthError === 'insufficient_user_authentication') expect(spec.status, code).toBe(401);
      // RFC 9449 §7.1, §9: DPoP errors of a resource request are 401s in the DPoP challenge.
      if (spec.oauthError === 'invalid_dpop_proof') expect(spec.status, code).toBe(401);
      if (spec.oauthError === 'use_dpop_nonce') expect(spec.status, code).toBe(401);
      if (spec.oauthError === undefined) expect([401, 500, 503], code).toContain(spec.status);
      expect(spec.message.length, code).toBeGreaterThan(0);
    }
  });

  it('answers every failure of the token itself with 401 invalid_token (RFC 9068 §4, RFC 6750 §3.1)', () => {
    const tokenFailures: ErrorCode[] = [
      'ERR_TOKEN_MALFORMED',
      'ERR_TOKEN_TOO_LARGE',
      'ERR_TOKEN_EXPIRED',
      'ERR_TOKEN_NOT_YET_VALID',
      'ERR_TOKEN_TOO_OLD',
      'ERR_ISSUER_MISMATCH',
      'ERR_AUDIENCE_MISMATCH',
      'ERR_ALGORITHM_NOT_ALLOWED',
      'ERR_TYPE_MISMATCH',
      'ERR_SIGNATURE_INVALID',
      'ERR_KEY_NOT_FOUND',
      'ERR_CLAIM_MISSING',
      'ERR_CLAIM_INVALID',
      'ERR_TOKEN_INACTIVE',
      'ERR_TOKEN_NOT_JWT',
    ];
    for (const code of tokenFailures) {
      expect({ code, ...ERROR_CODES[code] }).toMatchObject({
        code,
        oauthError: 'invalid_token',
        status: 401,
      });
    }
    for (const code of ['ERR_INSUFFICIENT_SCOPE', 'ERR_CLAIM_REQUIREMENT', 'ERR_TENANT_MISMATCH'] as const) {
      expect({ code, ...ERROR_CODES[code] }).toMatchObject({
        code,
        oauthError: 'insufficient_scope',
        status: 403,
      });
    }
    // RFC 9470 §3: a valid token whose user authentication falls short is a 401, not a 403.
    expect(ERROR_CODES.ERR_INSUFFICIENT_USER_AUTHENTICATION).toMatchObject({
      oauthError: 'insufficient_user_authentication',
      status: 401,
    });
    expect(ERROR_CODES.ERR_INVALID_REQUEST).toMatchObject({ oauthError: 'invalid_request', status: 400 });
    expect(ERROR_CODES.ERR_TOKEN_MISSING).toMatchObject({ oauthError: undefined, status: 401 });
  });

  it('puts acr_values and max_age only in an insufficient_user_authentication challenge', () => {
    const stepUp = { acrValues: ['urn:example:mfa'], maxAgeSec: 300 };
    expect(new TokenGuardError('ERR_INSUFFICIENT_USER_AUTHENTICATION', stepUp).wwwAuthenticate).toMatch(
      /, acr_values="urn:example:mfa", max_age="300"$/,
    );
    // The same options on another error (say from a validateClaims hook) are not a step-up request.
    for (const code of ['ERR_INSUFFICIENT_SCOPE', 'ERR_TOKEN_EXPIRED', 'ERR_INVALID_REQUEST'] as const) {
      const challenge = new TokenGuardError(code, { ...stepUp, scope: 'orders:read' }).wwwAuthenticate;
      expect(challenge, code).not.toMatch(/acr_values|max_age/);
    }
  });

  it('has the codes the issue names', () => {
    const codes: ErrorCode[] = [
      'ERR_TOKEN_MISSING',
      'ERR_TOKEN_MALFORMED',
      'ERR_TOKEN_EXPIRED',
      'ERR_TOKEN_NOT_YET_VALID',
      'ERR_ISSUER_MISMATCH',
      'ERR_AUDIENCE_MISMATCH',
      'ERR_ALGORITHM_NOT_ALLOWED',
      'ERR_TYPE_MISMATCH',
      'ERR_SIGNATURE_INVALID',
      'ERR_KEY_NOT_FOUND',
      'ERR_INSUFFICIENT_SCOPE',
      'ERR_KEYS_UNAVAILABLE',
    ];
    for (const code of codes) expect(ERROR_CODES).toHaveProperty(code);
  });
});

describe('TokenGuardError', () => {
  it('carries code, status, OAuth error and the default message', () => {
    const error = new TokenGuardError('ERR_TOKEN_EXPIRED');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TokenGuardError');
    expect(error.code).toBe('ERR_TOKEN_EXPIRED');
    expect(error.status).toBe(401);
    expect(error.oauthError).toBe('invalid_token');
    expect(error.message).toBe('The token has expired');
    expect(error.description).toBe(error.message);
    expect(isTokenGuardError(error)).toBe(true);
    expect(isTokenGuardError(new Error('x'))).toBe(false);
  });

  it('has its status as statusCode too, for error handlers that read that (not an own property)', () => {
    for (const code of [
      'ERR_INVALID_REQUEST',
      'ERR_TOKEN_EXPIRED',
      'ERR_INSUFFICIENT_SCOPE',
      'ERR_KEYS_UNAVAILABLE',
    ] as const) {
      const error = new TokenGuardError(code);
      expect(error.statusCode).toBe(error.status);
      expect(Object.keys(error)).not.toContain('statusCode');
    }
  });

  it('passes cause through', () => {
    const cause = new Error('socket hang up');
    expect(new TokenGuardError('ERR_KEYS_UNAVAILABLE', { cause }).cause).toBe(cause);
  });

  it('builds an invalid_token challenge with error and description', () => {
    const error = new TokenGuardError('ERR_AUDIENCE_MISMATCH');
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="invalid_token", error_description="The token is not meant for this API"',
    );
    expect(error.headers).toEqual({ 'www-authenticate': error.wwwAuthenticate });
  });

  it('gives an error_description without " or \\ (RFC 6750 §3), the same in the challenge and the body', () => {
    const error = new TokenGuardError('ERR_CLAIM_INVALID', { message: 'claim "x\\y" is bad' });
    expect(error.description).toBe("claim 'x?y' is bad");
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="invalid_token", error_description="claim \'x?y\' is bad"',
    );
    expect(error.toJSON()).toEqual({ error: 'invalid_token', error_description: "claim 'x?y' is bad" });
    expect(error.message).toBe('claim "x\\y" is bad');
  });

  it('includes the realm when set', () => {
    const error = new TokenGuardError('ERR_INVALID_REQUEST');
    error.realm = 'orders';
    expect(error.status).toBe(400);
    expect(error.wwwAuthenticate).toBe(
      'Bearer realm="orders", error="invalid_request", error_description="The request is malformed"',
    );
  });

  it('gives a bare challenge when no credentials were sent', () => {
    const error = new TokenGuardError('ERR_TOKEN_MISSING');
    expect(error.status).toBe(401);
    expect(error.oauthError).toBeUndefined();
    expect(error.wwwAuthenticate).toBe('Bearer');
    error.realm = 'api';
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
  });

  it('gives 403 insufficient_scope with the scope parameter', () => {
    const error = new TokenGuardError('ERR_INSUFFICIENT_SCOPE', { scope: 'orders:read orders:write' });
    expect(error.status).toBe(403);
    expect(error.wwwAuthenticate).toContain('error="insufficient_scope"');
    expect(error.wwwAuthenticate).toContain('scope="orders:read orders:write"');
  });

  it('answers ERR_KEYS_UNAVAILABLE with 503, Retry-After and no challenge', () => {
    const error = new TokenGuardError('ERR_KEYS_UNAVAILABLE', { retryAfterSec: 12.2 });
    expect(error.status).toBe(503);
    expect(error.wwwAuthenticate).toBeUndefined();
    expect(error.headers).toEqual({ 'retry-after': '13' });
    expect(new TokenGuardError('ERR_KEYS_UNAVAILABLE').headers).toEqual({ 'retry-after': '5' });
    expect(new TokenGuardError('ERR_KEYS_UNAVAILABLE', { retryAfterSec: 0 }).headers).toEqual({
      'retry-after': '1',
    });
  });

  it('sends Retry-After as delay-seconds (RFC 9110 §10.2.3) whatever retryAfterSec holds', () => {
    const retryAfter = (retryAfterSec: number) =>
      new TokenGuardError('ERR_INTROSPECTION_UNAVAILABLE', { retryAfterSec }).headers['retry-after'];
    expect(retryAfter(Number.NaN)).toBe('5');
    expect(retryAfter(-3)).toBe('1');
    expect(retryAfter(Number.POSITIVE_INFINITY)).toBe('86400');
    expect(retryAfter(1e21)).toBe('86400');
    expect(retryAfter(86_399.5)).toBe('86400');
  });

  it('serialises to { error, error_description }', () => {
    expect(new TokenGuardError('ERR_TOKEN_EXPIRED').toJSON()).toEqual({
      error: 'invalid_token',
      error_description: 'The token has expired',
    });
    expect(new TokenGuardError('ERR_TOKEN_MISSING').toJSON()).toEqual({
      error: 'unauthorized',
      error_description: 'No bearer token in the request',
    });
    expect(new TokenGuardError('ERR_KEYS_UNAVAILABLE').toJSON().error).toBe('temporarily_unavailable');
    expect(JSON.parse(JSON.stringify(new TokenGuardError('ERR_SIGNATURE_INVALID')))).toEqual({
      error: 'invalid_token',
      error_description: 'The token signature is invalid',
    });
  });

  it('sends a use_dpop_nonce answer its nonce as DPoP-Nonce, in the DPoP challenge (RFC 9449 §9)', () => {
    const error = new TokenGuardError('ERR_DPOP_NONCE_REQUIRED', { dpopNonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v' });
    error.scheme = 'DPoP';
    error.dpopAlgorithms = ['ES256'];
    expect(error).toMatchObject({
      status: 401,
      oauthError: 'use_dpop_nonce',
      dpopNonce: 'eyJ7S_zG.eyJH0-Z.HX4w-7v',
    });
    expect(error.headers).toEqual({
      'www-authenticate':
        'Bearer, DPoP error="use_dpop_nonce", error_description="The DPoP proof must carry a nonce from this API", algs="ES256"',
      'dpop-nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v',
    });
    expect(error.toJSON()).toEqual({
      error: 'use_dpop_nonce',
      error_description: 'The DPoP proof must carry a nonce from this API',
    });
    expect(new TokenGuardError('ERR_DPOP_PROOF_INVALID').headers).not.toHaveProperty('dpop-nonce');
  });

  it('sends no DPoP-Nonce that is not an RFC 9449 §8.1 nonce (1*NQCHAR), so no header breaks', () => {
    for (const dpopNonce of ['', 'a b', 'a"b', 'a\\b', 'a\r\nx-injected: 1', 'é']) {
      const error = new TokenGuardError('ERR_DPOP_NONCE_REQUIRED', { dpopNonce });
      expect(error.headers, JSON.stringify(dpopNonce)).not.toHaveProperty('dpop-nonce');
    }
  });

  it('has a default message for every code and a toString without extra data', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const error = new TokenGuardError(code);
      expect(error.toString()).toBe(`TokenGuardError: ${ERROR_CODES[code].message}`);
    }
  });
});
