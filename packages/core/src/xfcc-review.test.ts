import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificates, type TestCertificate } from '../../../test/support/certificates.js';
import { envoyClientCertificate } from './xfcc.js';

// Review of envoyClientCertificate (98f5856). Headers are written the way Envoy's
// ConnectionManagerUtility::mutateXfccRequestHeader writes them: By, Hash, then Cert="…", Chain="…",
// Subject="…" (RFC 2253, escaped by BoringSSL), URI=… and DNS=… unquoted, joined with ';'. Cert is
// the PEM with "\n", " ", "+", "/", "=" replaced by %0A, %20, %2B, %2F, %3D.

let alice: TestCertificate;
let mallory: TestCertificate;

beforeAll(async () => {
  [alice, mallory] = await createClientCertificates('alice', 'mallory');
});

const hexHash = (certificate: TestCertificate) => createHash('sha256').update(certificate.der).digest('hex');
const envoyEncoded = (pem: string) =>
  pem
    .replace(/\n/g, '%0A')
    .replace(/ /g, '%20')
    .replace(/\+/g, '%2B')
    .replace(/\//g, '%2F')
    .replace(/=/g, '%3D');

/** An Istio ingress gateway's element: SANITIZE_SET with { subject, cert, uri, dns }, Istio's gateway default. */
function gatewayElement(certificate: TestCertificate, uri = ''): string {
  return [
    'By=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
    `Hash=${hexHash(certificate)}`,
    `Cert="${envoyEncoded(certificate.pem)}"`,
    'Subject="CN=alice"',
    `URI=${uri}`,
    'DNS=client.example',
  ].join(';');
}

const readme = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('envoyClientCertificate, reviewed', () => {
  it('was a docs defect: "behind an Istio gateway" works with the app\'s sidecar, or the READMEs say the sidecar\'s element makes it give nothing', () => {
    // Istio's sidecar inbound listener is APPEND_FORWARD with { subject, uri, dns } (hard-coded): the
    // app behind an injected sidecar gets the gateway's element (with the client's Cert) and then the
    // sidecar's own (Hash of the gateway's workload certificate, no Cert). Two elements: refused.
    const header = `${gatewayElement(alice)},By=spiffe://cluster.local/ns/default/sa/api;Hash=${hexHash(mallory)};Subject="";URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`;
    const reads = envoyClientCertificate(header) === alice.pem;
    const advice = {
      core:
        readme('../README.md')
          .split('\n\n')
          .find((paragraph) => paragraph.includes('envoyClientCertificate(value)')) ?? '',
      express: readme('../../express/README.md'),
      fastify: readme('../../fastify/README.md'),
      hono: readme('../../hono/README.md'),
    };
    for (const [name, text] of Object.entries(advice)) {
      const istio = text.split('\n\n').find((paragraph) => /Istio gateway/.test(paragraph)) ?? '';
      expect(istio, name).toContain('envoyClientCertificate');
      expect(
        reads || /sidecar/i.test(istio),
        `${name}: an Istio sidecar's appended element is not mentioned`,
      ).toBe(true);
    }
  });

  it('gives no certificate for a Cert that is not one PEM certificate, with a Hash or without', () => {
    // With a Hash these are refused (certificateThumbprint gives undefined); without one they came back as
    // "the PEM text of the client certificate".
    const twoCertificates = envoyEncoded(alice.pem + mallory.pem);
    expect(envoyClientCertificate(`Hash=${hexHash(alice)};Cert="${twoCertificates}"`)).toBeUndefined();
    expect(envoyClientCertificate(`Cert="${twoCertificates}"`)).toBeUndefined();
    expect(envoyClientCertificate('Cert=hello')).toBeUndefined();
    expect(envoyClientCertificate('Cert="not%20a%20certificate"')).toBeUndefined();
  });

  it("reads the element Envoy writes for a certificate whose URI SAN has a ';' (Envoy does not quote URI)", () => {
    // Istio's gateway sets uri: true by default. Cert and Hash come first and are the proxy's; a pair
    // without '=' after them cannot add a Cert or a Hash (a second one is refused anyway).
    expect(envoyClientCertificate(gatewayElement(alice))).toBe(alice.pem);
    expect(envoyClientCertificate(gatewayElement(alice, 'https://client.example/app;v2'))).toBe(alice.pem);
  });
});
