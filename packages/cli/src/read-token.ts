import { normaliseTokenInput } from './decode.js';
import { UsageError } from './usage.js';

/** The standard input, as far as reading a token needs it. */
export interface TokenInput extends AsyncIterable<string | Uint8Array> {
  readonly isTTY?: boolean;
}

/** Longest input read from stdin, in bytes: far beyond any real token, small enough to never hurt. */
const MAX_STDIN_BYTES = 1024 * 1024;

/**
 * The text of stdin: UTF-8, or UTF-16 when it starts with a UTF-16 byte order mark, as a token file
 * written by Windows PowerShell 5 (`$token > token.txt`, `Out-File`) does. Read as UTF-8, such a file
 * is a token with a NUL after every character, which no check can explain. (A UTF-8 BOM is removed
 * with the surrounding whitespace.)
 */
function decodeInput(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    // subarray shares memory with `bytes`; swap16 needs an even length, and a stray last byte is noise.
    return Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)))
      .swap16()
      .toString('utf16le');
  }
  return bytes.toString('utf8');
}

/**
 * The token to work on: the argument, or stdin when the argument is `-` or absent and stdin is
 * not a terminal (UTF-8, or UTF-16 with a byte order mark). A leading `Bearer ` is removed.
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
    raw = decodeInput(Buffer.concat(chunks));
  }
  const token = normaliseTokenInput(raw);
  if (token === '') throw new UsageError('no token: the input is empty');
  return token;
}
