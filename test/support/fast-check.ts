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
