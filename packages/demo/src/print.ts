/** Terminal output of the demo: colour only on a TTY without `NO_COLOR`. */
export interface Printer {
  heading(index: number, title: string): void;
  line(text?: string): void;
  detail(label: string, value: string): void;
  result(status: number, expected: number, summary: string): void;
  note(text: string): void;
  readonly failures: number;
}

const colourOn = (): boolean =>
  process.stdout.isTTY === true && (process.env.NO_COLOR === undefined || process.env.NO_COLOR === '');

/**
 * A printer for the demo's walk-through. `result` compares the status with the expected one and
 * counts mismatches, so the demo's exit code says whether every step behaved as described.
 *
 * @example
 * ```ts
 * const out = createPrinter();
 * out.heading(1, 'A valid token');
 * out.result(200, 200, 'the handler ran');
 * ```
 */
export function createPrinter(write: (text: string) => void = (text) => process.stdout.write(text)): Printer {
  const on = colourOn();
  const paint = (code: number, text: string): string => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  let failures = 0;
  return {
    heading(index, title) {
      write(
        `\n${paint(1, paint(36, `── ${index}. ${title} `))}${paint(36, '─'.repeat(Math.max(4, 60 - title.length)))}\n`,
      );
    },
    line(text = '') {
      write(`  ${text}\n`);
    },
    detail(label, value) {
      write(`  ${paint(2, `${label}:`)} ${value}\n`);
    },
    result(status, expected, summary) {
      const ok = status === expected;
      if (!ok) failures++;
      const mark = ok ? paint(32, `✔ ${status}`) : paint(31, `✘ ${status} (expected ${expected})`);
      const colourStatus = status < 300 ? 32 : status < 500 ? 33 : 35;
      write(`  → ${paint(1, paint(colourStatus, `HTTP ${status}`))}  ${summary}  ${mark}\n`);
    },
    note(text) {
      write(`  ${paint(2, text)}\n`);
    },
    get failures() {
      return failures;
    },
  };
}

/**
 * `pnpm demo | head`: once the reader has gone, writing fails with EPIPE. The demo then stops quietly
 * with exit code 1 (the walk-through did not finish; the servers go with the process) instead of
 * dying on an unhandled `'error'` event with a stack trace. Other write errors are thrown as before.
 *
 * @example
 * ```ts
 * stopWhenStdoutCloses();
 * ```
 */
export function stopWhenStdoutCloses(stdout: NodeJS.WriteStream = process.stdout): void {
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(1);
  });
}
