import { normaliseTokenInput } from './decode.js';
import { UsageError } from './usage.js';

/** The standard input, as far as reading a token needs it. */
export interface TokenInput extends AsyncIterable<string | Uint8Array> {
  readonly isTTY?: boolean;
}

/** Longest input read from stdin, in bytes: far beyond any real token, small enough to never hurt. */
const MAX_STDIN_BYTES = 1024 * 1024;

/**
 * The token to work on: the argument, or stdin when the argument is `-` or absent and stdin is
 * not a terminal. A leading `Bearer ` is removed.
 *
 * @example
 * ```ts
 * const token = await readToken(args.token, process.stdin);
 * ```
 */
export async function readToken(argument: string | undefined, stdin: TokenInput): Promise<string> {
  let raw: string;
  if (argument !== undefined && argument !== '-') {
    raw = argument;
  } else {
    if (argument === undefined && stdin.isTTY === true) {
      throw new UsageError('no token: pass it as an argument, or pipe it in (use "-" to read stdin)');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      size += buffer.byteLength;
      if (size > MAX_STDIN_BYTES) throw new UsageError('stdin holds more than 1 MiB: that is not a token');
      chunks.push(buffer);
    }
    raw = Buffer.concat(chunks).toString('utf8');
  }
  const token = normaliseTokenInput(raw);
  if (token === '') throw new UsageError('no token: the input is empty');
  return token;
}
