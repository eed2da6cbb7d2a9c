/**
 * RFC 9449 end to end: a real authorization server (oidc-provider through the dev issuer, DPoP on)
 * binds access tokens to its client's DPoP key (`cnf.jkt`: in a JWT's payload, or in the introspection
 * answer of an opaque token), the client signs a proof of each request with that key
 * (`issuer.dpopProof`: htm, htu, ath), and each adapter, with a validator that takes DPoP, admits the
 * token only with a fresh proof of that request made by the key it is bound to.
 *
 * Each framework gets two real servers on 127.0.0.1: one whose validator has `dpop: true` (Bearer and
 * DPoP both offered) and one with `dpop: { required: true }` (DPoP only). Both validators accept the JWT
 * resource (`https://api.test`) and the opaque one (`https://opaque.test`, by introspection). The routes
 * answer with what the handler sees of `auth`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeJwt, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterApp, FRAMEWORKS, type Framework, startAdapterApp } from './support/adapter-apps.js';
import { parseChallenges } from './support/challenges.js';

const API = 'https://api.test';
const OPAQUE = 'https://opaque.test';
const KINDS = ['jwt', 'introspection'] as const;
type Kind = (typeof KINDS)[number];
type Mode = 'offered' | 'required';

let issuer: DevIssuer;
const validators = {} as Record<Mode, Validator>;
const apps = {} as Record<Framework, Record<Mode, AdapterApp>>;
/** Per kind (JWT, or opaque for introspection): a token bound to the client's DPoP key, and a plain one. */
const tokens = {} as Record<Kind, Record<'bound' | 'plain', string>>;

/** What the route handlers answer: the caller's binding as the adapter handed it over. */
const describeAuth = (auth: { claims: Record<string, unknown>; source: string } | null | undefined) => ({
  jkt: (auth?.claims.cnf as { jkt?: unknown } | undefined)?.jkt ?? null,
  source: auth?.source ?? null,
});

beforeAll(async () => {
  issuer = await startDevIssuer({ dpop: true });
  for (const mode of ['offered', 'required'] as const) {
    validators[mode] = createValidator({
      issuer: issuer.issuer,
      audience: [API, OPAQUE],
      introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
      dpop: mode === 'offered' ? true : { required: true },
    });
  }
  const [boundJwt, plainJwt, boundOpaque, plainOpaque] = await Promise.all([
    issuer.getToken({ resource: API, scope: 'read', dpop: true }),
    issuer.getToken({ resource: API, scope: 'read' }),
    issuer.getToken({ resource: OPAQUE, scope: 'read', dpop: true }),
    issuer.getToken({ resource: OPAQUE, scope: 'read' }),
  ]);
  tokens.jwt = { bound: boundJwt, plain: plainJwt };
  tokens.introspection = { bound: boundOpaque, plain: plainOpaque };
  await Promise.all(
    FRAMEWORKS.map(async (framework) => {
      const [offered, required] = await Promise.all([
        startAdapterApp(framework, validators.offered, describeAuth),
        startAdapterApp(framework, validators.required, describeAuth),
      ]);
      apps[framework] = { offered, required };
    }),
  );
});

afterAll(async () => {
  await Promise.all(Object.values(apps).flatMap((byMode) => Object.values(byMode).map((app) => app.close())));
  await Promise.all(Object.values(validators).map((validator) => validator.close()));
  await issuer?.close();
});

interface Call {
  method?: 'GET' | 'POST';
  authorization: string;
  proof?: string;
}

async function call(app: AdapterApp, { method = 'GET', authorization, proof }: Call) {
  const response = await fetch(`${app.url}/me`, {
    method,
    headers: { authorization, ...(proof === undefined ? {} : { dpop: proof }) },
  });
  const body = (await response.json()) as Record<string, unknown>;
  const header = response.headers.get('www-authenticate');
  return { status: response.status, body, challenges: header === null ? null : parseChallenges(header) };
}

/** The DPoP algorithms the validator offers, as its challenge's `algs` must list them. */
const algsOf = (validator: Validator) => validator.options.dpop?.algorithms.join(' ');

/** A DPoP proof of `htm htu` for `token`, signed by a P-256 key the issuer never saw. */
async function proofByAnotherKey(htm: string, htu: string, token: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = createPrivateKey(privateKey);
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as JWK;
  return new SignJWT({
    htm,
    htu,
    jti: randomUUID(),
    ath: createHash('sha256').update(token).digest('base64url'),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt()
    .sign(key);
}

describe('the tokens really are DPoP-bound by oidc-provider', () => {
  it('the bound JWT carries cnf.jkt of the client key; the plain one no cnf', () => {
    expect(issuer.dpopJkt).toEqual(expect.any(String));
    expect(decodeJwt(tokens.jwt.bound).cnf).toEqual({ jkt: issuer.dpopJkt });
    expect(decodeJwt(tokens.jwt.plain).cnf).toBeUndefined();
  });

  it('the bound opaque token introspects as DPoP with cnf.jkt; the plain one as Bearer', async () => {
    expect(await issuer.introspect(tokens.introspection.bound)).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: issuer.dpopJkt },
    });
    expect(await issuer.introspect(tokens.introspection.plain)).toMatchObject({
      active: true,
      token_type: 'Bearer',
    });
  });
});

describe.each(FRAMEWORKS)('DPoP through %s', (framework) => {
  describe.each(KINDS)('%s tokens', (kind) => {
    describe.each(['offered', 'required'] as const)('with the DPoP scheme (dpop %s)', (mode) => {
      it('admits the bound token with a proof of this request (200), auth bound to the client key', async () => {
        const { bound } = tokens[kind];
        const app = apps[framework][mode];
        const proof = await issuer.dpopProof('GET', `${app.url}/me`, bound);
        const result = await call(app, { authorization: `DPoP ${bound}`, proof });
        expect(result).toEqual({
          status: 200,
          body: { jkt: issuer.dpopJkt, source: kind },
          challenges: null,
        });
      });

      it('refuses the same proof a second time: 401 invalid_dpop_proof in the DPoP challenge', async () => {
        const { bound } = tokens[kind];
        const app = apps[framework][mode];
        const proof = await issuer.dpopProof('GET', `${app.url}/me`, bound);
        expect((await call(app, { authorization: `DPoP ${bound}`, proof })).status).toBe(200);
        const replay = await call(app, { authorization: `DPoP ${bound}`, proof });
        expect(replay.status).toBe(401);
        expect(replay.body).toEqual({
          error: 'invalid_dpop_proof',
          error_description: expect.stringMatching(/used before/),
        });
        const dpop = replay.challenges?.find((challenge) => challenge.scheme === 'DPoP');
        expect(dpop?.params).toMatchObject({
          error: 'invalid_dpop_proof',
          error_description: replay.body.error_description,
          algs: algsOf(validators[mode]),
        });
        // The Bearer challenge (offered mode only) carries no error: the request did not use Bearer.
        const bearer = replay.challenges?.find((challenge) => challenge.scheme === 'Bearer');
        if (mode === 'offered') expect(bearer?.params.error).toBeUndefined();
        else expect(bearer).toBeUndefined();
      });

      it.each([
        ['another path', 'GET', '/other', /htu/],
        ['another method', 'POST', '/me', /htm/],
      ] as const)(
        'refuses a GET with a proof made for %s: 401 invalid_dpop_proof',
        async (_, htm, path, why) => {
          const { bound } = tokens[kind];
          const app = apps[framework][mode];
          const proof = await issuer.dpopProof(htm, `${app.url}${path}`, bound);
          const result = await call(app, { authorization: `DPoP ${bound}`, proof });
          expect(result.status).toBe(401);
          expect(result.body).toEqual({
            error: 'invalid_dpop_proof',
            error_description: expect.stringMatching(why),
          });
          expect(result.challenges?.find((c) => c.scheme === 'DPoP')?.params.error).toBe(
            'invalid_dpop_proof',
          );
        },
      );

      it('refuses a GET proof sent with a POST: 401 invalid_dpop_proof (htm)', async () => {
        const { bound } = tokens[kind];
        const app = apps[framework][mode];
        const proof = await issuer.dpopProof('GET', `${app.url}/me`, bound);
        const result = await call(app, { method: 'POST', authorization: `DPoP ${bound}`, proof });
        expect(result.status).toBe(401);
        expect(result.body).toEqual({
          error: 'invalid_dpop_proof',
          error_description: expect.stringMatching(/htm/),
        });
      });

      it('refuses an unbound token with a proof: 401 invalid_token, Invalid DPoP key binding', async () => {
        const { plain } = tokens[kind];
        const app = apps[framework][mode];
        const proof = await issuer.dpopProof('GET', `${app.url}/me`, plain);
        const result = await call(app, { authorization: `DPoP ${plain}`, proof });
        expect(result.status).toBe(401);
        expect(result.body).toEqual({
          error: 'invalid_token',
          error_description: expect.stringMatching(/^Invalid DPoP key binding: .* not bound to a DPoP key/),
        });
        expect(result.challenges?.find((c) => c.scheme === 'DPoP')?.params.error).toBe('invalid_token');
      });

      it('refuses the bound token with a proof signed by another key: 401 invalid_token (binding)', async () => {
        const { bound } = tokens[kind];
        const app = apps[framework][mode];
        const proof = await proofByAnotherKey('GET', `${app.url}/me`, bound);
        const result = await call(app, { authorization: `DPoP ${bound}`, proof });
        expect(result.status).toBe(401);
        expect(result.body).toEqual({
          error: 'invalid_token',
          error_description: expect.stringMatching(/^Invalid DPoP key binding: .* bound to another key/),
        });
        expect(result.challenges?.find((c) => c.scheme === 'DPoP')?.params.error).toBe('invalid_token');
      });
    });

    it('offered: refuses the bound token as Bearer (also right after it passed with DPoP): 401 invalid_token, with a DPoP algs challenge', async () => {
      const { bound } = tokens[kind];
      const app = apps[framework].offered;
      const proof = await issuer.dpopProof('GET', `${app.url}/me`, bound);
      expect((await call(app, { authorization: `DPoP ${bound}`, proof })).status).toBe(200);
      const result = await call(app, { authorization: `Bearer ${bound}` });
      expect(result.status).toBe(401);
      expect(result.body).toEqual({
        error: 'invalid_token',
        error_description: expect.stringMatching(
          /bound to a key \(cnf jkt\) and was presented as a bearer token/,
        ),
      });
      const [bearer, dpop, ...more] = result.challenges ?? [];
      expect(more).toEqual([]);
      expect(bearer).toMatchObject({ scheme: 'Bearer', params: { error: 'invalid_token' } });
      expect(dpop).toEqual({ scheme: 'DPoP', params: { algs: algsOf(validators.offered) } });
      expect(dpop?.params.algs?.split(' ')).toContain('ES256');
    });

    it('offered: still admits the plain token as Bearer (200)', async () => {
      const { plain } = tokens[kind];
      const result = await call(apps[framework].offered, { authorization: `Bearer ${plain}` });
      expect(result).toEqual({ status: 200, body: { jkt: null, source: kind }, challenges: null });
    });

    it.each(['plain', 'bound'] as const)(
      'required: answers the %s token as Bearer like no credentials: 401, only a DPoP challenge, no error',
      async (which) => {
        const result = await call(apps[framework].required, {
          authorization: `Bearer ${tokens[kind][which]}`,
        });
        expect(result.status).toBe(401);
        expect(result.challenges).toEqual([
          { scheme: 'DPoP', params: { algs: algsOf(validators.required) } },
        ]);
      },
    );
  });
});
