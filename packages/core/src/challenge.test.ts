import { describe, expect, it } from 'vitest';
import { formatChallenge } from './challenge.js';

describe('formatChallenge', () => {
  it('gives a bare Bearer challenge with no parameters', () => {
    expect(formatChallenge({})).toBe('Bearer');
  });

  it('gives a realm-only challenge', () => {
    expect(formatChallenge({ realm: 'api' })).toBe('Bearer realm="api"');
  });

  it('orders the parameters realm, error, error_description, error_uri, scope', () => {
    expect(
      formatChallenge({
        scope: 'a b',
        errorUri: 'https://docs.example/e',
        errorDescription: 'desc',
        error: 'insufficient_scope',
        realm: 'api',
      }),
    ).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="desc", error_uri="https://docs.example/e", scope="a b"',
    );
  });

  it('escapes double quotes and backslashes in the realm', () => {
    expect(formatChallenge({ realm: 'say "hi" \\ bye' })).toBe('Bearer realm="say \\"hi\\" \\\\ bye"');
  });

  it('keeps error, error_description and scope within %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3): no " or \\ at all', () => {
    const value = formatChallenge({
      error: 'invalid"token',
      errorDescription: 'The token typ ["at+jwt"] is not a\\b',
      scope: 'a"b c\\d',
    });
    expect(value).toBe(
      `Bearer error="invalid'token", error_description="The token typ ['at+jwt'] is not a?b", scope="a'b c?d"`,
    );
  });

  it('keeps error_uri within %x21 / %x23-5B / %x5D-7E (RFC 6750 §3), percent-encoding anything else', () => {
    expect(formatChallenge({ errorUri: 'https://docs.example/a b"c\\d\u00e9' })).toBe(
      'Bearer error_uri="https://docs.example/a%20b%22c%5Cd%C3%A9"',
    );
  });

  it('replaces control and non-ASCII characters so the header stays valid', () => {
    const value = formatChallenge({ realm: 'a\r\nSet-Cookie: x=1\u00e9\u0000' });
    expect(value).toBe('Bearer realm="a??Set-Cookie: x=1??"');
    expect(value).toMatch(/^[\x20-\x7e]*$/);
  });

  it('leaves out empty values', () => {
    expect(formatChallenge({ realm: '', error: 'invalid_token' })).toBe('Bearer error="invalid_token"');
  });

  it('uses another scheme when asked', () => {
    expect(formatChallenge({ scheme: 'DPoP', error: 'invalid_token' })).toBe('DPoP error="invalid_token"');
  });

  it('adds acr_values (space-separated) and max_age as RFC 9470 §3 shows them', () => {
    expect(
      formatChallenge({
        error: 'insufficient_user_authentication',
        errorDescription: 'A different authentication level is required',
        acrValues: ['myACR'],
      }),
    ).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"',
    );
    expect(
      formatChallenge({
        realm: 'api',
        error: 'insufficient_user_authentication',
        maxAge: 5,
        acrValues: ['urn:example:mfa', 'phr'],
        resourceMetadata: 'https://api.example/.well-known/oauth-protected-resource',
      }),
    ).toBe(
      'Bearer realm="api", error="insufficient_user_authentication", acr_values="urn:example:mfa phr", max_age="5", resource_metadata="https://api.example/.well-known/oauth-protected-resource"',
    );
  });

  it('keeps acr_values within the RFC 6750 §3 characters even for values no requirement would admit', () => {
    expect(formatChallenge({ acrValues: ['a"b', 'c\\d'] })).toBe(`Bearer acr_values="a'b c?d"`);
    expect(formatChallenge({ acrValues: [], maxAge: 0 })).toBe('Bearer max_age="0"');
    // A space inside a value would split it in two; an empty value would read as nothing.
    expect(formatChallenge({ acrValues: ['a b', '', 'c'] })).toBe('Bearer acr_values="a?b c"');
    expect(formatChallenge({ acrValues: [''] })).toBe('Bearer');
  });

  it('sends max_age only as a non-negative integer (RFC 9470 §3)', () => {
    for (const maxAge of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 2 ** 60]) {
      expect(formatChallenge({ error: 'insufficient_user_authentication', maxAge }), String(maxAge)).toBe(
        'Bearer error="insufficient_user_authentication"',
      );
    }
    expect(formatChallenge({ maxAge: Number.MAX_SAFE_INTEGER })).toBe('Bearer max_age="9007199254740991"');
  });

  it('adds resource_metadata (RFC 9728)', () => {
    expect(
      formatChallenge({ resourceMetadata: 'https://api.example/.well-known/oauth-protected-resource' }),
    ).toBe('Bearer resource_metadata="https://api.example/.well-known/oauth-protected-resource"');
  });
});
