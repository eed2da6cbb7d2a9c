/**
 * Starts one part of the demo (the issuer, the API). When it cannot start, the demo says which part
 * and why on stderr, in one line and without a stack trace, closes what had already started, and
 * exits 1: a taken port or a failed start is a clear message, never a crash.
 *
 * @example
 * ```ts
 * const issuer = await startOrExit('the issuer (oidc-provider)', () => startDevIssuer());
 * const api = await startOrExit('the express API', () => startApi('express', validator), [() => issuer.close()]);
 * ```
 */
export async function startOrExit<T>(
  part: string,
  start: () => Promise<T>,
  closeStarted: readonly (() => Promise<void>)[] = [],
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`demo: ${part} could not start on 127.0.0.1: ${reason}\n`);
    for (const close of closeStarted) await close().catch(() => undefined);
    process.exit(1);
  }
}
