/**
 * Session 14 second re-read (helper-97): a defect of 8705866's `answerBindings`, pinned by a test that
 * fails while it is there.
 *
 * Under `introspection.jwt: 'always'` a JWT without `cnf` can be bound by its introspection answer.
 * checkWrapperAnswer finds that binding in a WeakMap keyed by the `auth.claims` object: a wrapper that
 * remembers answers as copies loses it. validator.ts says `structuredClone` of an auth keeps every
 * field, and a cache shared between instances (serialised answers) is the usual way of "sharing answers
 * by token"; the copy's claims are a new object with no `cnf`, so the owner's answer is handed to a
 * request without the certificate, or with another one: the guarantee of the core README ("a wrapper
 * that remembers or shares answers by token cannot lend one request's proof to another") breaks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientCertificate, type TestCertificate } from '../../../test/support/certificates.js';
import { accessTokenClaims, generateSigningKey, jwksOf, signToken } from '../../../test/support/keys.js';
import type { AuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import type { ValidatorOptions } from './options.js';
import { authenticateRequest, type TokenSource } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const ISS = 'https://issuer.reread2-defects.test';
const AUD = 'https://api.reread2-defects.test';
const issuerKey = generateSigningKey('ES256', { kid: 'as-reread2-defects' });
const validators: Validator[] = [];
const nowSec = () => Math.floor(Date.now() / 1000);

let alice: TestCertificate;
let mallory: TestCertificate;
let server: Server;
let endpoint: string;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([createClientCertificate(), createClientCertificate()]);
  // Every token is active and bound to alice's certificate by the answer's cnf (RFC 8705 §3.2).
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          active: true,
          iss: ISS,
          aud: AUD,
          exp: nowSec() + 300,
          sub: 'user-1',
          cnf: { 'x5t#S256': alice.thumbprint },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
});

afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const overTls = (token: string, certificate?: TestCertificate): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate: certificate?.der,
});

async function outcome(source: TokenSource, validator: Validator): Promise<string> {
  try {
    const { auth } = await authenticateRequest(validator, source);
    return `accepted ${String(auth?.subject)}`;
  } catch (error) {
    if (!(error instanceof TokenGuardError)) throw error;
    return error.code;
  }
}

describe('a wrapper that remembers answers as copies, under introspection.jwt always (answerBindings)', () => {
  it("refuses the owner's JWT without its certificate, or with another, when the answer came back as a structuredClone", async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(issuerKey),
      mtls: true,
      introspection: { endpoint, clientId: 'api', clientSecret: 'secret-secret', jwt: 'always' },
    } as ValidatorOptions);
    validators.push(validator);
    // A cache of answers by token that stores copies (as one shared between instances would).
    const real = validator.validate;
    const answers = new Map<unknown, AuthInfo>();
    validator.validate = async (value, requirements) => {
      const known = answers.get(value);
      if (known !== undefined) return structuredClone(known);
      const auth = await real(value, requirements);
      answers.set(value, structuredClone(auth));
      return auth;
    };
    // The JWT names no cnf: only its introspection answer binds it.
    const token = await signToken(issuerKey, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: nowSec() }));
    expect(await outcome(overTls(token, alice), validator)).toBe('accepted user-1');
    expect(await outcome(overTls(token), validator)).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(await outcome(overTls(token, mallory), validator)).toBe('ERR_MTLS_BINDING_MISMATCH');
  });
});
