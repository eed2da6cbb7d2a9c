/**
 * README "## Options" / `introspection`: `privateKey`, `privateKeyAlg`, `privateKeyKid` and
 * `assertionAudience` belong to `private_key_jwt`. Outside it, `privateKey` is refused ("is only used with
 * private_key_jwt") and so is `clientSecret` beside `private_key_jwt`; but `privateKeyAlg`,
 * `privateKeyKid` and `assertionAudience` with `client_secret_basic`/`client_secret_post` are accepted and
 * do nothing: the introspection request goes out with the client secret, silently ignoring them (the
 * situation the `tenantTtlSec` and `maxTenants` refusals were made for).
 */
import { createValidator } from '@tokenguard/core';
import { describe, expect, it } from 'vitest';
import { typeErrorOf } from './support/rejections.js';

const BASE = { issuer: 'https://id.example/', audience: 'https://api.example' };
const SECRET = { clientId: 'api', clientSecret: 'secret' };

describe('private_key_jwt fields beside a client secret', () => {
  it('privateKey is refused (holds today)', () => {
    const message = typeErrorOf(() =>
      createValidator({ ...BASE, introspection: { ...SECRET, privateKey: { kty: 'EC' } } } as never),
    );
    expect(message).toMatch(/invalid option "introspection\.privateKey": is only used with private_key_jwt/);
  });

  it.each([
    ['privateKeyAlg', 'ES256', 'client_secret_basic'],
    ['privateKeyKid', 'key-1', 'client_secret_basic'],
    ['assertionAudience', 'https://id.example/', 'client_secret_basic'],
    ['privateKeyKid', 'key-1', 'client_secret_post'],
  ] as const)('%s (%s) with %s is refused, naming it', (field, value, authMethod) => {
    const message = typeErrorOf(() =>
      createValidator({ ...BASE, introspection: { ...SECRET, authMethod, [field]: value } } as never),
    );
    expect(message).toMatch(new RegExp(`invalid option "introspection\\.${field}"`));
  });
});
