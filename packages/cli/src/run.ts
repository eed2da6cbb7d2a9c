import { parseCliArgs } from './args.js';
import { decodeToken } from './decode.js';
import { renderInspect, renderInspectFailureJson, renderInspectJson } from './inspect.js';
import { readToken, type TokenInput } from './read-token.js';
import { renderVerify, renderVerifyJson } from './render-verify.js';
import { createStyle, shouldColour } from './style.js';
import { EXIT, USAGE, UsageError } from './usage.js';
import { type VerifyEnvironment, verifyToken } from './verify.js';

/**
 * Where the CLI reads and writes: `process` in the binary, anything alike in tests.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
 * process.exitCode = await runCli(['inspect', token], io);
 * ```
 */
export interface CliIo {
  readonly stdin: TokenInput;
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Runs `tokenguard` with `argv` (without `node` and the script) and resolves to the exit code
 * (0 valid/decoded, 1 rejected, 2 usage error, 3 issuer unreachable). Never throws for bad input.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), process);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  environment: VerifyEnvironment = {},
): Promise<number> {
  const style = createStyle(shouldColour(io.stdout, io.env));
  try {
    const args = parseCliArgs(argv, io.env);
    if (args.command === 'help') {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    const token = await readToken(args.token, io.stdin);
    const nowMs = (environment.now ?? Date.now)();
    if (args.command === 'inspect') {
      const decoded = decodeToken(token);
      if ('error' in decoded) {
        if (args.json) io.stdout.write(renderInspectFailureJson(decoded));
        else io.stderr.write(`tokenguard inspect: cannot decode: ${decoded.error}\n`);
        return EXIT.rejected;
      }
      io.stdout.write(args.json ? renderInspectJson(decoded) : renderInspect(decoded, nowMs, style));
      return EXIT.ok;
    }
    const report = await verifyToken(token, args, environment);
    io.stdout.write(args.json ? renderVerifyJson(report) : renderVerify(report, nowMs, style));
    return report.exitCode;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`tokenguard: ${error.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    io.stderr.write(`tokenguard: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.unavailable;
  }
}
