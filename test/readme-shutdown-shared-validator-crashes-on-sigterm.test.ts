/**
 * The docs advise one validator per API, shared (root README "Create one validator per API and share
 * it"), and each component closes it on shutdown: `process.on('SIGTERM', () => void validator.close())`
 * (packages/core/README.md "A worker") and `server.close(() => void validator.close())`
 * (packages/express/README.md "A complete app"). A process with both (an API and a queue consumer on
 * one validator) calls `close()` twice on SIGTERM. The second call once rejected with undici's
 * `ClientDestroyedError` (validator-close-twice-rejects.test.ts), and through `void` that was an
 * unhandled rejection: the process ended with exit code 1 after draining (review helper-121, session 23).
 *
 * Real parts: oidc-provider (packages/dev-issuer), an Express 5 server on 127.0.0.1 port 0 in a child
 * process running the READMEs' lines, a request in flight at SIGTERM.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));

let issuer: DevIssuer;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: 'https://api.test', scope: 'orders:read' });
});

afterAll(async () => {
  await issuer?.close();
});

const SCRIPT = `
  import { createValidator } from '@tokenguard/core';
  import { tokenguard } from '@tokenguard/express';
  import express from 'express';
  const validator = createValidator({ issuer: process.env.ISSUER, audience: 'https://api.test' });
  // packages/core/README.md "A worker"
  process.on('SIGTERM', () => void validator.close());
  const app = express();
  app.use(tokenguard(validator));
  app.get('/me', (req, res) => res.json({ caller: req.auth?.subject }));
  app.get('/slow', (req, res) => setTimeout(() => res.json({ caller: req.auth?.subject }), 300));
  const server = app.listen(0, '127.0.0.1', () => console.log('port=' + server.address().port));
  // packages/express/README.md "A complete app"
  process.on('SIGTERM', () => server.close(() => void validator.close()));
`;

describe('shutdown as the READMEs write it, one validator shared by an API and a worker', () => {
  it('SIGTERM drains the request in flight and exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', SCRIPT],
      { cwd: TEST_DIR, env: { ...process.env, ISSUER: issuer.issuer }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const match = /port=(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
      });
      const url = `http://127.0.0.1:${port}`;
      const headers = { authorization: `Bearer ${token}`, connection: 'close' };
      expect((await fetch(`${url}/me`, { headers })).status).toBe(200); // keys fetched
      const slow = fetch(`${url}/slow`, { headers }); // in flight while the server drains
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.kill('SIGTERM');
      expect((await slow).status).toBe(200);
      // Fails: exit code 1, stderr "ClientDestroyedError: The client is destroyed" (undici).
      expect({ code: await exited, stderr: stderr.includes('ClientDestroyedError') ? stderr : '' }).toEqual({
        code: 0,
        stderr: '',
      });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
