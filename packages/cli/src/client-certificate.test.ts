import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { readClientCertificate } from './client-certificate.js';
import { UsageError } from './usage.js';

let dir: string;
let cert: TestCertificate;
let other: TestCertificate;

/** Writes `content` to a fresh file of the temporary directory and gives its path. */
async function file(name: string, content: string | Uint8Array): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, content);
  return target;
}

/** The UsageError message of reading `target`, which must be refused. */
async function refusal(target: string): Promise<string> {
  const error = await readClientCertificate(target).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as UsageError).message;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tokenguard-cli-cert-'));
  [cert, other] = await Promise.all([createClientCertificate(), createClientCertificate({ keyType: 'rsa' })]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readClientCertificate', () => {
  it('accepts a PEM file: the certificate text and its x5t#S256', async () => {
    const target = await file('client.pem', cert.pem);
    expect(await readClientCertificate(target)).toEqual({
      file: target,
      certificate: cert.pem.trim(),
      thumbprint: cert.thumbprint,
    });
  });

  it('accepts a DER file: its bytes and the same x5t#S256', async () => {
    const client = await readClientCertificate(await file('client.der', cert.der));
    expect(client.thumbprint).toBe(cert.thumbprint);
    expect(Buffer.from(client.certificate as Uint8Array).equals(Buffer.from(cert.der))).toBe(true);
  });

  it('accepts Windows line endings and a UTF-8 byte order mark', async () => {
    const crlf = `\ufeff${cert.pem.replace(/\n/g, '\r\n')}`;
    expect((await readClientCertificate(await file('crlf.pem', crlf))).thumbprint).toBe(cert.thumbprint);
  });

  it('takes the one certificate of a file with text and a private key around it (openssl pkcs12, combined PEM)', async () => {
    const combined = `Bag Attributes\n    localKeyID: 01 02 03\nsubject=CN = tokenguard test client\n${cert.privateKeyPem}${cert.pem}`;
    const client = await readClientCertificate(await file('combined.pem', combined));
    expect(client.thumbprint).toBe(cert.thumbprint);
    expect(client.certificate).not.toContain('PRIVATE KEY');
  });

  it('refuses a file that does not exist, or a directory, naming the file', async () => {
    const missing = path.join(dir, 'missing.pem');
    expect(await refusal(missing)).toBe(`--client-certificate ${missing}: cannot read it (no such file)`);
    const folder = path.join(dir, 'folder');
    await mkdir(folder);
    expect(await refusal(folder)).toBe(`--client-certificate ${folder}: cannot read it (it is a directory)`);
  });

  it('refuses an empty file', async () => {
    expect(await refusal(await file('empty.pem', ''))).toContain(': the file is empty');
  });

  it('refuses a chain: which certificate the client presents would be a guess', async () => {
    expect(await refusal(await file('chain.pem', `${cert.pem}${other.pem}`))).toContain(
      'it holds 2 certificates (a chain?)',
    );
  });

  it('refuses a private key alone, naming what it holds and never its content', async () => {
    const message = await refusal(await file('key.pem', cert.privateKeyPem));
    expect(message).toContain("it holds PRIVATE KEY but no CERTIFICATE: give the client's certificate");
    const body = cert.privateKeyPem.split('\n')[1] as string;
    expect(message).not.toContain(body.slice(0, 16));
  });

  it('refuses text that is not PEM, a truncated PEM block and bytes that are not DER', async () => {
    expect(await refusal(await file('token.txt', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n'))).toContain(
      'not a certificate: neither PEM (-----BEGIN CERTIFICATE-----) nor DER X.509',
    );
    const truncated = cert.pem.slice(0, cert.pem.indexOf('-----END'));
    expect(await refusal(await file('truncated.pem', truncated))).toContain('no complete PEM block');
    expect(await refusal(await file('random.der', new Uint8Array(300).fill(7)))).toContain(
      'not a certificate',
    );
  });

  it('refuses a CERTIFICATE block whose content is not a certificate, though it hashes', async () => {
    const fake = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate at all').toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(await refusal(await file('fake.pem', fake))).toContain(
      'its CERTIFICATE block is not an X.509 certificate',
    );
    const badBase64 = '-----BEGIN CERTIFICATE-----\nab=cd\n-----END CERTIFICATE-----\n';
    expect(await refusal(await file('bad-base64.pem', badBase64))).toContain(
      'its CERTIFICATE block is not an X.509 certificate',
    );
  });

  it('refuses DER with bytes after the certificate, whose thumbprint would name no certificate', async () => {
    const padded = Buffer.concat([Buffer.from(cert.der), Buffer.from([0, 0, 0, 0])]);
    expect(await refusal(await file('padded.der', padded))).toContain('it has bytes after the certificate');
  });

  it('stops reading past 1 MiB', async () => {
    const huge = await file('huge.pem', `${cert.pem}${' '.repeat(1024 * 1024)}`);
    expect(await refusal(huge)).toContain('more than 1 MiB: that is not a certificate');
  });

  it('escapes control characters of the file name in its messages', async () => {
    const missing = path.join(dir, 'a\u001b[2Jb.pem');
    expect(await refusal(missing)).toContain('a\\u001b[2Jb.pem');
  });
});
