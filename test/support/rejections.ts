/**
 * Test helper: the `TokenGuardError` a promise rejects with. A promise that resolves, or rejects with
 * anything else, fails the test.
 *
 * @example
 * ```ts
 * const error = await failure(validator.validate(expiredToken));
 * expect(error.code).toBe('ERR_TOKEN_EXPIRED');
 * ```
 */
import { isTokenGuardError, type TokenGuardError } from '@tokenguard/core';

export async function failure(promise: Promise<unknown>): Promise<TokenGuardError> {
  try {
    await promise;
  } catch (error) {
    if (isTokenGuardError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection with a TokenGuardError, got none');
}

/**
 * Test helper: the `TokenGuardError` that `run` throws. A `run` that returns, or throws anything
 * else, fails the test.
 *
 * @example
 * ```ts
 * expect(thrownBy(() => checkRequirements(auth, { scopes: ['admin'] })).status).toBe(403);
 * ```
 */
export function thrownBy(run: () => unknown): TokenGuardError {
  try {
    run();
  } catch (error) {
    if (isTokenGuardError(error)) return error;
    throw error;
  }
  throw new Error('expected a TokenGuardError to be thrown, got none');
}

/**
 * Test helper: the message of the `TypeError` that `run` throws (a bad option refused at
 * construction), or `'accepted'` when it returns. Anything else thrown fails the test.
 *
 * @example
 * ```ts
 * expect(typeErrorOf(() => createValidator({ issuer: ' https://id.example' }))).toMatch(/"issuer"/);
 * ```
 */
export function typeErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TypeError) return error.message;
    throw error;
  }
  return 'accepted';
}
