/**
 * `validator.close()` called again settles as the first call did. It once rejected with undici's
 * `ClientDestroyedError` ("The client is destroyed") once the validator had used the network (a
 * `validate()` or `warm()` that fetched discovery and keys), while a validator that never fetched closed
 * twice without complaint (reviews helper-121 and helper-122, session 23). The docs close the validator
 * fire-and-forget (`process.on('SIGTERM', () => void validator.close())`, `server.close(() => void
 * validator.close())`): a second signal or a second shutdown path then became an unhandled rejection
 * that ended the process with exit code 1.
 *
 * Real dev issuer (oidc-provider) on 127.0.0.1, real tokens.
 */
import { createValidator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const API = 'https://api.test';
let issuer: DevIssuer;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  token = await issuer.getToken({ resource: API, scope: 'read' });
});

afterAll(async () => {
  await issuer?.close();
});

describe('validator.close() twice', () => {
  it('never used: the second close resolves', async () => {
    const validator = createValidator({ issuer: issuer.issuer, audience: API });
    await validator.close();
    await expect(validator.close()).resolves.toBeUndefined();
  });

  it('after validate(): the second close resolves as the first did', async () => {
    const validator = createValidator({ issuer: issuer.issuer, audience: API });
    await validator.validate(token);
    await validator.close();
    await expect(validator.close()).resolves.toBeUndefined();
  });

  it("after warm(), as the core README's worker does: the second close resolves", async () => {
    const validator = createValidator({ issuer: issuer.issuer, audience: API });
    await validator.warm();
    await validator.close();
    await expect(validator.close()).resolves.toBeUndefined();
  });
});
