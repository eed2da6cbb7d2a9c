import { beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import type { AuthInfo } from './auth-info.js';
import { authenticateRequest } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * An app's wrapper of `validate` and the request's proof (validator.ts validateFound): the proof is
 * handed to the validator's own `validate` while the wrapper runs synchronously, and not through
 * promises, so a wrapper that calls it after an `await` gets no proof and a bound token is refused
 * (never accepted without its proof).
 */

const ISS = 'https://issuer.test';
const AUD = 'https://api.test';
const issuerKey = generateSigningKey('ES256', { kid: 'as-wrap' });
let alice: TestCertificate;

beforeAll(async () => {
  alice = await createClientCertificate({ commonName: 'alice' });
});

function wrapped(wrap: (original: Validator['validate']) => Validator['validate']): Validator {
  const validator = createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey), mtls: true });
  validator.validate = wrap(validator.validate.bind(validator));
  return validator;
}

async function boundToken(): Promise<string> {
  const nowSec = Math.floor(Date.now() / 1000);
  return signToken(
    issuerKey,
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec }, { cnf: { 'x5t#S256': alice.thumbprint } }),
  );
}

const request = (token: string) => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate: alice.der,
});

describe("a replaced validate and the request's client certificate", () => {
  it('passes the certificate to the validate a wrapper calls at once, sync or async', async () => {
    const calls: string[] = [];
    for (const validator of [
      wrapped((original) => (token, requirements) => {
        calls.push('sync');
        return original(token, requirements);
      }),
      wrapped((original) => async (token, requirements) => {
        calls.push('async');
        const auth: AuthInfo = await original(token, requirements);
        return auth;
      }),
    ]) {
      const { auth } = await authenticateRequest(validator, request(await boundToken()));
      expect(auth?.claims.cnf).toEqual({ 'x5t#S256': alice.thumbprint });
    }
    expect(calls).toEqual(['sync', 'async']);
  });

  it('refuses a bound token when the wrapper calls validate after an await: no proof, never accepted', async () => {
    const validator = wrapped((original) => async (token, requirements) => {
      await Promise.resolve();
      return original(token, requirements);
    });
    await expect(authenticateRequest(validator, request(await boundToken()))).rejects.toMatchObject({
      code: 'ERR_MTLS_BINDING_MISMATCH',
      status: 401,
    });
  });
});
