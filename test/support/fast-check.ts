/**
 * fast-check for tests under packages/ (a dev dependency of test/ only, so a package's own test
 * cannot import it by name).
 *
 * @example
 * ```ts
 * import fc from '../../../test/support/fast-check.js';
 * ```
 */
import fc from 'fast-check';

export default fc;

/**
 * Character-level edits of `token`, shared by the fuzz test and the differential test against jose:
 * one of `chars` put in place of a character or inserted anywhere, a character removed, the token cut
 * short, or up to `maxTail` characters appended.
 *
 * @example
 * ```ts
 * fc.oneof(...characterEdits(token, fc.constantFrom('.', '=', 'A'), 8), otherMutations);
 * ```
 */
export function characterEdits(
  token: string,
  chars: fc.Arbitrary<string>,
  maxTail: number,
): fc.Arbitrary<string>[] {
  return [
    fc
      .record({ at: fc.nat(token.length - 1), c: chars })
      .map(({ at, c }) => token.slice(0, at) + c + token.slice(at + 1)),
    fc
      .record({ at: fc.nat(token.length), c: chars })
      .map(({ at, c }) => token.slice(0, at) + c + token.slice(at)),
    fc.nat(token.length - 1).map((at) => token.slice(0, at) + token.slice(at + 1)),
    fc.nat(token.length - 1).map((at) => token.slice(0, at)),
    fc.string({ maxLength: maxTail }).map((tail) => token + tail),
  ];
}
