import { describe, expect, it } from 'vitest';
import { authenticateClient } from './client-auth.js';
import { Redacted } from './secret.js';

/** How an authorization server reads a Basic header under RFC 6749 §2.3.1: base64, then form-decode each half. */
function readBasic(header: string | undefined): { id: string; secret: string } {
  const decoded = Buffer.from((header ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const formDecode = (part: string) => new URLSearchParams(`v=${part}`).get('v') ?? '';
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

describe('authenticateClient', () => {
  it('form-encodes id and secret before base64 for client_secret_basic (RFC 6749 §2.3.1)', async () => {
    const id = 'orders api:v2';
    const secret = "p@ss w0rd+/:%&=!'()*~é😀";
    const { headers, params } = await authenticateClient(
      {
        clientId: id,
        authMethod: 'client_secret_basic',
        clientSecret: new Redacted(secret),
        clientKey: undefined,
      },
      'https://as.example',
    );
    expect(params).toEqual({});
    expect(readBasic(headers.authorization)).toEqual({ id, secret });
    // The id's own colon is encoded, so the first colon separates id from secret; a space is a '+'.
    const raw = Buffer.from((headers.authorization ?? '').slice(6), 'base64').toString();
    expect(raw.startsWith('orders+api%3Av2:')).toBe(true);
  });

  it('sends client_secret_post credentials as form parameters, unencoded (the form encodes them)', async () => {
    const { headers, params } = await authenticateClient(
      {
        clientId: 'a b',
        authMethod: 'client_secret_post',
        clientSecret: new Redacted('x+y'),
        clientKey: undefined,
      },
      'https://as.example',
    );
    expect(headers).toEqual({});
    expect(new URLSearchParams(new URLSearchParams(params).toString()).get('client_secret')).toBe('x+y');
  });
});
