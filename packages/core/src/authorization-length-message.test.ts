import { afterAll, describe, expect, it } from 'vitest';
import { TokenGuardError } from './errors.js';
import { createValidator } from './index.js';

// No request reaches the issuer: every value here is refused for its length first.
const validator = createValidator({ issuer: 'https://id.example.com', audience: 'https://api.example.com' });
afterAll(() => validator.close());

async function refusal(value: string): Promise<TokenGuardError> {
  const error = await validator.validate(value).then(
    () => expect.unreachable('accepted'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TokenGuardError);
  return error as TokenGuardError;
}

describe('an Authorization value too long to read: the error says what is too long', () => {
  it('a token longer than maxTokenLength: the token', async () => {
    const error = await refusal(`Bearer ${'a'.repeat(9000)}`);
    expect(error.code).toBe('ERR_TOKEN_TOO_LARGE');
    expect(error.message).toBe('The token is longer than 8192 characters');
  });

  it('a short token after many spaces: the value, and what it may hold', async () => {
    const error = await refusal(`Bearer ${' '.repeat(8500)}${'a'.repeat(100)}`);
    expect(error.code).toBe('ERR_TOKEN_TOO_LARGE');
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      'The Authorization value is longer than 8448 characters (a token of at most 8192, its scheme and spaces)',
    );
  });
});
