import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { parseCliArgs, type VerifyArgs } from './args.js';
import type { Check } from './checks.js';
import { renderVerify, renderVerifyJson } from './render-verify.js';
import { createStyle } from './style.js';
import { UsageError } from './usage.js';
import { type VerifyEnvironment, verifyToken } from './verify.js';

const ISSUER = 'https://id.example';
const API = 'https://api.example';
const NOW_SEC = 1_900_000_000;

let dir: string;
let key: SigningKey;
let ours: TestCertificate;
let theirs: TestCertificate;
let oursFile: string;
let environment: VerifyEnvironment;

const token = (overrides: Record<string, unknown> = {}) =>
  signToken(key, accessTokenClaims({ iss: ISSUER, aud: API, nowSec: NOW_SEC }, overrides));

function argsFor(...extra: string[]): VerifyArgs {
  return parseCliArgs(['verify', '-', '--issuer', ISSUER, '--audience', API, ...extra]) as VerifyArgs;
}

const bindingOf = (checks: readonly Check[]) => checks.find((check) => check.id === 'binding');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tokenguard-cli-verify-'));
  key = generateSigningKey('ES256');
  [ours, theirs] = await Promise.all([createClientCertificate(), createClientCertificate()]);
  oursFile = path.join(dir, 'ours.pem');
  await writeFile(oursFile, ours.pem);
  environment = { now: () => NOW_SEC * 1000 + 1000, validatorOptions: { jwks: jwksOf(key) } };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifyToken with a client certificate', () => {
  it('accepts a token bound to it, as a request over mutual TLS would be', async () => {
    const report = await verifyToken(
      await token({ cnf: { 'x5t#S256': ours.thumbprint } }),
      argsFor('--client-certificate', oursFile),
      environment,
    );
    expect(report.exitCode).toBe(0);
    expect(report.verdict.valid).toBe(true);
    expect(report.clientCertificate).toEqual({ file: oursFile, thumbprint: ours.thumbprint });
    expect(bindingOf(report.checks)).toEqual({
      id: 'binding',
      status: 'pass',
      message: `bound to the client certificate (x5t#S256 ${ours.thumbprint.slice(0, 12)}...)`,
    });
  });

  it("rejects a token bound to another certificate with the validator's 401, naming both thumbprints", async () => {
    const report = await verifyToken(
      await token({ cnf: { 'x5t#S256': theirs.thumbprint } }),
      argsFor('--client-certificate', oursFile),
      environment,
    );
    expect(report.exitCode).toBe(1);
    expect(report.verdict.valid ? undefined : report.verdict.error).toMatchObject({
      code: 'ERR_MTLS_BINDING_MISMATCH',
      status: 401,
      oauthError: 'invalid_token',
    });
    expect(bindingOf(report.checks)).toEqual({
      id: 'binding',
      status: 'fail',
      message: `bound to another certificate: the token's x5t#S256 is ${theirs.thumbprint}, the certificate's is ${ours.thumbprint}`,
    });
    expect(report.checks.find((check) => check.id === 'signature')?.status).toBe('pass');
    expect(report.checks.filter((check) => check.status === 'fail')).toHaveLength(1);
  });

  it('passes an unbound token with a note', async () => {
    const report = await verifyToken(await token(), argsFor('--client-certificate', oursFile), environment);
    expect(report.exitCode).toBe(0);
    expect(bindingOf(report.checks)).toMatchObject({
      status: 'pass',
      message: expect.stringContaining('not bound to a key (no cnf): nothing to prove'),
    });
  });

  it('still rejects a token bound to a DPoP key, alone or with the certificate', async () => {
    const dpop = await verifyToken(
      await token({ cnf: { jkt: 'a-key-thumbprint' } }),
      argsFor('--client-certificate', oursFile),
      environment,
    );
    expect(dpop.verdict.valid ? undefined : dpop.verdict.error.code).toBe('ERR_TOKEN_BOUND');
    expect(bindingOf(dpop.checks)?.message).toContain('a DPoP key (jkt) is proven only by a DPoP proof');
    const both = await verifyToken(
      await token({ cnf: { 'x5t#S256': ours.thumbprint, jkt: 'a-key-thumbprint' } }),
      argsFor('--client-certificate', oursFile),
      environment,
    );
    expect(both.exitCode).toBe(1);
    expect(both.verdict.valid ? undefined : both.verdict.error.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(bindingOf(both.checks)).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('and also by cnf jkt, which a certificate does not prove'),
    });
  });

  it('applies --scopes to a request with a certificate (403)', async () => {
    const report = await verifyToken(
      await token({ cnf: { 'x5t#S256': ours.thumbprint }, scope: 'read' }),
      argsFor('--client-certificate', oursFile, '--scopes', 'write'),
      environment,
    );
    expect(report.verdict.valid ? undefined : report.verdict.error.code).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(bindingOf(report.checks)?.status).toBe('pass');
  });

  it('explains a token wrapped across lines with a certificate too, without crashing', async () => {
    const valid = await token({ cnf: { 'x5t#S256': ours.thumbprint } });
    const wrapped = `${valid.slice(0, 30)}\n${valid.slice(30)}`;
    const report = await verifyToken(wrapped, argsFor('--client-certificate', oursFile), environment);
    expect(report.exitCode).toBe(1);
    expect(report.verdict.valid ? undefined : report.verdict.error.status).toBeLessThan(500);
    expect(report.checks.find((check) => check.id === 'format')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('the token has a line break after character 30'),
    });
  });

  it('refuses a file that is not a certificate before any validation (usage error)', async () => {
    const notCertificate = path.join(dir, 'token.txt');
    await writeFile(notCertificate, await token());
    await expect(
      verifyToken(await token(), argsFor('--client-certificate', notCertificate), environment),
    ).rejects.toThrow(
      new UsageError(
        `--client-certificate ${notCertificate}: not a certificate: neither PEM (-----BEGIN CERTIFICATE-----) nor DER X.509`,
      ),
    );
  });

  it('turns core refusing mtls with acceptBoundTokens (given by an embedder) into a usage error', async () => {
    await expect(
      verifyToken(await token(), argsFor('--client-certificate', oursFile), {
        ...environment,
        validatorOptions: { ...environment.validatorOptions, acceptBoundTokens: true },
      }),
    ).rejects.toThrow(UsageError);
  });
});

describe('verifyToken without a client certificate', () => {
  it('rejects a certificate-bound token as presented as a bearer token, pointing at --client-certificate', async () => {
    const report = await verifyToken(
      await token({ cnf: { 'x5t#S256': ours.thumbprint } }),
      argsFor(),
      environment,
    );
    expect(report.verdict.valid ? undefined : report.verdict.error.code).toBe('ERR_TOKEN_BOUND');
    expect(report.clientCertificate).toBeUndefined();
    expect(bindingOf(report.checks)?.message).toContain('add --client-certificate <file>');
  });
});

describe('renderVerify and renderVerifyJson with a client certificate', () => {
  it('name the certificate file and its thumbprint, in text and in JSON', async () => {
    const report = await verifyToken(
      await token({ cnf: { 'x5t#S256': theirs.thumbprint } }),
      argsFor('--client-certificate', oursFile),
      environment,
    );
    const text = renderVerify(report, NOW_SEC * 1000, createStyle(false));
    expect(text).toContain(`  client certificate ${oursFile}, x5t#S256 ${ours.thumbprint}\n\n`);
    expect(text).toMatch(/FAIL {2}binding {5}bound to another certificate/);
    expect(text).toContain('REJECTED (401 invalid_token, ERR_MTLS_BINDING_MISMATCH)');
    const body = JSON.parse(renderVerifyJson(report));
    expect(body.clientCertificate).toEqual({ file: oursFile, thumbprint: ours.thumbprint });
    expect(body.error.code).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(body.checks.find((check: Check) => check.id === 'binding').status).toBe('fail');
  });

  it('leave the header as it was without one', async () => {
    const report = await verifyToken(await token(), argsFor(), environment);
    const text = renderVerify(report, NOW_SEC * 1000, createStyle(false));
    expect(text).not.toContain('client certificate');
    expect(text.split('\n')[1]).toBe('');
    expect(JSON.parse(renderVerifyJson(report))).not.toHaveProperty('clientCertificate');
  });
});
