/**
 * Adversarial re-read (session 15) of 074c700..HEAD: dpop.nonce.previousSecrets, the cache of bound
 * tokens, RFC 9440 Client-Cert in forwardedCertificate, the DPoP benchmark. Real certificates, tokens
 * and validators; the benchmark scenario is run for real with a few requests.
 *
 * Tests named "was a ... defect" failed on the code they were written against (147f540).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DPOP_KEPT,
  DPOP_VERIFIED,
  dpopMaterial,
  dpopValidator,
  preflightDpop,
} from '../../../benchmarks/scenarios/dpop.js';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import { certificateThumbprint, forwardedCertificate } from './mtls.js';
import { authenticateRequest } from './transport.js';
import { createValidator } from './validator.js';
import { envoyClientCertificate } from './xfcc.js';

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const NOW_SEC = Math.floor(Date.now() / 1000);
const issuerKey = generateSigningKey('ES256', { kid: 'as-s15' });
const CORE_README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ROOT_README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

let alice: TestCertificate;
/** A certificate whose DER length is not a multiple of 3: its base64 ends in pad bits. */
let padded: TestCertificate;

beforeAll(async () => {
  alice = await createClientCertificate({ commonName: 'alice' });
  for (let i = 0; i < 30; i++) {
    const candidate = await createClientCertificate({ commonName: `padded-${i}` });
    if (candidate.der.length % 3 !== 0) {
      padded = candidate;
      break;
    }
  }
  expect(padded, 'a certificate whose DER length is 3n + 1 or 3n + 2').toBeDefined();
});

/** `der`'s base64 with a pad bit of its last significant character set: other text, the same bytes. */
function withPadBitSet(der: Uint8Array): string {
  const canonical = Buffer.from(der).toString('base64');
  const significant = canonical.replace(/=+$/, '');
  const last = significant[significant.length - 1] as string;
  // The last character of 3n + 1 bytes carries 4 unused bits, of 3n + 2 bytes 2: its lowest is one.
  const stray = `${significant.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(last) | 1]}`;
  expect(stray).not.toBe(significant);
  expect(Buffer.from(stray, 'base64').equals(Buffer.from(der))).toBe(true);
  return `${stray}${canonical.slice(significant.length)}`;
}

describe('RFC 9440 Client-Cert (forwardedCertificate)', () => {
  it('was an interop defect (RFC 8941 §4.2.7 "parsers SHOULD NOT fail when non-zero pad bits are present"): a Client-Cert field with pad bits set is the certificate it decodes to, and a token bound to it passes', async () => {
    const base64 = withPadBitSet(padded.der);
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(issuerKey),
      mtls: true,
    });
    const token = await signToken(
      issuerKey,
      accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, { cnf: { 'x5t#S256': padded.thumbprint } }),
    );
    for (const field of [`:${base64}:`, `:${base64.replace(/=+$/, '')}:`]) {
      const read = forwardedCertificate(field);
      expect(read, field).toBeInstanceOf(Uint8Array);
      expect(certificateThumbprint(read as Uint8Array), field).toBe(padded.thumbprint);
      const { auth } = await authenticateRequest(validator, {
        headers: { authorization: `Bearer ${token}` },
        clientCertificate: read,
      });
      expect(auth?.claims.cnf).toEqual({ 'x5t#S256': padded.thumbprint });
    }
  });

  it("was a docs defect: the README's advice for Envoy (x-forwarded-client-cert with Cert=) leads to a header forwardedCertificate reads", () => {
    // What Envoy sends with forward_client_cert_details + set_current_client_cert_details { cert: true }.
    const hash = createHash('sha256').update(alice.der).digest('hex');
    const xfcc = `By=spiffe://cluster.local/ns/default/sa/api;Hash=${hash};Cert="${encodeURIComponent(alice.pem)}";Subject="CN=alice";URI=`;
    // Read since by envoyClientCertificate, which the advice names.
    const read = envoyClientCertificate(xfcc);
    const readsXfcc = read !== undefined && certificateThumbprint(read) === alice.thumbprint;
    const advice =
      CORE_README.split('\n\n').find((paragraph) => paragraph.includes('x-forwarded-client-cert')) ?? '';
    expect(advice).toContain('set_current_client_cert_details: { cert: true }');
    expect(advice).toContain('envoyClientCertificate');
    // Either the XFCC element's Cert= is read, or the README says where the certificate must go instead
    // (Envoy's %DOWNSTREAM_PEER_CERT%, a URL-encoded PEM, in a header of its own) or that XFCC is not read.
    const saysWhere =
      /DOWNSTREAM_PEER_CERT|(?:not|never) read[^.]*x-forwarded-client-cert|x-forwarded-client-cert[^.]*(?:is|are) (?:not|never) read/i.test(
        advice,
      );
    expect(readsXfcc || saysWhere).toBe(true);
  });
});

describe('the DPoP benchmark (benchmarks/scenarios/dpop.ts)', () => {
  it('was a bench defect: its preflight refuses to measure when the "token kept" contender keeps nothing, or the "verified every request" one keeps the token', async () => {
    const material = dpopMaterial();
    const outcome = (name: string, keeps: boolean, extra: { tokenCache?: false }) =>
      preflightDpop({ name, validator: dpopValidator(material.issuerKey, extra), keeps }, material).then(
        () => 'measured',
        (error: Error) => `refused: ${error.message}`,
      );
    // The contenders as the scenario makes them are measured.
    expect(await outcome(DPOP_KEPT, true, {})).toBe('measured');
    expect(await outcome(DPOP_VERIFIED, false, { tokenCache: false })).toBe('measured');
    // A "kept" row without a cache of bound tokens, or a baseline with one: refused, the contender named.
    expect(await outcome(DPOP_KEPT, true, { tokenCache: false })).toMatch(
      /^refused: \[bench\] dpop preflight: tokenguard, token kept .* keeps 0 tokens/,
    );
    expect(await outcome(DPOP_VERIFIED, false, {})).toMatch(
      /^refused: \[bench\] dpop preflight: tokenguard, token verified every request .* keeps 1 tokens/,
    );
  });
});

describe('docs of the cache of bound tokens', () => {
  it("was a docs defect: the root README's tokenCache row (and the option's TSDoc) says bound tokens (dpop, mtls) have a second cache of the same size", () => {
    const row = ROOT_README.split('\n').find((line) => line.startsWith('| `tokenCache`')) ?? '';
    expect(row).not.toBe('');
    // The core README's row does; a reader sizing memory from the root README sees one cache.
    expect(CORE_README.split('\n').find((line) => line.startsWith('| `tokenCache`'))).toMatch(/second cache/);
    expect(row).toMatch(/second cache|bound tokens/);
    // So does the option's TSDoc, what an editor shows for `tokenCache`.
    const options = readFileSync(new URL('./options.ts', import.meta.url), 'utf8');
    const tsdoc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*tokenCache\?:/.exec(options)?.[1] ?? '';
    expect(tsdoc).toContain('cache of verified tokens');
    expect(tsdoc).toMatch(/second cache|bound tokens/);
  });

  it("was a docs defect: the core README's state() row says when tokenCache.boundEntries is absent, as ValidatorState's TSDoc does", () => {
    const base = { issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey) };
    // With dpop, yet no boundEntries: under acceptBoundTokens, and with tokenCache: false.
    expect(
      createValidator({ ...base, dpop: true, acceptBoundTokens: true }).state().tokenCache,
    ).not.toHaveProperty('boundEntries');
    expect(createValidator({ ...base, dpop: true, tokenCache: false }).state().tokenCache).not.toHaveProperty(
      'boundEntries',
    );
    const row = CORE_README.split('\n').find((line) => line.startsWith('| `state()`')) ?? '';
    expect(row).toContain('boundEntries');
    expect(row).toMatch(/acceptBoundTokens/);
  });
});
