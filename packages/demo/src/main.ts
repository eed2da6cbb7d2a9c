/**
 * `pnpm demo`: a real OAuth 2.0 authorization server (oidc-provider, in-process) and an API protected
 * by tokenguard, both on 127.0.0.1, walked through every outcome with real tokens. Non-interactive;
 * exits 0 when every step answered as described, 1 otherwise.
 *
 * Time is moved with the validator's `now` option (a clock offset), never by waiting.
 */
import { createValidator } from '@tokenguard/core';
import { startDevIssuer } from '@tokenguard/dev-issuer';
import { startApi } from './api.js';
import { DEMO_USAGE, type DemoArgs, DemoUsageError, parseDemoArgs } from './args.js';
import { call } from './call.js';
import { createPrinter, stopWhenStdoutCloses } from './print.js';
import { describeAnswer, showAuth } from './show.js';
import { startOrExit } from './startup.js';

const API = 'https://api.test';
const OPAQUE_API = 'https://opaque.test';
/** Short key set lifetimes so the outage story fits in a few clock jumps. */
const KEY_SET_MAX_AGE_SEC = 60;
const STALE_IF_ERROR_SEC = 60;

let args: DemoArgs;
try {
  args = parseDemoArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof DemoUsageError)) throw error;
  process.stderr.write(`demo: ${error.message}\n${DEMO_USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(DEMO_USAGE);
  process.exit(0);
}
const { framework } = args;

stopWhenStdoutCloses();
const started = Date.now();
const out = createPrinter();
let offsetMs = 0;
const now = (): number => Date.now() + offsetMs;
const advanceTo = (targetMs: number): void => {
  offsetMs = Math.max(offsetMs, targetMs - Date.now());
};

const issuer = await startOrExit('the issuer (oidc-provider)', () => startDevIssuer());
const validator = createValidator({
  issuer: issuer.issuer,
  // JWTs are issued for https://api.test; the dev issuer's opaque tokens are for https://opaque.test.
  audience: [API, OPAQUE_API],
  now,
  keySet: {
    defaultMaxAgeSec: KEY_SET_MAX_AGE_SEC,
    minMaxAgeSec: KEY_SET_MAX_AGE_SEC,
    maxMaxAgeSec: KEY_SET_MAX_AGE_SEC,
    refreshAheadSec: 0,
    staleIfErrorSec: STALE_IF_ERROR_SEC,
  },
  introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
});
const api = await startOrExit(`the ${framework} API`, () => startApi(framework, validator), [
  () => validator.close(),
  () => issuer.close(),
]);
const keySet = () => {
  const state = validator.state().issuers[0]?.keySet;
  if (state === undefined) throw new Error('demo: the validator has no issuer');
  return state;
};

out.line();
out.line(
  `tokenguard demo: a real issuer and an API protected with @tokenguard/${api.framework}, on loopback.`,
);
out.detail('issuer (oidc-provider)', issuer.issuer);
out.detail(
  `API (${api.framework})`,
  `${api.url}  GET /orders needs orders:read, GET /admin needs admin, GET /me any token`,
);
out.detail('API identifiers', `${API} (JWT access tokens), ${OPAQUE_API} (opaque tokens, introspected)`);

try {
  // 1
  out.heading(1, 'A valid token');
  const token = await issuer.getToken({ resource: API, scope: 'read orders:read' });
  out.line(
    `client_credentials at the token endpoint → a JWT (typ at+jwt) for ${API}, scope "read orders:read"`,
  );
  let answer = await call(`${api.url}/orders`, token);
  out.result(answer.status, 200, 'the handler ran');
  showAuth(out, answer);

  // 2
  out.heading(2, 'No token');
  answer = await call(`${api.url}/orders`);
  out.result(answer.status, 401, 'a bare challenge, no error code (RFC 6750 §3.1)');
  describeAnswer(out, answer);

  // 3
  out.heading(3, 'A tampered token');
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.scope = 'read orders:read admin';
  const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
  out.line('the same token with "admin" added to its scope claim, signature unchanged');
  answer = await call(`${api.url}/admin`, tampered);
  out.result(answer.status, 401, 'the signature no longer matches');
  describeAnswer(out, answer);

  // 4
  out.heading(4, 'A token for another audience');
  const other = await issuer.getToken({ resource: 'https://other.test', scope: 'read' });
  out.line('a valid, correctly signed token, but issued for https://other.test');
  answer = await call(`${api.url}/orders`, other);
  out.result(answer.status, 401, 'aud is https://other.test, not this API');
  describeAnswer(out, answer);

  // 5
  out.heading(5, 'A missing scope');
  out.line('the valid token of step 1 (read orders:read) on GET /admin, which requires admin');
  answer = await call(`${api.url}/admin`, token);
  out.result(answer.status, 403, 'insufficient_scope, naming the scope needed');
  describeAnswer(out, answer);

  // 6
  out.heading(6, 'An opaque token, introspected');
  const opaque = await issuer.getToken({ resource: OPAQUE_API, scope: 'read' });
  out.line(
    `an opaque token (${opaque.length} random characters, not a JWT): asked of the issuer's introspection endpoint (RFC 7662)`,
  );
  answer = await call(`${api.url}/me`, opaque);
  out.result(answer.status, 200, '"active": true');
  showAuth(out, answer);
  const revoked = await issuer.getToken({ resource: OPAQUE_API, scope: 'read' });
  await issuer.revoke(revoked);
  out.line('another opaque token, revoked at the issuer (RFC 7009) before use:');
  answer = await call(`${api.url}/me`, revoked);
  out.result(answer.status, 401, '"active": false');
  describeAnswer(out, answer);

  // 7
  out.heading(7, 'A key rotation');
  const oldKid = issuer.currentKid;
  const { kid } = await issuer.rotateKeys();
  const rotated = await issuer.getToken({ resource: API, scope: 'orders:read' });
  const fetchesBefore = keySet().fetchCount;
  out.line(
    `the issuer now signs with kid ${kid.slice(0, 12)}… (was ${oldKid.slice(0, 12)}…); the API is not restarted`,
  );
  answer = await call(`${api.url}/orders`, rotated);
  out.result(answer.status, 200, 'the unknown kid triggered one key set refetch');
  out.detail('key set fetches for this request', String(keySet().fetchCount - fetchesBefore));

  // 8
  out.heading(8, "The issuer's key set goes down");
  issuer.jwks.setDown(true);
  const expiresAt = keySet().expiresAt ?? now();
  out.line(`the JWKS endpoint now answers 503; the cached key set expires after ${KEY_SET_MAX_AGE_SEC} s`);
  advanceTo(expiresAt + 10_000);
  out.note(
    `(the validator's clock moves to 10 s past the key set's expiry; staleIfErrorSec is ${STALE_IF_ERROR_SEC})`,
  );
  answer = await call(`${api.url}/orders`, await issuer.getToken({ resource: API, scope: 'orders:read' }));
  out.result(answer.status, 200, `the last good keys are still served (key set ${keySet().status})`);
  advanceTo(expiresAt + (STALE_IF_ERROR_SEC + 10) * 1000);
  out.note(`(the clock moves past the stale window: ${STALE_IF_ERROR_SEC + 10} s after expiry)`);
  answer = await call(`${api.url}/orders`, await issuer.getToken({ resource: API, scope: 'orders:read' }));
  out.result(answer.status, 503, "fail closed: an outage is not the caller's fault, so not a 401");
  describeAnswer(out, answer);
  issuer.jwks.setDown(false);
  const retryAfterSec = Number(answer.headers.get('retry-after') ?? '1');
  advanceTo(now() + (retryAfterSec + 1) * 1000);
  out.note(`(the JWKS endpoint is back; the clock moves past Retry-After: ${retryAfterSec} s)`);
  answer = await call(`${api.url}/orders`, await issuer.getToken({ resource: API, scope: 'orders:read' }));
  out.result(answer.status, 200, `recovered without a restart (key set ${keySet().status})`);

  // 9
  out.heading(9, 'An expired token');
  const exp = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).exp as number;
  advanceTo((exp + 10) * 1000);
  out.note('(the clock moves to 10 s past the exp of the token of step 1; the clock tolerance is 5 s)');
  answer = await call(`${api.url}/orders`, token);
  out.result(answer.status, 401, 'expired');
  describeAnswer(out, answer);
} finally {
  await api.close();
  await validator.close();
  await issuer.close();
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
out.line();
if (out.failures === 0) {
  out.line(`All 9 steps answered as expected, in ${seconds} s of real time.`);
  out.line('Why is a token of yours rejected? Ask the CLI: see packages/cli/README.md (tokenguard verify)');
} else {
  out.line(`${out.failures} step(s) did NOT answer as expected (${seconds} s).`);
  process.exitCode = 1;
}
