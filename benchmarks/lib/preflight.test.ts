import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier } from 'fast-jwt';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contendersFor, preflightAll } from '../scenarios/validate.js';
import {
  httpVerdict,
  inProcessVerdict,
  PREFLIGHT_CASES,
  PreflightError,
  preflight,
  preflightTokens,
  SIGNATURE_CASES,
  withChangedSignature,
} from './preflight.js';
import { AUDIENCE, generateBenchKey, ISSUER, signPool } from './tokens.js';

const key = generateBenchKey('ES256');
const tokens = preflightTokens(key);
const settings = { poolSize: 4, repeatOps: 10, rounds: 1 };

/** The error `promise` rejects with, or a failure of the test when it fulfils. */
async function failureOf(promise: Promise<unknown>): Promise<PreflightError> {
  const error = await promise.then(
    () => expect.unreachable('the preflight passed'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PreflightError);
  return error as PreflightError;
}

describe('preflightTokens', () => {
  it('signs one token per case, each differing from the valid one in that case alone', () => {
    const claims = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
    const valid = claims(tokens.valid);
    expect(claims(tokens['wrong iss'])).toEqual({ ...valid, iss: `${ISSUER}/other` });
    expect(claims(tokens['wrong aud'])).toEqual({ ...valid, aud: `${AUDIENCE}/other` });
    expect(claims(tokens.expired).exp).toBeLessThanOrEqual(valid.iat - 3600);
    expect(tokens['bad signature']).not.toBe(tokens.valid);
    expect(tokens['bad signature'].slice(0, tokens.valid.lastIndexOf('.'))).toBe(
      tokens.valid.slice(0, tokens.valid.lastIndexOf('.')),
    );
  });

  it('changes one bit of the signature', () => {
    const signature = (token: string) => Buffer.from(token.split('.')[2] as string, 'base64url');
    const before = signature(tokens.valid);
    const after = signature(withChangedSignature(tokens.valid));
    const differing = [...before].filter((byte, i) => byte !== after[i]);
    expect(after).toHaveLength(before.length);
    expect(differing).toHaveLength(1);
  });
});

describe('preflight of in-process contenders', () => {
  it('passes jose and fast-jwt as the bench configures them', async () => {
    const pool = signPool(key, settings.poolSize);
    const contenders = await contendersFor(key, pool, settings);
    const peers = contenders.filter((c) => c.name.startsWith('jose') || c.name.startsWith('fast-jwt'));
    expect(peers.map((c) => c.name)).toEqual([
      'jose jwtVerify',
      'fast-jwt, no cache',
      'fast-jwt with cache, fresh tokens',
      'fast-jwt with cache, repeated token',
    ]);
    await expect(preflightAll(key, peers)).resolves.toBeUndefined();
  });

  it('passes every contender of the bench, the floor held to the signature alone', async () => {
    const hs = generateBenchKey('HS256');
    await expect(
      preflightAll(hs, await contendersFor(hs, signPool(hs, 4), settings)),
    ).resolves.toBeUndefined();
  });

  it('fails fast-jwt without allowedAud, naming the contender, the algorithm and the case', async () => {
    const lax = createVerifier({ key: key.publicPem, algorithms: ['ES256'], allowedIss: ISSUER });
    const error = await failureOf(
      preflight({ contender: 'lax fast-jwt', algorithm: 'ES256', verdictOn: inProcessVerdict(lax) }, tokens),
    );
    expect(error.code).toBe('BENCH_PREFLIGHT_FAILED');
    expect([error.contender, error.algorithm, error.failedCase, error.verdict]).toEqual([
      'lax fast-jwt',
      'ES256',
      'wrong aud',
      'accepted',
    ]);
    expect(error.message).toContain('lax fast-jwt (ES256), case "wrong aud"');
  });

  it('fails jose without audience on the wrong aud', async () => {
    const joseKey = await importJWK(key.jwk as never, 'ES256');
    const lax = (token: string) => jwtVerify(token, joseKey, { issuer: ISSUER, algorithms: ['ES256'] });
    const error = await failureOf(
      preflight({ contender: 'lax jose', algorithm: 'ES256', verdictOn: inProcessVerdict(lax) }, tokens),
    );
    expect(error.failedCase).toBe('wrong aud');
  });

  it('fails a verifier that ignores the expiry, and one that refuses the valid token', async () => {
    const noExp = createVerifier({
      key: key.publicPem,
      algorithms: ['ES256'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
    const expired = await failureOf(
      preflight({ contender: 'no exp', algorithm: 'ES256', verdictOn: inProcessVerdict(noExp) }, tokens),
    );
    expect(expired.failedCase).toBe('expired');
    const refusing = () => {
      throw new Error('no');
    };
    const valid = await failureOf(
      preflight({ contender: 'refuses', algorithm: 'ES256', verdictOn: inProcessVerdict(refusing) }, tokens),
    );
    expect([valid.failedCase, valid.verdict]).toEqual(['valid', 'refused']);
  });

  it('holds a signature-only contender to the valid token and the changed signature', async () => {
    const decodeOnly = createVerifier({ key: key.publicPem, algorithms: ['ES256'] });
    const subject = {
      contender: 'signature only',
      algorithm: 'ES256',
      verdictOn: inProcessVerdict(decodeOnly),
    };
    await expect(preflight({ ...subject, cases: SIGNATURE_CASES }, tokens)).resolves.toBeUndefined();
    expect((await failureOf(preflight(subject, tokens))).failedCase).toBe('wrong iss');
  });
});

describe('httpVerdict', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    // Answers by the token's case: 200 for the valid one, 500 for the expired one, 401 otherwise.
    server = createServer((req, res) => {
      const token = req.headers.authorization?.slice('Bearer '.length);
      res.statusCode = token === tokens.valid ? 200 : token === tokens.expired ? 500 : 401;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads 200 as accepted, 401 as refused and any other status as a failure', async () => {
    const verdictOn = httpVerdict(url);
    const verdicts = [];
    for (const name of PREFLIGHT_CASES) verdicts.push(await verdictOn(tokens[name]));
    expect(verdicts).toEqual(['accepted', 'refused', 'refused', 'answered 500 to', 'refused']);
    const error = await failureOf(preflight({ contender: 'server', algorithm: 'ES256', verdictOn }, tokens));
    expect([error.failedCase, error.verdict]).toEqual(['expired', 'answered 500 to']);
  });
});
