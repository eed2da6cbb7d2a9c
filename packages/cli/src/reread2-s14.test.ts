/**
 * Session 14 second re-read (helper-97) of `verify --client-certificate` (a5a1e3b): a file holding a
 * PEM block that is not a certificate and not a key (a certificate signing request, OpenSSL's
 * `TRUSTED CERTIFICATE`) is refused, as it should be, but the message tells the user to give "the
 * client's certificate, not its key", blaming a key the file does not hold.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClientCertificate } from './client-certificate.js';
import { UsageError } from './usage.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tokenguard-cli-reread2-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusalOf(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const error = await readClientCertificate(file).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as UsageError).message;
}

const block = (label: string) => `-----BEGIN ${label}-----\nMIIBAAAA\n-----END ${label}-----\n`;

describe('readClientCertificate refusing a PEM file without a CERTIFICATE block', () => {
  it('names what the file holds and does not call a signing request or a trusted certificate a key', async () => {
    for (const label of ['CERTIFICATE REQUEST', 'TRUSTED CERTIFICATE']) {
      const message = await refusalOf(`${label.replace(' ', '-')}.pem`, block(label));
      expect(message, label).toContain(`it holds ${label} but no CERTIFICATE`);
      expect(message, label).not.toContain('not its key');
    }
  });

  it('still points at the key for a file that holds one', async () => {
    const message = await refusalOf('key.pem', block('PRIVATE KEY'));
    expect(message).toContain('not its key');
  });
});
