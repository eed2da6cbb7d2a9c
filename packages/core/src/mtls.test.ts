import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateClient,
  createClientCertificate,
  type HttpsTestServer,
  startHttpsServer,
  type TestCertificate,
} from '../../../test/support/certificates.js';
import { dpopClient } from '../../../test/support/dpop.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { resolveAdapterOptions } from './adapter-options.js';
import { checkBinding, type KeyProof } from './claims.js';
import { TokenGuardError } from './errors.js';
import { certificateThumbprint, forwardedCertificate, peerCertificateOf } from './mtls.js';
import { authenticateRequest, authenticateRequestNow, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const issuerKey = generateSigningKey('ES256', { kid: 'as-mtls' });

let alice: TestCertificate;
let mallory: TestCertificate;
let rsaClient: TestCertificate;

beforeAll(async () => {
  [alice, mallory, rsaClient] = await Promise.all([
    createClientCertificate({ commonName: 'alice' }),
    createClientCertificate({ commonName: 'mallory' }),
    createClientCertificate({ keyType: 'rsa', commonName: 'rsa' }),
  ]);
});

const nowSec = () => Math.floor(Date.now() / 1000);

function tokenWith(overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken(issuerKey, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: nowSec() }, overrides));
}

function mtlsValidator(extra: Record<string, unknown> = {}): Validator {
  return createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey), mtls: true, ...extra });
}

async function refusalOf(validator: Validator, source: TokenSource): Promise<TokenGuardError> {
  try {
    await authenticateRequest(validator, source);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return error as TokenGuardError;
  }
  throw new Error('the request was accepted');
}

const bearer = (token: string, clientCertificate?: Uint8Array | string): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate,
});

describe('certificateThumbprint (RFC 8705 §3.1 x5t#S256)', () => {
  it('is the base64url SHA-256 of the DER, as node:crypto X509Certificate fingerprints it', () => {
    for (const certificate of [alice, rsaClient]) {
      const fingerprint = new X509Certificate(certificate.pem).fingerprint256.replaceAll(':', '');
      const expected = Buffer.from(fingerprint, 'hex').toString('base64url');
      expect(certificateThumbprint(certificate.der)).toBe(expected);
      expect(certificateThumbprint(Buffer.from(certificate.der))).toBe(expected);
    }
  });

  it('reads PEM text the same as its DER, whatever its line breaks and surrounding blanks', () => {
    const body = Buffer.from(alice.der).toString('base64');
    const oneLine = `-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`;
    const crlf = `\r\n-----BEGIN CERTIFICATE-----\r\n${body.replace(/(.{64})/g, '$1\r\n')}\r\n-----END CERTIFICATE-----\r\n`;
    for (const pem of [alice.pem, oneLine, crlf]) expect(certificateThumbprint(pem)).toBe(alice.thumbprint);
  });

  it('gives undefined for anything that is not one certificate', () => {
    const notCertificates: unknown[] = [
      '',
      'not a certificate',
      alice.pem + mallory.pem,
      alice.pem.replace('CERTIFICATE', 'PRIVATE KEY'),
      alice.pem.replace('-----END CERTIFICATE-----', ''),
      '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----',
      new Uint8Array(0),
      { raw: alice.der },
      42,
    ];
    for (const value of notCertificates) {
      expect(certificateThumbprint(value as string)).toBeUndefined();
    }
  });
});

describe('peerCertificateOf, on a real TLS server on 127.0.0.1', () => {
  let https: HttpsTestServer;
  const calls = new WeakMap<object, number>();

  beforeAll(async () => {
    https = await startHttpsServer((req, res) => {
      const socket = req.socket as TLSSocket;
      // Counts the socket's own getPeerCertificate calls, once per connection (the real method runs).
      if (!calls.has(socket)) {
        calls.set(socket, 0);
        const original = socket.getPeerCertificate.bind(socket);
        socket.getPeerCertificate = ((detailed?: boolean) => {
          calls.set(socket, (calls.get(socket) ?? 0) + 1);
          return original(detailed as false);
        }) as TLSSocket['getPeerCertificate'];
      }
      const first = peerCertificateOf(socket);
      const second = peerCertificateOf(socket);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          der: first === undefined ? null : Buffer.from(first).toString('base64'),
          same: first === second,
          calls: calls.get(socket),
        }),
      );
    });
  });

  afterAll(() => https.close());

  it('gives the DER of the certificate the client presented, and reads it once per connection', async () => {
    const client = createCertificateClient({ certificate: alice, ca: https.ca });
    try {
      const first = (await client.request(`${https.url}/a`)).json() as Record<string, unknown>;
      const second = (await client.request(`${https.url}/b`)).json() as Record<string, unknown>;
      expect(first).toEqual({ der: Buffer.from(alice.der).toString('base64'), same: true, calls: 1 });
      // The same keep-alive connection: answered from memory, the socket is not asked again.
      expect(second).toEqual({ der: Buffer.from(alice.der).toString('base64'), same: true, calls: 1 });
    } finally {
      await client.close();
    }
  });

  it('gives undefined when the client sent no certificate', async () => {
    const client = createCertificateClient({ ca: https.ca });
    try {
      expect((await client.request(`${https.url}/`)).json()).toMatchObject({ der: null, calls: 1 });
    } finally {
      await client.close();
    }
  });

  it('gives undefined for a plain socket, a socket whose method throws, and non-objects', () => {
    expect(peerCertificateOf({ remoteAddress: '127.0.0.1' })).toBeUndefined();
    expect(
      peerCertificateOf({
        getPeerCertificate() {
          throw new Error('closed');
        },
      }),
    ).toBeUndefined();
    expect(peerCertificateOf({ getPeerCertificate: () => ({}) })).toBeUndefined();
    for (const value of [undefined, null, 'socket', 1]) expect(peerCertificateOf(value)).toBeUndefined();
  });
});

describe('a certificate-bound token, with the mtls option (RFC 8705 §3)', () => {
  it('is accepted with the certificate it is bound to, as DER or PEM', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    for (const certificate of [alice.der, alice.pem]) {
      const { auth } = await authenticateRequest(validator, bearer(token, certificate));
      expect(auth?.subject).toBe('user-1');
      expect(auth?.claims.cnf).toEqual({ 'x5t#S256': alice.thumbprint });
    }
  });

  it('is refused with another certificate: 401 invalid_token in the Bearer challenge', async () => {
    const validator = mtlsValidator({ realm: 'api' });
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const error = await refusalOf(validator, bearer(token, mallory.der));
    expect(error).toMatchObject({
      code: 'ERR_MTLS_BINDING_MISMATCH',
      status: 401,
      oauthError: 'invalid_token',
    });
    expect(error.message).toBe(
      'Invalid certificate binding: the token is bound to another TLS client certificate',
    );
    expect(error.wwwAuthenticate).toBe(
      `Bearer realm="api", error="invalid_token", error_description="${error.description}"`,
    );
  });

  it('is refused without a certificate, or with one that is not a certificate', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    for (const certificate of [undefined, 'garbage', new Uint8Array(0)]) {
      const error = await refusalOf(validator, bearer(token, certificate));
      expect(error.code).toBe('ERR_MTLS_BINDING_MISMATCH');
      expect(error.message).toContain('came without one');
    }
  });

  it('is never answered from the verified-token cache: each request proves its certificate', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    // Twice: an unbound token would be cached by now (stored from its second verification on).
    for (let i = 0; i < 2; i += 1) {
      expect((await authenticateRequest(validator, bearer(token, alice.der))).auth?.subject).toBe('user-1');
    }
    // Had it been cached, the lookup before any binding check would answer these.
    expect((await refusalOf(validator, bearer(token))).code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect((await refusalOf(validator, bearer(token, mallory.der))).code).toBe('ERR_MTLS_BINDING_MISMATCH');
    await expect(validator.validate(token)).rejects.toMatchObject({ code: 'ERR_MTLS_BINDING_MISMATCH' });
  });

  it('is refused when also bound by a method the request does not prove (jkt sent as Bearer)', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint, jkt: 'a'.repeat(43) } });
    const error = await refusalOf(validator, bearer(token, alice.der));
    expect(error.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(error.message).toBe(
      'Invalid certificate binding: the token is also bound by cnf jkt, which a client certificate does not prove',
    );
  });

  it('over mTLS with a DPoP proof: both bindings proven pass; a missing certificate is refused', async () => {
    const validator = mtlsValidator({ dpop: { algorithms: ['ES256'] } });
    const client = dpopClient(generateSigningKey('ES256', { kid: 'dpop-client' }));
    const token = await tokenWith({ cnf: { jkt: client.jkt, 'x5t#S256': alice.thumbprint } });
    const request = async (clientCertificate?: Uint8Array): Promise<TokenSource> => ({
      method: 'GET',
      url: '/me',
      origin: AUD,
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await client.proof({ htm: 'GET', htu: `${AUD}/me`, token }),
      },
      clientCertificate,
    });
    expect((await authenticateRequest(validator, await request(alice.der))).auth?.subject).toBe('user-1');
    const error = await refusalOf(validator, await request());
    expect(error.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(error.scheme).toBe('DPoP');
    expect((await refusalOf(validator, await request(mallory.der))).code).toBe('ERR_MTLS_BINDING_MISMATCH');
  });
});

describe('an unbound token, with the mtls option', () => {
  it('is accepted with or without a certificate, and cached as before', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith();
    // The cache stores a token from its second verification on (transport.test.ts).
    await authenticateRequest(validator, bearer(token, alice.der));
    const first = await authenticateRequest(validator, bearer(token, alice.der));
    expect(first.auth?.subject).toBe('user-1');
    // Answered from the cache at once (not a promise), whatever certificate comes with it.
    const again = authenticateRequestNow(validator, bearer(token, mallory.der));
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as { auth: unknown }).auth).toBe(first.auth);
    expect(authenticateRequestNow(validator, bearer(token))).not.toBeInstanceOf(Promise);
  });

  it('as a DPoP-bound token sent as Bearer with a certificate, is still refused as bound', async () => {
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { jkt: 'a'.repeat(43) } });
    expect((await refusalOf(validator, bearer(token, alice.der))).code).toBe('ERR_TOKEN_BOUND');
  });
});

describe('without the mtls option', () => {
  it('refuses a certificate-bound token even with its certificate, and reads no certificate', async () => {
    const validator = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey) });
    expect(validator.options.mtls).toBe(false);
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const source = bearer(token);
    Object.defineProperty(source, 'clientCertificate', {
      get() {
        throw new Error('the certificate was read');
      },
    });
    const error = await refusalOf(validator, source);
    expect(error.code).toBe('ERR_TOKEN_BOUND');
    expect(error.message).toContain('x5t#S256');
  });
});

describe('the mtls option', () => {
  it('must be a boolean, named in the TypeError', () => {
    expect(() => mtlsValidator({ mtls: 'yes' })).toThrow(TypeError);
    expect(() => mtlsValidator({ mtls: 'yes' })).toThrow('"mtls"');
  });

  it('is refused together with acceptBoundTokens, which would waive its check', () => {
    expect(() => mtlsValidator({ acceptBoundTokens: true })).toThrow(TypeError);
    expect(() => mtlsValidator({ acceptBoundTokens: true })).toThrow('"acceptBoundTokens"');
    expect(mtlsValidator({ acceptBoundTokens: false }).options.mtls).toBe(true);
  });

  it('says so in the RFC 9728 metadata (tls_client_certificate_bound_access_tokens)', () => {
    const resourceMetadata = { resource: AUD };
    expect(mtlsValidator({ resourceMetadata }).options.resourceMetadata?.document).toMatchObject({
      tls_client_certificate_bound_access_tokens: true,
    });
    const plain = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey), resourceMetadata });
    expect(plain.options.resourceMetadata?.document).not.toHaveProperty(
      'tls_client_certificate_bound_access_tokens',
    );
  });
});

describe('checkBinding of an introspection answer (checked at each use)', () => {
  const rules = { acceptBoundTokens: false, mtls: true };
  const codeOf = (cnf: unknown, proof: KeyProof | undefined): string | undefined => {
    try {
      checkBinding({ cnf }, proof, rules, 'introspection answer');
    } catch (error) {
      return (error as TokenGuardError).code;
    }
    return undefined;
  };

  it('holds the answer to the certificate of each request', () => {
    const cnf = { 'x5t#S256': 'thumb' };
    expect(codeOf(cnf, { certificate: 'thumb' })).toBeUndefined();
    expect(codeOf(cnf, { certificate: 'other' })).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(codeOf(cnf, undefined)).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(codeOf(undefined, { certificate: 'thumb' })).toBeUndefined();
    expect(codeOf({}, { certificate: 'thumb' })).toBe('ERR_TOKEN_BOUND');
    expect(codeOf('x5t', { certificate: 'thumb' })).toBe('ERR_TOKEN_BOUND');
    expect(codeOf({ 'x5t#S256': 'thumb' }, { jkt: 'k' })).toBe('ERR_DPOP_BINDING_MISMATCH');
  });
});

describe("the adapters' clientCertificate option (resolveAdapterOptions)", () => {
  const reader = (): string => alice.pem;

  it('is taken beside a validator and among validator options, and handed back as given', () => {
    const validator = mtlsValidator();
    expect(resolveAdapterOptions(validator, { clientCertificate: reader }).clientCertificate).toBe(reader);
    expect(resolveAdapterOptions({ validator, clientCertificate: reader }).clientCertificate).toBe(reader);
    const owned = resolveAdapterOptions({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(issuerKey),
      mtls: true,
      clientCertificate: reader,
    });
    expect(owned.clientCertificate).toBe(reader);
    // Not handed to createValidator as one of its options.
    expect(owned.validator.options.mtls).toBe(true);
    expect(resolveAdapterOptions(validator).clientCertificate).toBeUndefined();
  });

  it('must be a function: a TypeError naming it otherwise', () => {
    const validator = mtlsValidator();
    for (const value of ['x-client-cert', true, {}]) {
      expect(() =>
        resolveAdapterOptions(validator, { clientCertificate: value as unknown as () => undefined }),
      ).toThrow(/invalid option "clientCertificate": must be a function/);
    }
  });
});

describe('forwardedCertificate (a proxy-forwarded header)', () => {
  it('URL-decodes an escaped PEM and leaves a plain one as it is', () => {
    expect(forwardedCertificate(encodeURIComponent(alice.pem))).toBe(alice.pem);
    const oneLine = alice.pem.replaceAll('\n', ' ');
    expect(forwardedCertificate(oneLine)).toBe(oneLine);
    expect(certificateThumbprint(forwardedCertificate(encodeURIComponent(alice.pem)) as string)).toBe(
      alice.thumbprint,
    );
  });

  it('gives undefined, never a throw, for no header, a repeated one, or a malformed escape', () => {
    for (const value of [undefined, null, '', [alice.pem, mallory.pem], '%E0%A4%A', `${alice.pem}%`]) {
      expect(forwardedCertificate(value as string | undefined)).toBeUndefined();
    }
  });

  it("reads RFC 9440's Client-Cert field (the DER in base64 between colons) as the certificate's DER", () => {
    const base64 = Buffer.from(alice.der).toString('base64');
    for (const field of [`:${base64}:`, `:${base64.replace(/=+$/, '')}:`, ` \t:${base64}: `]) {
      const der = forwardedCertificate(field);
      expect(der, field).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(der as Uint8Array).equals(Buffer.from(alice.der))).toBe(true);
      expect(certificateThumbprint(der as Uint8Array)).toBe(alice.thumbprint);
    }
  });

  it('gives no certificate for a Client-Cert field that is not a byte sequence (pad bits set are one)', async () => {
    const base64 = Buffer.from(alice.der).toString('base64');
    // Bytes of a length 3n + 1, so their base64 ends in two significant characters and "==".
    const der = Buffer.from(alice.der);
    const odd = der.subarray(0, der.length - ((der.length - 1) % 3)).toString('base64');
    expect(odd.endsWith('==')).toBe(true);
    // The last significant character carries 4 unused bits: set, the text differs and the bytes do not
    // (RFC 8941 §4.2.7: parsers should not fail on them).
    const lastSignificant = odd.length - 3;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const next = alphabet[alphabet.indexOf(odd[lastSignificant] as string) + 1];
    const stray = `${odd.slice(0, lastSignificant)}${next}==`;
    expect(
      Buffer.from(forwardedCertificate(`:${stray}:`) as Uint8Array).equals(Buffer.from(odd, 'base64')),
    ).toBe(true);
    for (const field of [
      `:${base64}`,
      `${base64}:`,
      '::',
      `:${base64.slice(0, 10)}$${base64.slice(10)}:`,
      `:${base64}::`,
      `:${odd.slice(0, -1)}:`,
      // Five characters: a length no byte sequence encodes to.
      ':AAAAA:',
    ]) {
      // Not a byte sequence: undefined, or the text as it is (read as PEM, which it is not either).
      const read = forwardedCertificate(field);
      expect(read === undefined ? undefined : certificateThumbprint(read), field).toBeUndefined();
    }
    // Not misread as PEM either: a validator given it refuses a certificate-bound token.
    const validator = mtlsValidator();
    const token = await tokenWith({ cnf: { 'x5t#S256': alice.thumbprint } });
    const refused = await refusalOf(validator, bearer(token, forwardedCertificate(`:${base64}`) as string));
    expect(refused.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    const { auth } = await authenticateRequest(
      validator,
      bearer(token, forwardedCertificate(`:${base64}:`) as Uint8Array),
    );
    expect(auth?.claims.cnf).toEqual({ 'x5t#S256': alice.thumbprint });
  });
});
