/**
 * Session 14 second re-read (helper-97): the synchronous slot that hands a request's proof to the
 * validator's own `validate` while an app's wrapper of it runs (validator.ts `presentedProof`,
 * 8705866). Each test tries a way a bound token could pass without its proof through the slot, or the
 * slot could outlive its call; all of them are refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { type DpopClient, dpopClient } from '../../../test/support/dpop.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import type { AuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISS = 'https://issuer.reread2.test';
const AUD = 'https://api.reread2.test';
const ORIGIN = 'https://api.reread2.test';
const issuerKey = generateSigningKey('ES256', { kid: 'as-reread2-s14' });
let alice: TestCertificate;
let mallory: TestCertificate;
let client: DpopClient;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([createClientCertificate(), createClientCertificate()]);
  client = dpopClient();
});

const nowSec = () => Math.floor(Date.now() / 1000);

function validatorWith(extra: Partial<ValidatorOptions> = { mtls: true }): Validator {
  return createValidator({ issuer: ISS, audience: AUD, jwks: jwksOf(issuerKey), ...extra });
}

function tokenBoundTo(cnf: Record<string, string>, claims: Record<string, unknown> = {}): Promise<string> {
  return signToken(
    issuerKey,
    accessTokenClaims({ iss: ISS, aud: AUD, nowSec: nowSec() }, { cnf, ...claims }),
  );
}

const overTls = (token: string, certificate?: TestCertificate): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate: certificate?.der,
});

/** How `promise` settles: the auth's subject, or the refusal's code (never another kind of error). */
async function outcome(promise: Promise<{ auth?: AuthInfo } | AuthInfo>): Promise<string> {
  try {
    const value = await promise;
    const auth = 'auth' in value ? value.auth : (value as AuthInfo);
    return `accepted ${String(auth?.subject)}`;
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return error.code;
  }
}

describe('the proof slot of a replaced validate (validator.ts presentedProof)', () => {
  it('hands the proof only to the token of the request: a wrapper validating another token gets none', async () => {
    const validator = validatorWith();
    const original = validator.validate.bind(validator);
    const requestToken = await tokenBoundTo({ 'x5t#S256': alice.thumbprint }, { sub: 'request' });
    const otherToken = await tokenBoundTo({ 'x5t#S256': alice.thumbprint }, { sub: 'other' });
    let other: Promise<AuthInfo> | undefined;
    validator.validate = (token, requirements) => {
      other = original(otherToken);
      return original(token, requirements);
    };
    expect(await outcome(authenticateRequest(validator, overTls(requestToken, alice)))).toBe(
      'accepted request',
    );
    expect(await outcome(other as Promise<AuthInfo>)).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('is empty once the call is over: the same token validated right after, in the same tick, has no proof', async () => {
    const validator = validatorWith();
    const original = validator.validate.bind(validator);
    validator.validate = (token, requirements) => original(token, requirements);
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    const answered = authenticateRequest(validator, overTls(token, alice));
    const right = original(token);
    expect(await outcome(answered)).toBe('accepted user-1');
    expect(await outcome(right)).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('is empty after a wrapper that throws synchronously, whose request is refused without a crash', async () => {
    const validator = validatorWith();
    const original = validator.validate.bind(validator);
    validator.validate = () => {
      throw new Error('revocation list unavailable');
    };
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    let refusal: unknown;
    let right: Promise<AuthInfo> | undefined;
    try {
      const answered = authenticateRequest(validator, overTls(token, alice));
      right = original(token);
      await answered;
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(Error);
    expect(await outcome(right as Promise<AuthInfo>)).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it("is not another validator's: a wrapper calling a second validator's own validate with the token gets no proof", async () => {
    const first = validatorWith();
    const second = validatorWith();
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    first.validate = (value, requirements) => second.validate(value, requirements);
    expect(await outcome(authenticateRequest(first, overTls(token, alice)))).toBe(
      'ERR_MTLS_BINDING_MISMATCH',
    );
  });

  it("two validators sharing one wrapper: the proof goes to the validator the request came to, never the other's", async () => {
    const first = validatorWith();
    const second = validatorWith();
    const firstOwn = first.validate.bind(first);
    const shared: Validator['validate'] = (value, requirements) => firstOwn(value, requirements);
    first.validate = shared;
    second.validate = shared;
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    expect(await outcome(authenticateRequest(first, overTls(token, alice)))).toBe('accepted user-1');
    expect(await outcome(authenticateRequest(second, overTls(token, alice)))).toBe(
      'ERR_MTLS_BINDING_MISMATCH',
    );
  });

  it("re-entrant: a request authenticated inside the wrapper's call for another gets its own proof, or none", async () => {
    const validator = validatorWith();
    const original = validator.validate.bind(validator);
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    const inner: Promise<unknown>[] = [];
    let depth = 0;
    validator.validate = (value, requirements) => {
      if (depth === 0) {
        depth++;
        // The same token, in requests without the certificate and with another one.
        inner.push(authenticateRequest(validator, overTls(token)));
        inner.push(authenticateRequest(validator, overTls(token, mallory)));
        depth--;
      }
      return original(value, requirements);
    };
    expect(await outcome(authenticateRequest(validator, overTls(token, alice)))).toBe('accepted user-1');
    expect(await outcome(inner[0] as Promise<AuthInfo>)).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(await outcome(inner[1] as Promise<AuthInfo>)).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

  it('a wrapper answering with a thenable that calls validate later: no proof, refused', async () => {
    const validator = validatorWith();
    const original = validator.validate.bind(validator);
    validator.validate = (value, requirements) =>
      ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test hands back.
        then(resolve: (auth: Promise<AuthInfo>) => void) {
          resolve(original(value, requirements));
        },
      }) as unknown as Promise<AuthInfo>;
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    expect(await outcome(authenticateRequest(validator, overTls(token, alice)))).toBe(
      'ERR_MTLS_BINDING_MISMATCH',
    );
  });

  it('DPoP: the proof reaches the wrapped validate and is gone right after the call', async () => {
    const validator = validatorWith({ dpop: { origin: ORIGIN } });
    const original = validator.validate.bind(validator);
    validator.validate = (value, requirements) => original(value, requirements);
    const token = await tokenBoundTo({ jkt: client.jkt });
    const proof = await client.proof({ htm: 'GET', htu: `${ORIGIN}/orders`, token });
    const answered = authenticateRequest(validator, {
      headers: { authorization: `DPoP ${token}`, dpop: proof },
      method: 'GET',
      url: '/orders',
    });
    const right = original(token);
    expect(await outcome(answered)).toBe('accepted user-1');
    expect(await outcome(right)).toBe('ERR_TOKEN_BOUND');
  });
});

describe('the core README on mTLS with dpop.required (5d5bbfe)', () => {
  it('answers a token bound to a certificate alone, sent as Bearer with it, as no credentials (401)', async () => {
    const validator = validatorWith({ mtls: true, dpop: { origin: ORIGIN, required: true } });
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint });
    const refusal = await authenticateRequest(validator, overTls(token, alice)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({ code: 'ERR_TOKEN_MISSING', status: 401 });
  });

  it('passes a token bound to both its certificate and a DPoP key, with its proof over mTLS', async () => {
    const validator = validatorWith({ mtls: true, dpop: { origin: ORIGIN, required: true } });
    const token = await tokenBoundTo({ 'x5t#S256': alice.thumbprint, jkt: client.jkt });
    const source = async (certificate: TestCertificate): Promise<TokenSource> => ({
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await client.proof({ htm: 'GET', htu: `${ORIGIN}/orders`, token }),
      },
      method: 'GET',
      url: '/orders',
      clientCertificate: certificate.der,
    });
    expect(await outcome(authenticateRequest(validator, await source(alice)))).toBe('accepted user-1');
    expect(await outcome(authenticateRequest(validator, await source(mallory)))).toBe(
      'ERR_MTLS_BINDING_MISMATCH',
    );
  });
});
