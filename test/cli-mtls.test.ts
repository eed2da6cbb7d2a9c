/**
 * `tokenguard verify --client-certificate <file>` end to end: the real binary (from its sources, in a
 * child process) against a real authorization server, oidc-provider through the dev issuer with mTLS
 * on, which binds JWT and opaque access tokens to a client certificate (`cnf["x5t#S256"]`). Tokens bound
 * to a DPoP key, which the dev issuer cannot bind together with a certificate, are signed here with
 * test/support/keys.ts and their keys served by a JWKS server on 127.0.0.1.
 * Certificates and their thumbprints come from test/support/certificates.ts (node:crypto), never from
 * tokenguard.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from './support/certificates.js';
import { type JwksServer, startJwksServer } from './support/jwks-server.js';
import { accessTokenClaims, generateSigningKey, type SigningKey, signToken } from './support/keys.js';
import { runSource, type SourceRun } from './support/run-source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = 'packages/cli/src/bin.ts';
const API = 'https://api.test';
const OPAQUE = 'https://opaque.test';
/** The issuer of the tokens signed here (not discovered: --jwks-uri names the JWKS server). */
const SIGNED_ISSUER = 'https://signed.test';

function tokenguard(args: readonly string[], env: Record<string, string> = {}): Promise<SourceRun> {
  return runSource(BIN, args, { cwd: ROOT, env });
}

interface CheckLine {
  id: string;
  status: string;
  message: string;
}

const bindingOf = (stdout: string): CheckLine | undefined =>
  (JSON.parse(stdout) as { checks: CheckLine[] }).checks.find((check) => check.id === 'binding');

let issuer: DevIssuer;
let jwks: JwksServer;
let key: SigningKey;
let dir: string;
/** `a`: the certificate tokens are bound to (EC P-256); `b`: another (RSA 2048). */
const certs = {} as Record<'a' | 'b', TestCertificate>;
/** Certificate files: `a` as PEM and DER, `b` as PEM, and files that are not one certificate. */
const files = {} as Record<'aPem' | 'aDer' | 'bPem' | 'combined' | 'chain' | 'key' | 'garbage', string>;
const tokens = {} as Record<'bound' | 'plain' | 'boundOpaque' | 'dpop' | 'dpopAndCertificate', string>;

beforeAll(async () => {
  [issuer, jwks, certs.a, certs.b, dir] = await Promise.all([
    startDevIssuer({ mtls: true }),
    startJwksServer(),
    createClientCertificate(),
    createClientCertificate({ keyType: 'rsa', commonName: 'another client' }),
    mkdtemp(path.join(tmpdir(), 'tokenguard-cli-mtls-')),
  ]);
  key = generateSigningKey('ES256');
  jwks.keys = [key.publicJwk as Record<string, unknown>];
  const contents: Record<keyof typeof files, string | Uint8Array> = {
    aPem: certs.a.pem,
    aDer: certs.a.der,
    bPem: certs.b.pem,
    combined: `Bag Attributes\n    localKeyID: 01 02\nsubject=CN = tokenguard test client\n${certs.a.privateKeyPem}${certs.a.pem}`,
    chain: `${certs.a.pem}${certs.b.pem}`,
    key: certs.a.privateKeyPem,
    garbage: 'this is not a certificate\n',
  };
  for (const [name, content] of Object.entries(contents)) {
    const target = path.join(dir, `${name}.${name === 'aDer' ? 'der' : 'pem'}`);
    await writeFile(target, content);
    files[name as keyof typeof files] = target;
  }
  const nowSec = Math.floor(Date.now() / 1000);
  const signed = (cnf: Record<string, unknown>) =>
    signToken(key, accessTokenClaims({ iss: SIGNED_ISSUER, aud: API, nowSec }, { cnf }));
  [tokens.bound, tokens.plain, tokens.boundOpaque, tokens.dpop, tokens.dpopAndCertificate] =
    await Promise.all([
      issuer.getToken({ resource: API, scope: 'read', certificate: certs.a.pem }),
      issuer.getToken({ resource: API, scope: 'read' }),
      issuer.getToken({ resource: OPAQUE, scope: 'read', certificate: certs.a.pem }),
      signed({ jkt: 'cSMHGKS0d1HtGuYTMDKVnnrGT3TjbRUCj_x-TUGsyN4' }),
      signed({ jkt: 'cSMHGKS0d1HtGuYTMDKVnnrGT3TjbRUCj_x-TUGsyN4', 'x5t#S256': certs.a.thumbprint }),
    ]);
});

afterAll(async () => {
  await Promise.all([issuer?.close(), jwks?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const verifyArgs = (...extra: string[]) => ['--issuer', issuer.issuer, '--audience', API, ...extra];
const opaqueArgs = (...extra: string[]) => [
  '--issuer',
  issuer.issuer,
  '--audience',
  OPAQUE,
  '--client-id',
  issuer.introspector.id,
  ...extra,
];
const signedArgs = (...extra: string[]) => [
  '--issuer',
  SIGNED_ISSUER,
  '--audience',
  API,
  '--jwks-uri',
  jwks.url,
  ...extra,
];
const secret = () => ({ TOKENGUARD_CLIENT_SECRET: issuer.introspector.secret });

describe('tokenguard verify --client-certificate, a JWT the issuer bound to a certificate', () => {
  it('exits 0 with the certificate it is bound to, as PEM or DER, saying so', async () => {
    const shown = `bound to the client certificate (x5t#S256 ${certs.a.thumbprint.slice(0, 12)}...)`;
    for (const file of [files.aPem, files.aDer, files.combined]) {
      const run = await tokenguard(['verify', tokens.bound, ...verifyArgs('--client-certificate', file)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`  client certificate ${file}, x5t#S256 ${certs.a.thumbprint}\n`);
      expect(run.stdout).toContain(`PASS  binding     ${shown}`);
      expect(run.stdout).toContain('VALID: the validator accepts this token.');
      expect(run.stdout).not.toContain(tokens.bound);
    }
  });

  it('exits 1 with another certificate: 401 invalid_token, both thumbprints named', async () => {
    const run = await tokenguard(['verify', tokens.bound, ...verifyArgs('--client-certificate', files.bPem)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `FAIL  binding     bound to another certificate: the token's x5t#S256 is ${certs.a.thumbprint}, the certificate's is ${certs.b.thumbprint}`,
    );
    expect(run.stdout).toContain('PASS  signature');
    expect(run.stdout).toContain('REJECTED (401 invalid_token, ERR_MTLS_BINDING_MISMATCH)');
    expect(run.stdout).toContain('www-authenticate: Bearer error="invalid_token"');
  });

  it('exits 1 without the flag, pointing at --client-certificate', async () => {
    const run = await tokenguard(['verify', tokens.bound, ...verifyArgs()]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'FAIL  binding     bound to a key (cnf x5t#S256) and presented without its proof',
    );
    expect(run.stdout).toContain('add --client-certificate <file>');
    expect(run.stdout).toContain('ERR_TOKEN_BOUND');
  });

  it('carries the same in --json: the certificate, the error and the binding check', async () => {
    const [own, other] = await Promise.all([
      tokenguard(['verify', '--json', tokens.bound, ...verifyArgs('--client-certificate', files.aPem)]),
      tokenguard(['verify', '--json', tokens.bound, ...verifyArgs('--client-certificate', files.bPem)]),
    ]);
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({
      valid: true,
      exitCode: 0,
      clientCertificate: { file: files.aPem, thumbprint: certs.a.thumbprint },
      auth: { claims: { cnf: { 'x5t#S256': certs.a.thumbprint } } },
    });
    expect(bindingOf(own.stdout)?.status).toBe('pass');
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({
      valid: false,
      exitCode: 1,
      clientCertificate: { file: files.bPem, thumbprint: certs.b.thumbprint },
      error: { code: 'ERR_MTLS_BINDING_MISMATCH', status: 401, oauthError: 'invalid_token' },
    });
    expect(bindingOf(other.stdout)).toEqual({
      id: 'binding',
      status: 'fail',
      message: `bound to another certificate: the token's x5t#S256 is ${certs.a.thumbprint}, the certificate's is ${certs.b.thumbprint}`,
    });
  });
});

describe('tokenguard verify --client-certificate, other tokens', () => {
  it('passes an unbound token: nothing to prove, with a note', async () => {
    const run = await tokenguard(['verify', tokens.plain, ...verifyArgs('--client-certificate', files.aPem)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/PASS {2}binding {5}not bound to a key \(no cnf\): nothing to prove/);
  });

  it('explains an opaque token bound to the certificate from its introspection answer', async () => {
    const [own, other] = await Promise.all([
      tokenguard(['verify', tokens.boundOpaque, ...opaqueArgs('--client-certificate', files.aPem)], secret()),
      tokenguard(['verify', tokens.boundOpaque, ...opaqueArgs('--client-certificate', files.bPem)], secret()),
    ]);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(
      `PASS  binding     bound to the client certificate (x5t#S256 ${certs.a.thumbprint.slice(0, 12)}...)`,
    );
    expect(other.code).toBe(1);
    expect(other.stdout).toContain(
      `FAIL  binding     bound to another certificate: the token's x5t#S256 is ${certs.a.thumbprint}, the certificate's is ${certs.b.thumbprint}`,
    );
    expect(other.stdout).toContain('PASS  audience    aud is https://opaque.test');
    expect(other.stdout).toContain('REJECTED (401 invalid_token, ERR_MTLS_BINDING_MISMATCH)');
    expect(other.stdout + other.stderr).not.toContain(tokens.boundOpaque);
  });

  it('still rejects a token bound to a DPoP key, alone or besides the certificate', async () => {
    const [dpop, both] = await Promise.all([
      tokenguard(['verify', tokens.dpop, ...signedArgs('--client-certificate', files.aPem)]),
      tokenguard(['verify', tokens.dpopAndCertificate, ...signedArgs('--client-certificate', files.aPem)]),
    ]);
    expect(dpop.code).toBe(1);
    expect(dpop.stdout).toContain(
      'FAIL  binding     bound to a key (cnf jkt): a DPoP key (jkt) is proven only by a DPoP proof of each request, which tokenguard verify cannot make',
    );
    expect(dpop.stdout).toContain('ERR_TOKEN_BOUND');
    expect(both.code).toBe(1);
    expect(both.stdout).toContain('and also by cnf jkt, which a certificate does not prove');
    expect(both.stdout).toContain('REJECTED (401 invalid_token, ERR_MTLS_BINDING_MISMATCH)');
  });
});

describe('tokenguard verify --client-certificate, usage errors (exit 2, nothing on stdout)', () => {
  it.each([
    ['a file that does not exist', () => path.join(dir, 'missing.pem'), 'cannot read it (no such file)'],
    ['a directory', () => dir, 'cannot read it (it is a directory)'],
    ['text that is not a certificate', () => files.garbage, 'not a certificate'],
    ['a private key', () => files.key, 'it holds PRIVATE KEY but no CERTIFICATE'],
    ['a chain', () => files.chain, 'it holds 2 certificates (a chain?)'],
  ])('refuses %s, naming the file', async (_, file, reason) => {
    const run = await tokenguard(['verify', tokens.bound, ...verifyArgs('--client-certificate', file())]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`tokenguard: --client-certificate ${file()}: ${reason}`);
    expect(run.stderr).not.toContain(tokens.bound);
    expect(run.stderr).not.toContain(certs.a.privateKeyPem.split('\n')[1]);
  });

  it('refuses it with --accept-bound-tokens, saying why', async () => {
    const run = await tokenguard([
      'verify',
      tokens.bound,
      ...verifyArgs('--client-certificate', files.aPem, '--accept-bound-tokens'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      'tokenguard: --client-certificate and --accept-bound-tokens exclude each other: --accept-bound-tokens waives the proof of possession that --client-certificate checks',
    );
  });

  it('lists the flag in --help', async () => {
    const run = await tokenguard(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--client-certificate <file>');
  });
});
