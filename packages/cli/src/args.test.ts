import { describe, expect, it } from 'vitest';
import { parseCliArgs } from './args.js';
import { UsageError } from './usage.js';

describe('parseCliArgs', () => {
  it('accepts a token that begins with a dash (base64url allows it) in any position', () => {
    const token = '-3kQ_x9ZpLmN0aB7cD2eF4gH6';
    expect(parseCliArgs(['inspect', token])).toMatchObject({ command: 'inspect', token });
    expect(parseCliArgs(['inspect', '--json', token])).toMatchObject({
      command: 'inspect',
      token,
      json: true,
    });
    expect(
      parseCliArgs(['verify', token, '--issuer', 'https://id.example', '--audience', 'https://api.example']),
    ).toMatchObject({ command: 'verify', token });
  });

  it('still treats an unknown short flag as a usage error', () => {
    expect(() => parseCliArgs(['inspect', '-x'])).toThrow(UsageError);
  });
});
