/**
 * README.md "A worker or queue consumer: the validator directly" retries a message on any 5xx and
 * rejects the rest ("400/401/403: the token or its scopes are wrong"). It once retried only on 503, so a
 * 500 (ERR_INTROSPECTION_MISCONFIGURED: the API's own introspection credentials refused, or
 * ERR_INTERNAL), which packages/core/README.md says is "never blamed on the token", dropped a message
 * carrying a good token (review helper-121, session 23).
 *
 * Real parts: oidc-provider (packages/dev-issuer) issuing an opaque token and answering introspection;
 * the README block, taken from the file and stripped of its types with esbuild.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createValidator, isTokenGuardError, type Validator } from '@tokenguard/core';
import { type DevIssuer, startDevIssuer } from '@tokenguard/dev-issuer';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESOURCE = 'https://opaque-orders.test';

/** The README block after the heading, as written (imports dropped, types stripped). */
function readmeWorkerBlock(): string {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const heading = text.indexOf('### A worker or queue consumer: the validator directly');
  const open = text.indexOf('```ts\n', heading) + '```ts\n'.length;
  const code = text.slice(open, text.indexOf('\n```', open));
  return transformSync(code.replace(/^import .*$/gm, ''), { loader: 'ts' }).code;
}

type OnMessage = (message: { token: string; body: unknown }) => Promise<unknown>;

let issuer: DevIssuer;
const validators: Validator[] = [];

beforeAll(async () => {
  issuer = await startDevIssuer({
    resources: { [RESOURCE]: { scope: 'orders:write orders:read', format: 'opaque' } },
  });
});

afterAll(async () => {
  for (const validator of validators) await validator.close();
  await issuer?.close();
});

/** The README's worker, its validator made with `options`; returns onMessage and what it did. */
async function readmeWorker(options: Parameters<typeof createValidator>[0]) {
  const outcome: { saved: unknown[]; retried: unknown[]; rejected: unknown[] } = {
    saved: [],
    retried: [],
    rejected: [],
  };
  const make = () => {
    const validator = createValidator(options);
    validators.push(validator);
    return validator;
  };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<OnMessage>;
  const build = new AsyncFunction(
    'createValidator',
    'isTokenGuardError',
    'saveOrder',
    'retryLater',
    'rejectMessage',
    `${readmeWorkerBlock()}\nreturn onMessage;`,
  );
  const onMessage = await build(
    make,
    isTokenGuardError,
    async (_body: unknown, subject: unknown) => outcome.saved.push(subject),
    (_message: unknown, retryAfterSec: unknown) => outcome.retried.push(retryAfterSec),
    (_message: unknown, code: unknown) => outcome.rejected.push(code),
  );
  return { onMessage, outcome };
}

describe('README.md worker example', () => {
  it('a token without the scope is rejected (the 403 the comment describes)', async () => {
    const { onMessage, outcome } = await readmeWorker({
      issuer: issuer.issuer,
      audience: RESOURCE,
      introspection: { clientId: issuer.introspector.id, clientSecret: issuer.introspector.secret },
    });
    const token = await issuer.getToken({ resource: RESOURCE, scope: 'orders:read' });
    await onMessage({ token, body: {} });
    expect(outcome).toEqual({ saved: [], retried: [], rejected: ['ERR_INSUFFICIENT_SCOPE'] });
  });

  it("a good token is not rejected because the API's own introspection credentials are refused (500)", async () => {
    const { onMessage, outcome } = await readmeWorker({
      issuer: issuer.issuer,
      audience: RESOURCE,
      introspection: { clientId: issuer.introspector.id, clientSecret: 'rotated-and-not-updated' },
    });
    const token = await issuer.getToken({ resource: RESOURCE, scope: 'orders:write' });
    await expect(issuer.introspect(token)).resolves.toMatchObject({ active: true, scope: 'orders:write' });
    await onMessage({ token, body: {} });
    // Fails: rejected ['ERR_INTROSPECTION_MISCONFIGURED'], the message dropped as the sender's fault.
    expect(outcome.rejected).toEqual([]);
  });
});
