import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSource } from '../../../test/support/run-source.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TAKE_PORT = fileURLToPath(new URL('./__fixtures__/take-port.mjs', import.meta.url));

describe('pnpm demo when a port is taken', () => {
  let holder: Server;
  let takenPort: number;

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    takenPort = (holder.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });

  /** Runs the demo with its `nth` ephemeral listen (1: the issuer, 2: the API) sent to the held port. */
  const runWithTakenPort = (framework: string, nth: number) =>
    runSource(MAIN, ['--framework', framework], {
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${TAKE_PORT}`,
        DEMO_TEST_TAKEN_PORT: String(takenPort),
        DEMO_TEST_TAKEN_NTH: String(nth),
      },
    });

  it('says the issuer could not start, in one line without a stack trace, and exits 1', {
    timeout: 60_000,
  }, async () => {
    const run = await runWithTakenPort('express', 1);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `demo: the issuer (oidc-provider) could not start on 127.0.0.1: listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}\n`,
    );
    expect(run.stdout).toBe('');
  });

  // The Express and Hono APIs listened without an 'error' listener: the process died on an unhandled
  // 'error' event; Fastify's rejection ended as a top-level stack trace.
  it.each(['express', 'fastify', 'hono'])(
    'says the %s API could not start, in one line without a stack trace, and exits 1',
    { timeout: 60_000 },
    async (framework) => {
      const run = await runWithTakenPort(framework, 2);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `demo: the ${framework} API could not start on 127.0.0.1: listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}\n`,
      );
      expect(run.stdout).toBe('');
    },
  );
});
