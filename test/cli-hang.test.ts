import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSource } from './support/run-source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = 'https://api.test';

let issuer: DevIssuer;
let token: string;
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: API, scope: 'read' });
  // Accepts every connection and request, never answers.
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterAll(async () => {
  silent?.closeAllConnections();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await issuer?.close();
});

describe('tokenguard verify against a key set that never answers', () => {
  it('gives up at the validator timeout: exit 3, no verdict, and the process ends', {
    timeout: 60_000,
  }, async () => {
    const run = await runSource(
      'packages/cli/src/bin.ts',
      [
        'verify',
        '-',
        '--issuer',
        issuer.issuer,
        '--audience',
        API,
        '--jwks-uri',
        `${silentUrl}/jwks`,
        '--json',
      ],
      { cwd: ROOT, input: token },
    );
    expect(run.code).toBe(3);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({
      valid: false,
      exitCode: 3,
      error: { code: 'ERR_KEYS_UNAVAILABLE', status: 503 },
    });
    expect(body.error.cause).toContain('within the timeout');
    expect(run.stdout + run.stderr).not.toContain(token.split('.')[2]);
  });
});
