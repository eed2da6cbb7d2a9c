import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSource, type SourceRun } from './support/run-source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = 'packages/cli/src/bin.ts';
const API = 'https://api.test';

/** Runs the real `tokenguard` binary from its sources in a child process. */
function tokenguard(
  args: readonly string[],
  input?: string,
  env: Record<string, string> = {},
): Promise<SourceRun> {
  return runSource(BIN, args, { cwd: ROOT, env, ...(input === undefined ? {} : { input }) });
}

let issuer: DevIssuer;
let token: string;
let closedUrl: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: API, scope: 'read orders:read' });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterAll(async () => {
  await issuer?.close();
});

const verifyArgs = (...extra: string[]) => ['--issuer', issuer.issuer, '--audience', API, ...extra];

describe('tokenguard inspect', () => {
  it('decodes header and claims, says it did not verify, and never prints the token', async () => {
    const run = await tokenguard(['inspect', token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^!! NOT VERIFIED/);
    expect(run.stdout).toContain('typ  at+jwt');
    expect(run.stdout).toMatch(/aud\s+https:\/\/api\.test/);
    expect(run.stdout).toMatch(/exp\s+\d+ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}\(expires in [45]m\)/);
    expect(run.stdout).not.toContain(token.split('.')[2]);
  });

  it('emits JSON with verified: false', async () => {
    const run = await tokenguard(['inspect', '--json', token]);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body.verified).toBe(false);
    expect(body.header.alg).toBe('RS256');
    expect(body.claims.iss).toBe(issuer.issuer);
  });

  it('exits 1 for an opaque token, explaining that it is not a JWT', async () => {
    const opaque = await issuer.getToken({ resource: 'https://opaque.test' });
    const run = await tokenguard(['inspect', opaque]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('not a JWT');
    expect(run.stderr).not.toContain(opaque);
  });
});

describe('tokenguard verify', () => {
  it('exits 0 for a valid token and passes every check', async () => {
    const run = await tokenguard(['verify', token, ...verifyArgs('--scopes', 'read')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const label of [
      'format',
      'issuer',
      'algorithm',
      'type',
      'signature',
      'expiry',
      'audience',
      'scopes',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`PASS {2}${label}`));
    }
    expect(run.stdout).toContain(`verified with key kid ${issuer.currentKid}`);
    expect(run.stdout).toContain('VALID: the validator accepts this token.');
    expect(run.stdout).not.toContain(token);
  });

  it('exits 1 for another audience, with the aud sentence and the challenge', async () => {
    const other = await issuer.getToken({ resource: 'https://other.test' });
    const run = await tokenguard(['verify', other, ...verifyArgs()]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  audience    aud is https://other.test, this API is https://api.test');
    expect(run.stdout).toContain('PASS  signature');
    expect(run.stdout).toContain('REJECTED (401 invalid_token, ERR_AUDIENCE_MISMATCH)');
    expect(run.stdout).toContain('www-authenticate: Bearer error="invalid_token"');
  });

  it('exits 1 for a missing scope and names it (403)', async () => {
    const run = await tokenguard(['verify', token, ...verifyArgs('--scopes', 'read,write')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('missing write');
    expect(run.stdout).toContain('REJECTED (403 insufficient_scope, ERR_INSUFFICIENT_SCOPE)');
    expect(run.stdout).toContain('scope="read write"');
  });

  it('explains a typ mismatch and still reports whether the signature is good', async () => {
    const run = await tokenguard(['verify', token, ...verifyArgs('--typ', 'JWT')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  type        typ is at+jwt, this API accepts jwt');
    expect(run.stdout).toContain('(checked apart from the typ failure)');
    expect(run.stdout).toContain('ERR_TYPE_MISMATCH');
  });

  it('exits 1 for a tampered token: the signature fails', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    claims.scope = 'read write admin';
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const run = await tokenguard(['verify', forged, ...verifyArgs()]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}signature {3}The token signature is invalid/);
    expect(run.stdout).toContain('ERR_SIGNATURE_INVALID');
  });

  it('reads the token from stdin with "-"', async () => {
    const run = await tokenguard(['verify', '-', ...verifyArgs()], `Bearer ${token}\n`);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('VALID');
  });

  it('reads a piped token when no argument is given, and emits JSON', async () => {
    const run = await tokenguard(['verify', '--json', ...verifyArgs()], token);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({
      valid: true,
      exitCode: 0,
      auth: { audience: [API], scopes: ['read', 'orders:read'] },
    });
    expect(body.checks.find((check: { id: string }) => check.id === 'signature').status).toBe('pass');
    expect(run.stdout).not.toContain(token);
  });

  it('exits 3 when the key set answers 503', async () => {
    issuer.jwks.setDown(true);
    try {
      const run = await tokenguard(['verify', token, ...verifyArgs('--json')]);
      expect(run.code).toBe(3);
      const body = JSON.parse(run.stdout);
      expect(body.error).toMatchObject({ code: 'ERR_KEYS_UNAVAILABLE', status: 503 });
      expect(body.error.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      issuer.jwks.setDown(false);
    }
  });

  it('exits 3 when the key set cannot be reached at all', async () => {
    const run = await tokenguard(['verify', token, ...verifyArgs('--jwks-uri', closedUrl)]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('NO VERDICT (503, ERR_KEYS_UNAVAILABLE)');
    expect(run.stdout).toContain('cause:');
  });
});

describe('tokenguard verify --client-id (opaque tokens)', () => {
  const opaqueArgs = () => [
    '--issuer',
    issuer.issuer,
    '--audience',
    'https://opaque.test',
    '--client-id',
    issuer.introspector.id,
  ];
  const secret = () => ({ TOKENGUARD_CLIENT_SECRET: issuer.introspector.secret });

  it('introspects an opaque token with the secret from the environment and exits 0', async () => {
    const opaque = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read' });
    const run = await tokenguard(
      ['verify', opaque, ...opaqueArgs(), '--scopes', 'read'],
      undefined,
      secret(),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /PASS {2}introspect {2}http:\/\/127\.0\.0\.1:\d+\/token\/introspection answered "active": true/,
    );
    expect(run.stdout).toContain(
      'PASS  audience    aud is https://opaque.test, this API is https://opaque.test',
    );
    expect(run.stdout).not.toContain(opaque);
    expect(run.stdout).not.toContain(issuer.introspector.secret);
  });

  it('exits 1 for a revoked opaque token: inactive', async () => {
    const opaque = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read' });
    await issuer.revoke(opaque);
    const run = await tokenguard(['verify', opaque, ...opaqueArgs()], undefined, secret());
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}introspect {2}The token is not active/);
    expect(run.stdout).toContain('ERR_TOKEN_INACTIVE');
  });
});

describe('usage errors', () => {
  it('exits 2 without --audience, saying so', async () => {
    const run = await tokenguard(['verify', token, '--issuer', issuer.issuer]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('verify needs --audience');
    expect(run.stdout).toBe('');
  });

  it('exits 2 for an unknown command or flag, and for a bad --jwks-uri', async () => {
    const [command, flag, uri] = await Promise.all([
      tokenguard(['decode', token]),
      tokenguard(['inspect', token, '--verbose']),
      tokenguard(['verify', token, ...verifyArgs('--jwks-uri', 'file:///etc/passwd')]),
    ]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "decode"');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--verbose');
    expect(uri.code).toBe(2);
    expect(uri.stderr).toContain('"jwksUri"');
  });

  it('exits 2 when stdin is empty', async () => {
    const run = await tokenguard(['verify', '-', ...verifyArgs()], '');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no token');
  });
});

describe('tokenguard verify, a token bound to a key', () => {
  let dpopIssuer: DevIssuer;
  let bound: string;

  beforeAll(async () => {
    dpopIssuer = await startDevIssuer({ dpop: true });
    bound = await dpopIssuer.getToken({ resource: API, scope: 'read', dpop: true });
  });

  afterAll(async () => {
    await dpopIssuer?.close();
  });

  it('rejects a DPoP-bound token (exit 1) and says how to look at it anyway', async () => {
    const run = await tokenguard(['verify', bound, '--issuer', dpopIssuer.issuer, '--audience', API]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('bound to a key (cnf jkt)');
    expect(run.stdout + run.stderr).toContain('--accept-bound-tokens');
    expect(run.stdout + run.stderr).not.toContain(bound.split('.')[2]);
  });

  it('passes it with --accept-bound-tokens', async () => {
    const run = await tokenguard([
      'verify',
      bound,
      '--issuer',
      dpopIssuer.issuer,
      '--audience',
      API,
      '--accept-bound-tokens',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /binding\s+bound to a key \(cnf jkt\): its proof of possession was not checked/,
    );
  });

  it('says so in --json: a binding check, skipped with the flag, failed without it', async () => {
    const args = ['verify', '--json', bound, '--issuer', dpopIssuer.issuer, '--audience', API];
    const binding = (stdout: string) =>
      (JSON.parse(stdout) as { checks: { id: string; status: string }[] }).checks.find(
        (check) => check.id === 'binding',
      );
    expect(binding((await tokenguard(args)).stdout)?.status).toBe('fail');
    expect(binding((await tokenguard([...args, '--accept-bound-tokens'])).stdout)?.status).toBe('skip');
  });
});
