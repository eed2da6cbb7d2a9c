import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../test/support/keys.js';
import { TokenGuardError } from './errors.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * Defects of core's DPoP support found by helper-82 in files it does not own (transport.ts,
 * options.ts): these tests fail until they are fixed.
 */

const ALGS_TEXT = 'ES256 RS256 EdDSA';

function makeValidator(): Validator {
  return createValidator({
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    jwks: { keys: [generateSigningKey('ES256', { kid: 'as-1' }).publicJwk] },
    realm: 'api',
    dpop: { algorithms: ['ES256', 'RS256', 'EdDSA'] },
  });
}

async function refusalOf(
  validator: Validator,
  source: TokenSource,
  transport = {},
): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source, { transport });
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

describe('RFC 9449 §7.1: the error of a DPoP-scheme request goes in the DPoP challenge (transport.ts)', () => {
  it('puts invalid_request of malformed DPoP credentials in the DPoP challenge, not the Bearer one', async () => {
    const validator = makeValidator();
    for (const authorization of ['DPoP a b', 'DPoP "abc"', 'DPoP']) {
      const error = await refusalOf(validator, {
        method: 'GET',
        url: '/orders',
        origin: 'https://api.test',
        headers: { authorization, dpop: 'x.y.z' },
      });
      expect(error.code).toBe('ERR_INVALID_REQUEST');
      expect(error.wwwAuthenticate).toBe(
        `Bearer realm="api", DPoP realm="api", error="invalid_request", error_description="${error.description}", algs="${ALGS_TEXT}"`,
      );
    }
  });

  it('puts invalid_request of a DPoP token also sent in the query string in the DPoP challenge', async () => {
    const validator = makeValidator();
    const error = await refusalOf(
      validator,
      {
        method: 'GET',
        url: '/orders?access_token=abc',
        origin: 'https://api.test',
        headers: { authorization: 'DPoP abc', dpop: 'x.y.z' },
      },
      { query: true },
    );
    expect(error.code).toBe('ERR_INVALID_REQUEST');
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="api", DPoP realm="api", error="invalid_request", error_description="${error.description}", algs="${ALGS_TEXT}"`,
    );
  });
});

describe('the dpop option names what is wrong (options.ts)', () => {
  it('says a symmetric algorithm in dpop.algorithms is not asymmetric, as its schema means to', () => {
    let message = '';
    try {
      createValidator({
        issuer: 'https://issuer.test',
        audience: 'https://api.test',
        jwks: { keys: [] },
        dpop: { algorithms: ['HS256' as 'ES256'] },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as TypeError).message;
    }
    // Today: 'tokenguard: invalid option "dpop": Invalid input' (the union of true and the object
    // hides the object's own error).
    expect(message).toMatch(/"dpop\.algorithms(\.0)?": HS256 is not an asymmetric algorithm/);
  });
});
