import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSource, type SourceRun } from './support/run-source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = 'https://api.test';

/** Runs the real `tokenguard` from its sources with `input` (raw bytes) on its stdin. */
function tokenguard(args: readonly string[], input: Buffer): Promise<SourceRun> {
  return runSource('packages/cli/src/bin.ts', args, { cwd: ROOT, input });
}

/** A token file as Windows PowerShell 5 writes it (`$token > token.txt`): UTF-16LE, BOM, CRLF. */
function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${text}\r\n`, 'utf16le')]);
}

/** The same in UTF-16BE, BOM first. */
function utf16be(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(`${text}\r\n`, 'utf16le').swap16()]);
}

let issuer: DevIssuer;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: API, scope: 'read' });
});

afterAll(async () => {
  await issuer?.close();
});

describe('tokenguard reading a token file written on Windows', () => {
  it('verifies a UTF-8 token file with a BOM and CRLF', async () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${token}\r\n`)]);
    const run = await tokenguard(['verify', '-', '--issuer', issuer.issuer, '--audience', API], input);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it.each([
    ['UTF-16LE', utf16le],
    ['UTF-16BE', utf16be],
  ])('verifies a %s token file with its BOM (PowerShell 5 redirection)', async (_, encode) => {
    const run = await tokenguard(
      ['verify', '-', '--issuer', issuer.issuer, '--audience', API],
      encode(token),
    );
    expect(run.stdout).not.toContain('line break');
    expect(run.stdout).toContain('VALID: the validator accepts this token.');
    expect(run.code).toBe(0);
  });

  it('inspects a UTF-16LE token file', async () => {
    const run = await tokenguard(['inspect', '--json'], utf16le(token));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).claims.iss).toBe(issuer.issuer);
  });
});

describe('tokenguard inspect --json on a token it cannot read', () => {
  it.each([
    ['an opaque token', 'Mvl-6HUGaDyhhFLcybok3m35ujf283YH_m0kZw5UTy-', 'not a JWT'],
    ['a JWE', 'a.b.c.d.e', 'encrypted JWT'],
    ['a bad header', 'e30x.e30.c2ln', 'header is not base64url-encoded JSON'],
  ])('%s: exit 1 with a JSON body on stdout, never the token', async (_, input, reason) => {
    const run = await tokenguard(['inspect', '--json'], Buffer.from(input));
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout);
    expect(body).toEqual({ verified: false, error: expect.stringContaining(reason) });
    expect(run.stdout + run.stderr).not.toContain(input);
  });
});
