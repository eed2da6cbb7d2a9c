/**
 * `dpop.origin` given without a scheme (`'api.example.com'`, the host a user copies from a deployment)
 * or empty (`PUBLIC_ORIGIN=` in a `.env` file) is a `TypeError` naming the option, as every bad option
 * is (packages/core/README.md: "a bad option throws a `TypeError` naming it"), from core and from each
 * adapter. It once threw Node's own `TypeError: Invalid URL` (`ERR_INVALID_URL`), naming nothing: the
 * canonical-form refine of `dpop.origin` called `new URL(value)` unguarded, and zod ran it after the
 * http(s)-URL check had already failed (review helper-123, session 23).
 */
import { createValidator } from '@tokenguard/core';
import * as expressAdapter from '@tokenguard/express';
import fastifyTokenguard from '@tokenguard/fastify';
import * as honoAdapter from '@tokenguard/hono';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

const BASE = { issuer: 'https://auth.example.com', audience: 'https://api.example.com' };
const NAMED = /invalid option "dpop\.origin"/;

describe.each([
  ['a host without a scheme', 'api.example.com'],
  ['an empty value (an empty environment variable)', ''],
])('dpop.origin: %s', (_name, origin) => {
  it('createValidator throws a TypeError naming dpop.origin', () => {
    expect(() => createValidator({ ...BASE, dpop: { origin } })).toThrow(NAMED);
  });

  it('Express tokenguard() throws a TypeError naming dpop.origin', () => {
    expect(() => expressAdapter.tokenguard({ ...BASE, dpop: { origin } })).toThrow(NAMED);
  });

  it('Hono tokenguard() throws a TypeError naming dpop.origin', () => {
    expect(() => honoAdapter.tokenguard({ ...BASE, dpop: { origin } })).toThrow(NAMED);
  });

  it('Fastify register() rejects with a TypeError naming dpop.origin', async () => {
    const app = Fastify();
    try {
      await expect(app.register(fastifyTokenguard, { ...BASE, dpop: { origin } })).rejects.toThrow(NAMED);
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});
