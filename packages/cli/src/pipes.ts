/** An output stream as far as a closed reader matters. */
export interface OutputStream {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/**
 * `tokenguard verify ... | head -1`: once the reader has gone, writing fails with EPIPE. The rest of the
 * output is dropped quietly and the exit code stays the verdict's, instead of the process dying on an
 * unhandled `'error'` event with a stack trace. Other write errors are thrown as before.
 *
 * @example
 * ```ts
 * dropOutputOnClosedPipe(process.stdout);
 * dropOutputOnClosedPipe(process.stderr);
 * ```
 */
export function dropOutputOnClosedPipe(stream: OutputStream): void {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
