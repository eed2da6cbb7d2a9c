import { describe, expect, it } from 'vitest';
import { decodeToken, normaliseTokenInput } from './decode.js';
import { createStyle, shouldColour } from './style.js';
import { printable } from './text.js';
import { formatDuration, formatRelative } from './time.js';

describe('printable', () => {
  it('escapes terminal control and bidi characters from untrusted claims', () => {
    expect(printable('a\u001b[2Jb\u202ec')).toBe('a\\u001b[2Jb\\u202ec');
    expect(printable({ a: 1 })).toBe('{"a":1}');
    expect(printable('x'.repeat(10), 4)).toBe('xxxx... (6 more)');
  });
});

describe('formatRelative', () => {
  it('says in how long, or how long ago', () => {
    expect(formatRelative(1_000_240, 1_000_000_000)).toBe('in 4m');
    expect(formatRelative(1_000_000 - 3 * 3600 - 300, 1_000_000_000)).toBe('3h 5m ago');
    expect(formatDuration(3 * 86_400)).toBe('3d');
  });
});

describe('shouldColour', () => {
  it('colours only a TTY without NO_COLOR', () => {
    expect(shouldColour({ isTTY: true }, {})).toBe(true);
    expect(shouldColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColour({ isTTY: false }, {})).toBe(false);
    expect(createStyle(false).red('x')).toBe('x');
    expect(createStyle(true).red('x')).toBe('\u001b[31mx\u001b[39m');
  });
});

describe('decodeToken', () => {
  it('rejects opaque tokens and JWEs with a reason', () => {
    expect(decodeToken('opaque-token')).toMatchObject({ error: expect.stringContaining('not a JWT') });
    expect(decodeToken('a.b.c.d.e')).toMatchObject({ error: expect.stringContaining('encrypted') });
    expect(decodeToken('!!.e30.x')).toMatchObject({ error: expect.stringContaining('header') });
  });

  it('strips a pasted Bearer prefix', () => {
    expect(normaliseTokenInput('  Bearer abc.def.ghi\n')).toBe('abc.def.ghi');
  });
});
