/**
 * Session 14 re-read (helper-95): defects found reading `git diff 72ece0c HEAD` (mTLS, DPoP nonces,
 * adapter options), each pinned by a test that fails while the defect is there.
 *
 * - validator.ts checkWrapperAnswer judges a replaced `validate`'s answer by `auth.claims.cnf` alone.
 *   Under `introspection.jwt: 'always'` a JWT without `cnf` can be bound by its introspection answer
 *   (`JwtConfirmation.bound`, the fix of 1c9c6d9 for the validator's own cache), which `auth` does not
 *   show: a wrapper that remembers answers by token, the very case checkWrapperAnswer is there for,
 *   then lends the certificate of the request that made the answer to a request without it.
 * - helper-97 (second re-read): the fix first kept that binding in a WeakMap keyed by `auth.claims`,
 *   which a wrapper that remembers answers as copies (`structuredClone`) lost; now the wrapper's answer
 *   is confirmed again through the issuer's introspection.
 * - Docs: the core README's `dpop` row and its helper list miss what this session added (`dpop.nonce`,
 *   four exports). The root README's adapter-only options: test/reread-s14.test.ts.
 */
import { readFileSync } from 'node:fs';
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

const ISS = 'https://issuer.reread.test';
const AUD = 'https://api.reread.test';
const issuerKey = generateSigningKey('ES256', { kid: 'as-reread-s14' });
const validators: Validator[] = [];

let alice: TestCertificate;
let mallory: TestCertificate;
let server: Server;
let endpoint: string;

const nowSec = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  [alice, mallory] = await Promise.all([
    createClientCertificate({ commonName: 'alice' }),
    createClientCertificate({ commonName: 'mallory' }),
  ]);
  // The issuer's introspection endpoint: every token is active and bound to alice's certificate
  // (RFC 8705 §3.2: the binding in the introspection answer's cnf).
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

const bearer = (token: string, clientCertificate?: Uint8Array): TokenSource => ({
  headers: { authorization: `Bearer ${token}` },
  clientCertificate,
});

async function refusalCode(validator: Validator, source: TokenSource): Promise<string> {
  let result: unknown;
  try {
    result = await authenticateRequest(validator, source);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenGuardError);
    return (error as TokenGuardError).code;
  }
  throw new Error(`the request was accepted: ${JSON.stringify(result)}`);
}

describe('a replaced validate under introspection.jwt always (validator.ts checkWrapperAnswer)', () => {
  it("refuses a JWT its introspection answer binds to a certificate, sent without it, after a wrapper remembered the owner's answer", async () => {
    const validator = createValidator({
      issuer: ISS,
      audience: AUD,
      jwks: jwksOf(issuerKey),
      mtls: true,
      introspection: { endpoint, clientId: 'api', clientSecret: 'secret-secret', jwt: 'always' },
    } as ValidatorOptions);
    validators.push(validator);
    // A wrapper written when validate(token) was a function of the token: it remembers answers.
    const real = validator.validate;
    const answers = new Map<unknown, ReturnType<Validator['validate']>>();
    validator.validate = (value, requirements) => {
      const known = answers.get(value);
      if (known !== undefined) return known;
      const answer = real(value, requirements);
      answers.set(value, answer);
      answer.catch(() => answers.delete(value));
      return answer;
    };
    // The JWT itself names no cnf: only the introspection answer binds it.
    const token = await signToken(issuerKey, accessTokenClaims({ iss: ISS, aud: AUD, nowSec: nowSec() }));
    // Its owner uses it with the certificate.
    expect((await authenticateRequest(validator, bearer(token, alice.der))).auth?.subject).toBe('user-1');
    // A thief replays it without one: the validator's own path refuses this (mtls-review.test.ts).
    expect(await refusalCode(validator, bearer(token))).toBe('ERR_MTLS_BINDING_MISMATCH');
  });

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
    expect((await authenticateRequest(validator, bearer(token, alice.der))).auth?.subject).toBe('user-1');
    expect(await refusalCode(validator, bearer(token))).toBe('ERR_MTLS_BINDING_MISMATCH');
    expect(await refusalCode(validator, bearer(token, mallory.der))).toBe('ERR_MTLS_BINDING_MISMATCH');
  });
});

describe('the core README on what session 14 added', () => {
  const coreReadme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it("lists nonce among the dpop settings in the core README's options table", () => {
    const row = coreReadme.split('\n').find((line) => /^\|\s*`dpop`\s*\|/.test(line));
    expect(row).toBeDefined();
    for (const setting of [
      'algorithms',
      'maxProofAgeSec',
      'required',
      'origin',
      'replayCacheMaxEntries',
      'nonce',
    ]) {
      expect(row, setting).toContain(setting);
    }
  });

  it("names the new exports in the core README's helpers for adapters and custom transports", () => {
    const start = coreReadme.indexOf('## Helpers for adapters and custom transports');
    expect(start).toBeGreaterThan(-1);
    const end = coreReadme.indexOf('\n## ', start + 1);
    const section = coreReadme.slice(start, end === -1 ? undefined : end);
    for (const name of [
      'clientCertificateReader',
      'socketOfConnection',
      'certificateThumbprint',
      'forwardedCertificate',
    ]) {
      expect(section, name).toContain(name);
    }
  });
});
