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

/** Forks this module as the issuer process (inheriting tsx's loader flags) and waits for its URLs. */
export async function startIssuerProcess(jwks: { keys: readonly unknown[] }): Promise<BenchIssuer> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const started = await new Promise<Started>((resolve, reject) => {
    child.once('message', (message: Started) => resolve(message));
    child.once('exit', (code) => reject(new Error(`issuer process exited with ${code}`)));
    child.send({ jwks });
  });
  return {
    issuer: started.issuer,
    jwksUri: started.jwksUri,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

if (process.argv.includes('--child')) {
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
