/**
 * The benchmark issuer in a process of its own (`child_process.fork`), so that serving the JWKS
 * (Hono's `jwk` fetches it on every request) is not CPU time of the server under test, as it
 * would not be with a real authorization server. The parent sends the JWKS; the child answers
 * with the issuer's URLs.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchIssuer, startBenchIssuer } from './issuer.js';

type Started = { type: 'started'; issuer: string; jwksUri: string };

/** How long the child may take to start listening before the bench gives up on it. */
const START_TIMEOUT_MS = 30_000;

/**
 * Forks this module as the issuer process (inheriting tsx's loader flags) and waits for its URLs;
 * rejects, the child ended, when it exits, fails or says nothing in time.
 */
export async function startIssuerProcess(jwks: { keys: readonly unknown[] }): Promise<BenchIssuer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let timer: NodeJS.Timeout | undefined;
  const started = await new Promise<Started>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`issuer process: not listening after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.once('message', (message: Started) => resolve(message));
    child.once('exit', (code) => reject(new Error(`issuer process exited with ${code}`)));
    child.once('error', reject);
    child.send({ jwks });
  }).catch((error: unknown) => {
    child.kill();
    throw error;
  });
  clearTimeout(timer);
  return {
    issuer: started.issuer,
    jwksUri: started.jwksUri,
    close: () =>
      new Promise<void>((resolve) => {
        // Exited already (crashed, killed): its 'exit' was emitted, none is coming to wait for.
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

if (process.argv.includes('--child')) {
  // The bench that forked it is gone (crashed past its `finally`, killed): stop serving, and let go of
  // the stdout and stderr it shares with it.
  process.once('disconnect', () => process.exit(0));
  process.once('message', (message: { jwks: { keys: readonly unknown[] } }) => {
    startBenchIssuer(message.jwks).then(
      (issuer) => process.send?.({ type: 'started', issuer: issuer.issuer, jwksUri: issuer.jwksUri }),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
