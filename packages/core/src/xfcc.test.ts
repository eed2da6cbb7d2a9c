import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificates, type TestCertificate } from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { failure } from '../../../test/support/rejections.js';
import { certificateThumbprint } from './mtls.js';
import { authenticateRequest } from './transport.js';
import { createValidator } from './validator.js';
import { envoyClientCertificate } from './xfcc.js';

// Envoy's x-forwarded-client-cert, as a gateway that terminated the client's TLS sets it with
// forward_client_cert_details: SANITIZE_SET and set_current_client_cert_details { cert, subject, uri, dns }.

let alice: TestCertificate;
let mallory: TestCertificate;

beforeAll(async () => {
  [alice, mallory] = await createClientCertificates('alice', 'mallory');
});

const hexHash = (certificate: TestCertificate) => createHash('sha256').update(certificate.der).digest('hex');

/** One XFCC element for `certificate`, the way Envoy writes it (`hash` replaces its Hash). */
function element(certificate: TestCertificate, hash = hexHash(certificate)): string {
  return [
    'By=spiffe://cluster.local/ns/default/sa/api',
    `Hash=${hash}`,
    `Cert="${encodeURIComponent(certificate.pem)}"`,
    'Subject="CN=alice,O=Example \\"Corp\\""',
    'URI=spiffe://cluster.local/ns/default/sa/client',
    'DNS=client.example',
  ].join(';');
}

describe('envoyClientCertificate', () => {
  it("gives the PEM of the one element's Cert, whose thumbprint is the certificate's", () => {
    const pem = envoyClientCertificate(element(alice));
    expect(pem).toBe(alice.pem);
    expect(certificateThumbprint(pem as string)).toBe(alice.thumbprint);
    // Keys in any case, the Hash in upper case, an unquoted Cert.
    expect(envoyClientCertificate(element(alice).replace('Hash=', 'HASH=').replace('Cert=', 'cert='))).toBe(
      alice.pem,
    );
    expect(envoyClientCertificate(element(alice, hexHash(alice).toUpperCase()))).toBe(alice.pem);
    expect(envoyClientCertificate(`Hash=${hexHash(alice)};Cert=${encodeURIComponent(alice.pem)}`)).toBe(
      alice.pem,
    );
  });

  it('gives no certificate for anything it cannot tell is the client certificate', () => {
    const cases: Record<string, unknown> = {
      'no header': undefined,
      empty: '',
      'sent twice': [element(alice), element(alice)],
      // A client's own element ahead of the proxy's (forward_client_cert_details: APPEND_FORWARD).
      'two elements': `${element(mallory)},${element(alice)}`,
      'Hash only (as an Istio sidecar writes it)': `By=spiffe://a;Hash=${hexHash(alice)};Subject="";URI=`,
      // Envoy always sends Hash: a Cert without one is not an element Envoy wrote.
      'Cert without Hash': `Cert="${encodeURIComponent(alice.pem)}"`,
      'Hash twice': `${element(alice)};Hash=${hexHash(alice)}`,
      'Hash of another certificate': element(alice, hexHash(mallory)),
      'Hash not 64 hex digits': element(alice, hexHash(alice).slice(2)),
      'Cert twice': `${element(alice)};Cert="${encodeURIComponent(mallory.pem)}"`,
      'an open quote': `${element(alice)};Subject="CN=unterminated`,
      'a quote inside an unquoted value': `Cert=${encodeURIComponent(alice.pem)}"`,
      'a malformed escape': `Cert="${encodeURIComponent(alice.pem)}%E0%A4%A"`,
      'longer than 16 KiB': `${element(alice)};DNS=${'a'.repeat(16_384)}`,
    };
    for (const [name, value] of Object.entries(cases)) {
      expect(envoyClientCertificate(value as string | undefined), name).toBeUndefined();
    }
  });
});

describe('a certificate-bound token behind Envoy', () => {
  const issuerKey = generateSigningKey('ES256', { kid: 'as-xfcc' });
  const ISS = 'https://issuer.test';
  const AUD = 'https://api.test';

  it('passes with the client certificate the header carries, and with no other', async () => {
    const validator = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey), mtls: true });
    const token = await signToken(
      issuerKey,
      accessTokenClaims(
        { iss: ISS, aud: AUD, nowSec: Math.floor(Date.now() / 1000) },
        { cnf: { 'x5t#S256': alice.thumbprint } },
      ),
    );
    const request = (xfcc: string) => ({
      headers: { authorization: `Bearer ${token}` },
      clientCertificate: envoyClientCertificate(xfcc),
    });
    const { auth } = await authenticateRequest(validator, request(element(alice)));
    expect(auth?.claims.cnf).toEqual({ 'x5t#S256': alice.thumbprint });
    for (const xfcc of [
      element(mallory),
      `${element(mallory)},${element(alice)}`,
      `Hash=${hexHash(alice)}`,
    ]) {
      expect((await failure(authenticateRequest(validator, request(xfcc)))).code, xfcc.slice(0, 40)).toBe(
        'ERR_MTLS_BINDING_MISMATCH',
      );
    }
  });
});
