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

  it('never repeats a token put where the command or a single token belongs', () => {
    const opaque = '6hGkH0i-q5w8q-lcJCpzX2mYb8Rt0uV3wQ9sE1aK4nL';
    const jwtLike = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    for (const argv of [
      [opaque],
      [jwtLike, '--json'],
      ['inspect', 'x.y.z', opaque],
      ['verify', '-', opaque, '--issuer', 'https://id.example', '--audience', 'https://api.example'],
    ]) {
      let message = '';
      try {
        parseCliArgs(argv);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        message = (error as UsageError).message;
      }
      expect(message).not.toBe('');
      for (const secret of [opaque, jwtLike]) {
        for (let start = 0; start + 8 <= secret.length; start++) {
          expect(message).not.toContain(secret.slice(start, start + 8));
        }
      }
    }
    expect(() => parseCliArgs([opaque])).toThrow(
      `the first argument is not a command (inspect or verify); it is not shown, as it may be a token (${opaque.length} characters): put the command first, as in "tokenguard verify <token> --issuer ..."`,
    );
    expect(() => parseCliArgs(['inspect', 'x.y.z', opaque])).toThrow(
      `one token only: a second argument of ${opaque.length} characters follows it (not shown, as it may be a token)`,
    );
  });

  it('names a mistyped command or a stray word, which cannot be a token', () => {
    expect(() => parseCliArgs(['verfy', 'x.y.z'])).toThrow('unknown command "verfy" (inspect or verify)');
    expect(() => parseCliArgs(['inspect', 'x.y.z', 'extra'])).toThrow('unexpected argument "extra"');
  });

  it('says where the client secret comes from when --client-id has none', () => {
    const argv = ['verify', 'x', '--issuer', 'https://id.example', '--audience', 'a', '--client-id', 'rs'];
    expect(() => parseCliArgs(argv, {})).toThrow(
      "--client-id rs needs the client's secret in the TOKENGUARD_CLIENT_SECRET environment variable (never a flag: flags end up in shell history)",
    );
    expect(() => parseCliArgs(argv, { TOKENGUARD_CLIENT_SECRET: '' })).toThrow(UsageError);
    expect(parseCliArgs(argv, { TOKENGUARD_CLIENT_SECRET: 's3cret' })).toMatchObject({
      introspection: { clientId: 'rs', clientSecret: 's3cret' },
    });
  });

  // node:util keeps the last of a repeated single-value flag: "--issuer a --issuer b" checked b alone.
  it.each(['issuer', 'jwks-uri', 'client-id', 'introspection-endpoint'])(
    'refuses --%s given twice instead of keeping the last one silently',
    (name) => {
      const base = [
        'verify',
        'x.y.z',
        '--issuer',
        'https://id.example',
        '--audience',
        'a',
        '--client-id',
        'rs',
      ];
      const argv = [...base, `--${name}`, 'https://one.example', `--${name}`, 'https://two.example'];
      expect(() => parseCliArgs(argv, { TOKENGUARD_CLIENT_SECRET: 's' })).toThrow(
        new UsageError(
          `--${name} takes one value, given ${name === 'issuer' || name === 'client-id' ? 3 : 2} times`,
        ),
      );
    },
  );

  it('keeps a single-value flag given once', () => {
    expect(
      parseCliArgs([
        'verify',
        'x.y.z',
        '--issuer=https://id.example',
        '--audience',
        'a',
        '--jwks-uri',
        'https://id.example/k',
      ]),
    ).toMatchObject({ issuer: 'https://id.example', jwksUri: 'https://id.example/k' });
  });

  describe('--client-certificate', () => {
    const verify = ['verify', 'x.y.z', '--issuer', 'https://id.example', '--audience', 'a'];

    it('keeps the file name, and is absent without the flag', () => {
      expect(parseCliArgs([...verify, '--client-certificate', 'client.pem'])).toMatchObject({
        clientCertificate: 'client.pem',
        acceptBoundTokens: false,
      });
      expect(parseCliArgs(verify)).toMatchObject({ clientCertificate: undefined });
    });

    it('refuses it with --accept-bound-tokens, saying why', () => {
      expect(() =>
        parseCliArgs([...verify, '--client-certificate', 'client.pem', '--accept-bound-tokens']),
      ).toThrow(
        new UsageError(
          "--client-certificate and --accept-bound-tokens exclude each other: --accept-bound-tokens waives the proof of possession that --client-certificate checks (the token's cnf x5t#S256 against the certificate); drop --accept-bound-tokens",
        ),
      );
    });

    it('refuses it given twice, empty, without a value, or on inspect', () => {
      expect(() =>
        parseCliArgs([...verify, '--client-certificate', 'a.pem', '--client-certificate', 'b.pem']),
      ).toThrow(new UsageError('--client-certificate takes one value, given 2 times'));
      expect(() => parseCliArgs([...verify, '--client-certificate='])).toThrow(
        new UsageError('--client-certificate needs a file name'),
      );
      expect(() => parseCliArgs([...verify, '--client-certificate'])).toThrow(UsageError);
      expect(() => parseCliArgs(['inspect', 'x.y.z', '--client-certificate', 'a.pem'])).toThrow(
        new UsageError('--client-certificate belongs to "verify", not "inspect"'),
      );
    });
  });
});
