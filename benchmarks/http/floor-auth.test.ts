import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withChangedSignature } from '../lib/preflight.js';
import { generateBenchKey, signPool } from '../lib/tokens.js';
import { FRAMEWORKS, type RunningApp, startApp } from './apps.js';
import { type BenchIssuer, startBenchIssuer } from './issuer.js';

const key = generateBenchKey('RS256');

describe.each(FRAMEWORKS)("the profiling tools' floor mode on %s", (framework) => {
  let issuer: BenchIssuer;
  let app: RunningApp;
  let token: string;

  beforeAll(async () => {
    issuer = await startBenchIssuer({ keys: [key.jwk] });
    app = await startApp(framework, 'floor', issuer);
    token = signPool(key, 1, 0, { iss: issuer.issuer, sub: 'floor-caller' })[0] as string;
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  const statusOf = async (authorization?: string) =>
    (await fetch(app.url, { headers: authorization === undefined ? {} : { authorization } })).status;

  it('answers a token its key verifies, with the subject it decoded', async () => {
    const response = await fetch(app.url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, sub: 'floor-caller' });
  });

  it('refuses a changed signature, another scheme and no header', async () => {
    expect(await statusOf(`Bearer ${withChangedSignature(token)}`)).toBe(401);
    expect(await statusOf(`Basic ${token}`)).toBe(401);
    expect(await statusOf()).toBe(401);
  });
});
