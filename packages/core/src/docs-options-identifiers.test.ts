import { beforeAll, describe, expect, it } from 'vitest';
import {
  accessTokenClaims,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signToken,
} from '../../../test/support/keys.js';
import { typeErrorOf } from '../../../test/support/rejections.js';
import { createValidator } from './validator.js';

// The README: `issuer` is "compared to `iss` exactly" and `audience` is what "`aud` must contain",
// and "a bad option throws a TypeError naming it". A value read from a file, a Kubernetes secret or a
// `.env` line often ends in a newline or a space: compared exactly, it matches no token, so such an
// option was accepted and every request then failed (401 issuer/audience mismatch, or 503 when the
// discovery document's issuer could never equal it). No issuer or audience identifier holds
// whitespace at either end or a control character anywhere; they are refused up front.

const ISS = 'https://id.example';
const AUD = 'https://api.example';
const NOW_SEC = 1_700_000_000;
let key: SigningKey;

beforeAll(() => {
  key = generateSigningKey('ES256');
});

const rejection = typeErrorOf;

describe('issuer and audience identifiers', () => {
  it('refuses an issuer with a trailing newline or space, naming the option', () => {
    for (const issuer of [`${ISS}\n`, `${ISS} `, ` ${ISS}`, `${ISS}\r\n`, `${ISS}/\t`]) {
      expect(rejection(() => createValidator({ issuer, audience: AUD, jwks: jwksOf(key) }))).toMatch(
        /invalid option "issuer": .*whitespace/,
      );
      expect(rejection(() => createValidator({ issuer, audience: AUD }))).toMatch(/"issuer"/);
    }
    expect(
      rejection(() =>
        createValidator({ issuers: [{ issuer: `${ISS}\n`, audience: AUD, jwks: jwksOf(key) }] }),
      ),
    ).toMatch(/invalid option "issuers\.0\.issuer"/);
  });

  it('refuses an audience with a trailing newline or a control character, naming the entry', () => {
    expect(
      rejection(() => createValidator({ issuer: ISS, audience: `${AUD}\n`, jwks: jwksOf(key) })),
    ).toMatch(/invalid option "audience": .*whitespace/);
    expect(
      rejection(() => createValidator({ issuer: ISS, audience: [AUD, ' other'], jwks: jwksOf(key) })),
    ).toMatch(/invalid option "audience\.1"/);
    expect(
      rejection(() => createValidator({ issuer: ISS, audience: 'api\u0000x', jwks: jwksOf(key) })),
    ).toMatch(/invalid option "audience"/);
  });

  it('still takes identifiers with inner spaces where the value is not a URL, and validates with them', async () => {
    const validator = createValidator({
      issuer: 'my issuer',
      audience: ['my api', AUD],
      jwks: jwksOf(key),
      now: () => NOW_SEC * 1000,
    });
    const token = await signToken(
      key,
      accessTokenClaims({ iss: 'my issuer', aud: 'my api', nowSec: NOW_SEC }),
    );
    expect((await validator.validate(token)).issuer).toBe('my issuer');
  });
});
