import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenClaims, secretSigningKey, signToken } from '../../../test/support/keys.js';
import { failure, thrownBy } from '../../../test/support/rejections.js';
import { type AuthInfo, createAuthInfo } from './auth-info.js';
import { TokenGuardError } from './errors.js';
import { assertRequirements, checkRequirements, type Requirements } from './requirements.js';
import { routeGuardRequirements } from './transport.js';
import { createValidator, type Validator } from './validator.js';

/**
 * RFC 9470 step-up on the resource server: `authentication: { acrValues, maxAgeSec }` judged from
 * the token's `acr` and `auth_time`, failing with 401 `insufficient_user_authentication` whose
 * challenge says what to ask the authorization server for.
 */
const NOW_SEC = 1_700_000_000;
const clock = { now: () => NOW_SEC * 1000, clockToleranceSec: 5 };
const MFA = 'urn:example:mfa';
const PHR = 'phr';

function authWith(claims: Record<string, unknown>, source: AuthInfo['source'] = 'jwt'): AuthInfo {
  return createAuthInfo('token', {
    claims,
    subject: 'user-1',
    clientId: 'client-1',
    issuer: 'https://id.example',
    audience: ['https://api.example'],
    scopes: new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []),
    expiresAt: undefined,
    tenant: undefined,
    source,
  });
}

describe('authentication.acrValues', () => {
  const requirements: Requirements = { authentication: { acrValues: [MFA, PHR] } };

  it('accepts an acr equal to one of the values', () => {
    expect(() => checkRequirements(authWith({ acr: MFA }), requirements, clock)).not.toThrow();
    expect(() => checkRequirements(authWith({ acr: PHR }), requirements, clock)).not.toThrow();
  });

  it('rejects another acr with 401 insufficient_user_authentication naming the values', () => {
    const error = thrownBy(() => checkRequirements(authWith({ acr: 'pwd' }), requirements, clock));
    expect(error).toMatchObject({
      code: 'ERR_INSUFFICIENT_USER_AUTHENTICATION',
      status: 401,
      oauthError: 'insufficient_user_authentication',
      claim: 'acr',
      acrValues: [MFA, PHR],
      maxAgeSec: undefined,
      message: 'A different authentication level is required',
    });
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa phr"',
    );
    expect(error.toJSON()).toEqual({
      error: 'insufficient_user_authentication',
      error_description: 'A different authentication level is required',
    });
  });

  it('compares exactly: case, prefixes and list-valued acr do not match', () => {
    for (const acr of ['URN:EXAMPLE:MFA', 'urn:example:mf', `${MFA} `, [MFA], 1, null, true]) {
      const error = thrownBy(() => checkRequirements(authWith({ acr }), requirements, clock));
      expect(error.code, String(acr)).toBe('ERR_INSUFFICIENT_USER_AUTHENTICATION');
    }
  });

  it('fails, never skips, when the token has no acr claim', () => {
    const error = thrownBy(() => checkRequirements(authWith({}), requirements, clock));
    expect(error.code).toBe('ERR_INSUFFICIENT_USER_AUTHENTICATION');
    expect(error.message).toMatch(/no acr claim/);
  });

  it('does not read an inherited acr', () => {
    const claims = Object.create({ acr: MFA }) as Record<string, unknown>;
    // createAuthInfo keeps the object; an inherited property is not the token's claim.
    const auth = authWith(claims);
    expect(Object.hasOwn(auth.claims, 'acr')).toBe(false);
    expect(() => checkRequirements(auth, requirements, clock)).toThrow(TokenGuardError);
  });

  it('never echoes the token or its acr in the message or body', () => {
    const error = thrownBy(() =>
      checkRequirements(authWith({ acr: 'secret-level-7f3a' }), requirements, clock),
    );
    expect(`${error.message} ${JSON.stringify(error.toJSON())} ${error.wwwAuthenticate}`).not.toMatch(
      /secret-level-7f3a|token"/,
    );
  });
});

describe('authentication.maxAgeSec', () => {
  const requirements: Requirements = { authentication: { maxAgeSec: 300 } };
  const at = (authTime: unknown) => authWith({ auth_time: authTime });

  it('accepts an auth_time within maxAgeSec', () => {
    expect(() => checkRequirements(at(NOW_SEC), requirements, clock)).not.toThrow();
    expect(() => checkRequirements(at(NOW_SEC - 300), requirements, clock)).not.toThrow();
  });

  it('applies the clock tolerance in the caller favour at both edges', () => {
    // 300 s allowed plus 5 s of tolerance: 305 s old passes, 305.001 s old fails.
    expect(() => checkRequirements(at(NOW_SEC - 305), requirements, clock)).not.toThrow();
    expect(thrownBy(() => checkRequirements(at(NOW_SEC - 305.001), requirements, clock)).code).toBe(
      'ERR_INSUFFICIENT_USER_AUTHENTICATION',
    );
    // In the future: up to the tolerance passes, beyond it fails.
    expect(() => checkRequirements(at(NOW_SEC + 5), requirements, clock)).not.toThrow();
    const future = thrownBy(() => checkRequirements(at(NOW_SEC + 6), requirements, clock));
    expect(future.code).toBe('ERR_INSUFFICIENT_USER_AUTHENTICATION');
    expect(future.message).toMatch(/in the future/);
  });

  it('rejects a stale auth_time with max_age in the challenge', () => {
    const error = thrownBy(() => checkRequirements(at(NOW_SEC - 3600), requirements, clock));
    expect(error).toMatchObject({
      code: 'ERR_INSUFFICIENT_USER_AUTHENTICATION',
      status: 401,
      claim: 'auth_time',
      maxAgeSec: 300,
      acrValues: undefined,
      message: 'More recent authentication is required',
    });
    expect(error.wwwAuthenticate).toBe(
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300"',
    );
  });

  it('fails when auth_time is absent or not a finite number', () => {
    for (const value of [undefined, '1700000000', null, Number.NaN, Number.POSITIVE_INFINITY, [NOW_SEC]]) {
      const auth = value === undefined ? authWith({}) : at(value);
      const error = thrownBy(() => checkRequirements(auth, requirements, clock));
      expect(error.code, String(value)).toBe('ERR_INSUFFICIENT_USER_AUTHENTICATION');
      expect(error.claim).toBe('auth_time');
    }
    expect(thrownBy(() => checkRequirements(authWith({}), requirements, clock)).message).toMatch(
      /no auth_time claim/,
    );
  });

  it('maxAgeSec 0 asks for authentication at this instant (within the tolerance)', () => {
    const requirement: Requirements = { authentication: { maxAgeSec: 0 } };
    expect(() => checkRequirements(at(NOW_SEC - 5), requirement, clock)).not.toThrow();
    expect(() => checkRequirements(at(NOW_SEC - 6), requirement, clock)).toThrow(TokenGuardError);
  });

  it('defaults to Date.now and no tolerance without a clock', () => {
    const nowSec = Math.floor(Date.now() / 1000);
    expect(() => checkRequirements(at(nowSec), requirements)).not.toThrow();
    expect(() => checkRequirements(at(nowSec - 3600), requirements)).toThrow(TokenGuardError);
    // A tolerance only applies when given: 2 s ahead fails with none.
    expect(() => checkRequirements(at(nowSec + 2), requirements)).toThrow(TokenGuardError);
  });

  it('fails closed when the given clock answers no finite number (every comparison with NaN is false)', () => {
    for (const answer of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const broken = { now: () => answer, clockToleranceSec: 5 };
      expect(() => checkRequirements(at(NOW_SEC - 3600), requirements, broken)).toThrow(
        /the clock given to checkRequirements answered no finite number/,
      );
    }
  });

  it('reads the clock only when maxAgeSec is set', () => {
    let reads = 0;
    const counting = { now: () => ++reads && NOW_SEC * 1000 };
    checkRequirements(authWith({ acr: MFA }), { authentication: { acrValues: [MFA] } }, counting);
    checkRequirements(authWith({ scope: 'read' }), { scopes: ['read'] }, counting);
    expect(reads).toBe(0);
  });
});

describe('authentication with both keys', () => {
  const requirements: Requirements = { authentication: { acrValues: [MFA], maxAgeSec: 60 } };

  it('needs both, and the challenge names both so one new token meets them', () => {
    expect(() =>
      checkRequirements(authWith({ acr: MFA, auth_time: NOW_SEC - 10 }), requirements, clock),
    ).not.toThrow();
    const wrongAcr = thrownBy(() =>
      checkRequirements(authWith({ acr: 'pwd', auth_time: NOW_SEC }), requirements, clock),
    );
    const stale = thrownBy(() =>
      checkRequirements(authWith({ acr: MFA, auth_time: NOW_SEC - 600 }), requirements, clock),
    );
    expect(wrongAcr.message).toBe('A different authentication level is required');
    expect(stale.message).toBe('More recent authentication is required');
    for (const error of [wrongAcr, stale]) {
      expect(error.wwwAuthenticate).toMatch(/, acr_values="urn:example:mfa", max_age="60"$/);
    }
  });
});

describe('a requirement changed in place after its first check (the shape check is remembered)', () => {
  // A route's settings reloaded in place, e.g. from configuration that yields strings.
  const stale = authWith({ acr: 'mfa', auth_time: NOW_SEC - 86_400 * 365 });

  it('never passes a maxAgeSec that became a string, NaN or negative', () => {
    for (const changed of ['300', Number.NaN, -1, 1.5, null]) {
      const authentication: Record<string, unknown> = { maxAgeSec: 300 };
      const requirements = { authentication } as unknown as Requirements;
      expect(thrownBy(() => checkRequirements(stale, requirements, clock)).code).toBe(
        'ERR_INSUFFICIENT_USER_AUTHENTICATION',
      );
      authentication.maxAgeSec = changed;
      expect(() => checkRequirements(stale, requirements, clock), String(changed)).toThrow(
        /authentication\.maxAgeSec/,
      );
    }
  });

  it('never matches acrValues that became a string by substring', () => {
    const authentication: Record<string, unknown> = { acrValues: [MFA] };
    const requirements = { authentication } as unknown as Requirements;
    expect(thrownBy(() => checkRequirements(stale, requirements, clock)).code).toBe(
      'ERR_INSUFFICIENT_USER_AUTHENTICATION',
    );
    authentication.acrValues = MFA; // 'urn:example:mfa'.includes('mfa') is true
    expect(() => checkRequirements(stale, requirements, clock)).toThrow(/authentication\.acrValues/);
  });

  it('never passes an authentication whose keys were removed', () => {
    const authentication: Record<string, unknown> = { acrValues: [MFA], maxAgeSec: 60 };
    const requirements = { authentication } as unknown as Requirements;
    expect(thrownBy(() => checkRequirements(stale, requirements, clock)).code).toBe(
      'ERR_INSUFFICIENT_USER_AUTHENTICATION',
    );
    delete authentication.acrValues;
    delete authentication.maxAgeSec;
    expect(() => checkRequirements(stale, requirements, clock)).toThrow(/needs acrValues, maxAgeSec or both/);
  });

  it('is a 500 (ERR_INTERNAL) through the validator, never a pass', async () => {
    const validator = createValidator({
      issuer: 'https://id.example',
      audience: 'https://api.example',
      secret: 's'.repeat(32),
      now: clock.now,
    });
    const authentication: Record<string, unknown> = { maxAgeSec: 300 };
    const requirements = { authentication } as unknown as Requirements;
    expect(() => validator.check(stale, requirements)).toThrow(/More recent authentication/);
    authentication.maxAgeSec = '300';
    expect(thrownBy(() => validator.check(stale, requirements))).toMatchObject({
      code: 'ERR_INTERNAL',
      status: 500,
    });
    await validator.close();
  });
});

describe('order of checks', () => {
  it('answers the 403 of tenant, scopes or claims before asking for step-up', () => {
    const auth = authWith({ scope: 'read', acr: 'pwd' });
    const authentication = { acrValues: [MFA] };
    expect(
      thrownBy(() => checkRequirements(auth, { scopes: ['write'], authentication }, clock)),
    ).toMatchObject({ code: 'ERR_INSUFFICIENT_SCOPE', status: 403 });
    expect(thrownBy(() => checkRequirements(auth, { tenant: 'acme', authentication }, clock)).code).toBe(
      'ERR_TENANT_MISMATCH',
    );
    expect(
      thrownBy(() =>
        checkRequirements(auth, { claims: [{ claim: 'org', equals: 'x' }], authentication }, clock),
      ).code,
    ).toBe('ERR_CLAIM_REQUIREMENT');
    expect(thrownBy(() => checkRequirements(auth, { scopes: ['read'], authentication }, clock)).code).toBe(
      'ERR_INSUFFICIENT_USER_AUTHENTICATION',
    );
  });
});

describe('introspection answers (RFC 9470 §6)', () => {
  it('judges the answer acr and auth_time like a JWT', () => {
    const answer = { active: true, scope: 'read', acr: MFA, auth_time: NOW_SEC - 30, exp: NOW_SEC + 300 };
    const requirements: Requirements = { authentication: { acrValues: [MFA], maxAgeSec: 60 } };
    expect(() => checkRequirements(authWith(answer, 'introspection'), requirements, clock)).not.toThrow();
    const stale = authWith({ ...answer, auth_time: NOW_SEC - 600 }, 'introspection');
    expect(thrownBy(() => checkRequirements(stale, requirements, clock)).code).toBe(
      'ERR_INSUFFICIENT_USER_AUTHENTICATION',
    );
    const weak = authWith({ ...answer, acr: 'pwd' }, 'introspection');
    expect(thrownBy(() => checkRequirements(weak, requirements, clock)).claim).toBe('acr');
  });
});

describe('assertRequirements: authentication', () => {
  const invalid = (authentication: unknown) => () => assertRequirements({ authentication });

  it('accepts acrValues, maxAgeSec or both', () => {
    expect(invalid({ acrValues: [MFA] })).not.toThrow();
    expect(invalid({ maxAgeSec: 0 })).not.toThrow();
    expect(invalid({ acrValues: ['urn:mace:incommon:iap:silver', '0'], maxAgeSec: 86_400 })).not.toThrow();
  });

  it('rejects what is not an object, or names neither key', () => {
    for (const value of [null, 'mfa', ['mfa'], 300]) {
      expect(invalid(value)).toThrow(/"authentication": must be an object/);
    }
    expect(invalid({})).toThrow(/"authentication": needs acrValues, maxAgeSec or both/);
  });

  it('rejects unknown keys, naming them', () => {
    expect(invalid({ acr_values: [MFA] })).toThrow(/"authentication.acr_values": unknown/);
    expect(invalid({ maxAge: 300 })).toThrow(/"authentication.maxAge": unknown/);
  });

  it('rejects an empty list and values that cannot go in a challenge', () => {
    expect(invalid({ acrValues: [] })).toThrow(/"authentication.acrValues": must be a non-empty list/);
    expect(invalid({ acrValues: MFA })).toThrow(/"authentication.acrValues": must be a non-empty list/);
    for (const bad of ['', 'two words', 'a"b', 'a\\b', 'tab\there', 'é', '\u0000', 7]) {
      expect(invalid({ acrValues: [MFA, bad] }), JSON.stringify(bad)).toThrow(
        /"authentication.acrValues.1": must be a non-empty string of printable ASCII/,
      );
    }
  });

  it('rejects a negative, fractional, NaN or non-number maxAgeSec', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '300', null, 2 ** 60]) {
      expect(invalid({ maxAgeSec: bad }), String(bad)).toThrow(
        /"authentication.maxAgeSec": must be a non-negative integer/,
      );
    }
  });

  it('lists authentication among the known requirement keys', () => {
    expect(() => assertRequirements({ authenticate: { maxAgeSec: 1 } })).toThrow(
      /unknown \(expected scopes, tenant, claims or authentication\)/,
    );
  });
});

describe("routeGuardRequirements('requireAuthentication')", () => {
  it('copies its argument: a caller changing its list later changes nothing', () => {
    const acrValues = [MFA];
    const requirements = routeGuardRequirements('requireAuthentication', [{ acrValues, maxAgeSec: 60 }]);
    acrValues.push('pwd');
    expect(requirements(undefined)).toEqual({ authentication: { acrValues: [MFA], maxAgeSec: 60 } });
  });

  it('is a TypeError when declared wrongly, naming the guard or the key', () => {
    expect(() => routeGuardRequirements('requireAuthentication', [])).toThrow(
      /requireAuthentication\(\) takes one object/,
    );
    expect(() => routeGuardRequirements('requireAuthentication', [[MFA]])).toThrow(/takes one object/);
    expect(() => routeGuardRequirements('requireAuthentication', [{ maxAgeSec: -1 }])).toThrow(
      /"authentication.maxAgeSec"/,
    );
    expect(() => routeGuardRequirements('requireAuthentication', [{ acrValues: [] }])).toThrow(
      /"authentication.acrValues"/,
    );
  });
});

describe('the validator applies its own clock', () => {
  const ISS = 'https://id.example';
  const AUD = 'https://api.example';
  const SECRET = 'a-shared-secret-of-at-least-32-bytes!';
  let clockMs = NOW_SEC * 1000;
  const validator = createValidator({
    issuer: ISS,
    audience: AUD,
    secret: SECRET,
    now: () => clockMs,
    clockToleranceSec: 10,
  });
  const token = (overrides: Record<string, unknown>) =>
    signToken(
      secretSigningKey(SECRET),
      accessTokenClaims({ iss: ISS, aud: AUD, nowSec: NOW_SEC }, overrides),
      {
        kid: undefined,
      },
    );
  afterAll(() => validator.close());

  it('in validate() and check(), with its tolerance, also for a cached token', async () => {
    const requirements: Requirements = { authentication: { maxAgeSec: 60 } };
    const fresh = await token({ auth_time: NOW_SEC - 65 });
    clockMs = NOW_SEC * 1000;
    const auth = await validator.validate(fresh, requirements);
    expect(() => validator.check(auth, requirements)).not.toThrow();
    // 71 s after auth_time: past 60 + 10 s at the validator's clock (Date.now is years later anyway).
    clockMs = (NOW_SEC + 6) * 1000;
    const error = await failure(validator.validate(fresh, requirements));
    expect(error).toMatchObject({ code: 'ERR_INSUFFICIENT_USER_AUTHENTICATION', status: 401 });
    expect(() => validator.check(auth, requirements)).toThrow(/More recent authentication/);
  });

  it('sets realm and resource_metadata on the step-up challenge like on any other', async () => {
    const withRealm = createValidator({
      issuer: ISS,
      audience: AUD,
      secret: SECRET,
      now: () => NOW_SEC * 1000,
      realm: 'orders',
      resourceMetadata: { resource: 'https://api.example' },
    });
    try {
      const error = await failure(
        withRealm.validate(await token({ acr: 'pwd' }), { authentication: { acrValues: [MFA] } }),
      );
      expect(error.wwwAuthenticate).toBe(
        'Bearer realm="orders", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:mfa", resource_metadata="https://api.example/.well-known/oauth-protected-resource"',
      );
    } finally {
      await withRealm.close();
    }
  });
});

describe('an introspected token end to end', () => {
  let server: Server;
  let issuer: string;
  let answer: Record<string, unknown>;
  const validators: Validator[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body =
          req.url === '/.well-known/openid-configuration'
            ? { issuer, introspection_endpoint: `${issuer}/introspect` }
            : answer;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(validators.map((validator) => validator.close()));
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('judges the answer acr and auth_time', async () => {
    const validator = createValidator({
      issuer,
      audience: 'https://api.example',
      secret: 'a-shared-secret-of-at-least-32-bytes!',
      now: () => NOW_SEC * 1000,
      introspection: { clientId: 'api', clientSecret: 'api-secret' },
    });
    validators.push(validator);
    const base = { active: true, iss: issuer, aud: 'https://api.example', exp: NOW_SEC + 300 };
    const requirements: Requirements = { authentication: { acrValues: [MFA], maxAgeSec: 60 } };
    answer = { ...base, acr: MFA, auth_time: NOW_SEC - 30 };
    await expect(validator.validate('opaque-strong', requirements)).resolves.toMatchObject({
      source: 'introspection',
    });
    answer = { ...base, acr: 'pwd', auth_time: NOW_SEC - 30 };
    const weak = await failure(validator.validate('opaque-weak', requirements));
    expect(weak.wwwAuthenticate).toMatch(
      /error="insufficient_user_authentication".*acr_values="urn:example:mfa", max_age="60"/,
    );
  });
});
