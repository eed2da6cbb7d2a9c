/**
 * A DPoP proof's key is the client's choice and is imported and checked before the token is read
 * (SECURITY.md item 12), so its cost is whatever an attacker picks. A security review measured P-521
 * proofs with garbage signatures and garbage tokens costing the servers 3-6x a valid DPoP request (on
 * Node 20's OpenSSL a P-521 key costs ~1.2 ms to import and ~1.8 ms to verify, against ~0.07 ms each
 * for P-256), when ES512 was in the default `dpop.algorithms`; a proof's RSA key was already bounded
 * at 4096 bits for the same reason. The default now leaves ES512 out: such a proof is refused on its
 * `alg`, before its key is imported, and the challenges no longer offer it. Listing ES512 in
 * `dpop.algorithms` still accepts it. (Cost is measured in the benchmarks, never here: these tests
 * assert the behaviour that bounds it.)
 *
 * Real parts: each adapter's app (test/support/adapter-apps.ts) on 127.0.0.1 port 0; proofs signed
 * with keys generated as PEM.
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterApp, FRAMEWORKS, startAdapterApp } from './support/adapter-apps.js';
import { parseChallenges } from './support/challenges.js';
import { dpopProof } from './support/dpop.js';
import { generateSigningKey, type SigningKey } from './support/keys.js';

const ISSUER = 'https://issuer.test';
const API = 'https://api.test';
/** Not a JWT: the proof is checked first, so what the proof's alg and key get is the answer. */
const TOKEN = 'not-a-jwt';

let p521: SigningKey;
const validators: Validator[] = [];
const apps: AdapterApp[] = [];

beforeAll(() => {
  p521 = generateSigningKey('ES512');
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(validators.map((validator) => validator.close()));
});

function validatorWith(dpop: true | { algorithms: ['ES256', 'ES512'] }): Validator {
  const validator = createValidator({ issuer: ISSUER, audience: API, jwks: { keys: [] }, dpop });
  validators.push(validator);
  return validator;
}

async function send(app: AdapterApp): Promise<{ status: number; challenge: string; body: string }> {
  const proof = await dpopProof(p521, { htm: 'GET', htu: `${app.url}/me`, token: TOKEN });
  const response = await request(`${app.url}/me`, {
    headers: { authorization: `DPoP ${TOKEN}`, dpop: proof },
  });
  return {
    status: response.statusCode,
    challenge: String(response.headers['www-authenticate']),
    body: await response.body.text(),
  };
}

describe('the default dpop.algorithms', () => {
  it('leave ES512 out and keep the other asymmetric algorithms', () => {
    const algorithms = validatorWith(true).options.dpop?.algorithms;
    expect(algorithms).not.toContain('ES512');
    expect(algorithms).toEqual(expect.arrayContaining(['RS256', 'ES256', 'ES384', 'EdDSA']));
  });

  for (const framework of FRAMEWORKS) {
    it(`${framework}: refuse a P-521 proof on its alg, and offer no ES512 in the challenge`, async () => {
      const app = await startAdapterApp(framework, validatorWith(true));
      apps.push(app);
      const answer = await send(app);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_dpop_proof' });
      expect(JSON.parse(answer.body).error_description).toMatch(/algorithm is not one of/);
      const dpop = parseChallenges(answer.challenge).find((challenge) => challenge.scheme === 'DPoP');
      expect(dpop?.params.algs?.split(' ')).toContain('ES256');
      expect(dpop?.params.algs?.split(' ')).not.toContain('ES512');
    });
  }
});

describe('dpop.algorithms listing ES512', () => {
  it('accepts the P-521 proof: the request goes on to the token', async () => {
    const app = await startAdapterApp('express', validatorWith({ algorithms: ['ES256', 'ES512'] }));
    apps.push(app);
    const answer = await send(app);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_token' });
  });
});
