/**
 * RFC 9449 §7.2 / RFC 7800 end to end: a real authorization server (oidc-provider through the dev
 * issuer, DPoP on) binds access tokens to the client's DPoP key (`token_type: DPoP`, `cnf.jkt`). Sent
 * as `Authorization: Bearer`, such a token must be refused by each adapter (401 invalid_token, core
 * code ERR_TOKEN_BOUND), whether it is a JWT (RFC 9068) or an opaque token whose introspection answer
 * carries `cnf`. `acceptBoundTokens: true` lets it through, and an unbound token of the same issuer
 * passes by default: the refusal is about `cnf`, not the issuer.
 *
 * Each framework gets two real servers on 127.0.0.1: one with the default validator, one with
 * `acceptBoundTokens: true`. Both validators discover the issuer and accept the JWT resource
 * (`https://api.test`) and the opaque one (`https://opaque.test`, by introspection).
 */
import { createValidator, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from './conformance/challenge.js';
import {
  type AdapterApp as App,
  FRAMEWORKS,
  type Framework,
  startAdapterApp,
} from './support/adapter-apps.js';
import { failure } from './support/rejections.js';

const API = 'https://api.test';
const OPAQUE = 'https://opaque.test';
type Mode = 'default' | 'acceptBoundTokens';

let issuer: DevIssuer;
const validators = {} as Record<Mode, Validator>;
const apps = {} as Record<Framework, Record<Mode, App>>;
/** Tokens from the issuer: bound to its client's DPoP key, or plain bearer tokens. */
const tokens = {} as Record<'boundJwt' | 'plainJwt' | 'boundOpaque' | 'plainOpaque', string>;

beforeAll(async () => {
  issuer = await startDevIssuer({ dpop: true });
  for (const mode of ['default', 'acceptBoundTokens'] as const) {
    validators[mode] = createValidator({
      issuer: issuer.issuer,
      audience: [API, OPAQUE],
      introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
      ...(mode === 'acceptBoundTokens' ? { acceptBoundTokens: true } : {}),
    });
  }
  [tokens.boundJwt, tokens.plainJwt, tokens.boundOpaque, tokens.plainOpaque] = await Promise.all([
    issuer.getToken({ resource: API, scope: 'read', dpop: true }),
    issuer.getToken({ resource: API, scope: 'read' }),
    issuer.getToken({ resource: OPAQUE, scope: 'read', dpop: true }),
    issuer.getToken({ resource: OPAQUE, scope: 'read' }),
  ]);
  await Promise.all(
    FRAMEWORKS.map(async (framework) => {
      const [byDefault, accepting] = await Promise.all([
        startAdapterApp(framework, validators.default),
        startAdapterApp(framework, validators.acceptBoundTokens),
      ]);
      apps[framework] = { default: byDefault, acceptBoundTokens: accepting };
    }),
  );
});

afterAll(async () => {
  await Promise.all(Object.values(apps).flatMap((byMode) => Object.values(byMode).map((app) => app.close())));
  await Promise.all(Object.values(validators).map((validator) => validator.close()));
  await issuer?.close();
});

async function call(app: App, token: string) {
  const response = await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as Record<string, unknown>;
  const header = response.headers.get('www-authenticate');
  return { status: response.status, body, challenge: header === null ? null : parseChallenge(header) };
}

describe('the tokens really are DPoP-bound by oidc-provider', () => {
  it('the JWT carries cnf.jkt of the client key; the opaque token introspects as DPoP with cnf.jkt', async () => {
    expect(issuer.dpopJkt).toEqual(expect.any(String));
    expect(decodeJwt(tokens.boundJwt).cnf).toEqual({ jkt: issuer.dpopJkt });
    expect(decodeJwt(tokens.plainJwt).cnf).toBeUndefined();
    expect(await issuer.introspect(tokens.boundOpaque)).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt: issuer.dpopJkt },
    });
  });

  it('the validator refuses both with ERR_TOKEN_BOUND (the code behind the 401s below)', async () => {
    for (const token of [tokens.boundJwt, tokens.boundOpaque]) {
      expect(await failure(validators.default.validate(`Bearer ${token}`))).toMatchObject({
        code: 'ERR_TOKEN_BOUND',
        status: 401,
        oauthError: 'invalid_token',
      });
    }
  });
});

describe.each(FRAMEWORKS)('bound tokens presented as bearer tokens through %s', (framework) => {
  it.each([
    ['a DPoP-bound JWT access token', 'boundJwt'],
    ['a DPoP-bound opaque token (introspection answer with cnf)', 'boundOpaque'],
  ] as const)('refuses %s: 401 invalid_token naming cnf jkt', async (_, which) => {
    const result = await call(apps[framework].default, tokens[which]);
    expect(result.status).toBe(401);
    expect(result.challenge?.scheme).toBe('Bearer');
    expect(result.challenge?.params.error).toBe('invalid_token');
    // The wire body is { error, error_description } (no code field): the description is ERR_TOKEN_BOUND's.
    expect(result.body).toEqual({
      error: 'invalid_token',
      error_description: expect.stringMatching(
        /bound to a key \(cnf jkt\) and was presented as a bearer token/,
      ),
    });
    expect(result.challenge?.params.error_description).toBe(result.body.error_description);
  });

  it.each(['boundJwt', 'boundOpaque'] as const)(
    'admits %s with acceptBoundTokens: true (200)',
    async (which) => {
      const result = await call(apps[framework].acceptBoundTokens, tokens[which]);
      expect(result).toEqual({ status: 200, body: { ok: true }, challenge: null });
    },
  );

  it.each(['plainJwt', 'plainOpaque'] as const)(
    'admits an unbound %s of the same issuer by default (200)',
    async (which) => {
      const result = await call(apps[framework].default, tokens[which]);
      expect(result).toEqual({ status: 200, body: { ok: true }, challenge: null });
    },
  );
});
