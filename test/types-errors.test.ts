/**
 * Type-level checks of tokenguard's errors (packages/core/src/errors.ts; README "Errors"): `ErrorCode`
 * and `OAuthErrorCode` literal unions, `ERROR_CODES` keyed by every code, `isTokenGuardError` narrowing,
 * the fields an error handler reads, and the adapters re-exporting core's very class and guard. Checked
 * by `pnpm typecheck` (`@ts-expect-error` lines must stay errors), and the run-time identity by vitest.
 */

import type { ErrorCode, OAuthErrorCode, TokenGuardError } from '@tokenguard/core';
import * as core from '@tokenguard/core';
import * as express from '@tokenguard/express';
import * as fastify from '@tokenguard/fastify';
import * as hono from '@tokenguard/hono';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('error types', () => {
  it('ERROR_CODES has exactly the ErrorCode keys, each with its status and OAuth error', () => {
    expectTypeOf<keyof typeof core.ERROR_CODES>().toEqualTypeOf<ErrorCode>();
    expectTypeOf(core.ERROR_CODES.ERR_TOKEN_EXPIRED.status).toEqualTypeOf<400 | 401 | 403 | 500 | 503>();
    expectTypeOf(core.ERROR_CODES.ERR_TOKEN_EXPIRED.oauthError).toEqualTypeOf<OAuthErrorCode | undefined>();
    const write = (): void => {
      // @ts-expect-error the table is read-only
      core.ERROR_CODES.ERR_TOKEN_EXPIRED = core.ERROR_CODES.ERR_INTERNAL;
    };
    expect(typeof write).toBe('function');
  });

  it('isTokenGuardError narrows, and a code is one of the literal union', () => {
    const handle = (error: unknown): number | undefined => {
      // @ts-expect-error not narrowed yet
      error.status;
      if (!core.isTokenGuardError(error)) return undefined;
      expectTypeOf(error).toEqualTypeOf<TokenGuardError>();
      expectTypeOf(error.code).toEqualTypeOf<ErrorCode>();
      expectTypeOf(error.oauthError).toEqualTypeOf<OAuthErrorCode | undefined>();
      expectTypeOf(error.status).toEqualTypeOf<400 | 401 | 403 | 500 | 503>();
      expectTypeOf(error.statusCode).toEqualTypeOf<400 | 401 | 403 | 500 | 503>();
      expectTypeOf(error.headers).toEqualTypeOf<Record<string, string>>();
      expectTypeOf(error.wwwAuthenticate).toEqualTypeOf<string | undefined>();
      expectTypeOf(error.retryAfterSec).toEqualTypeOf<number | undefined>();
      expectTypeOf(error.toJSON()).toEqualTypeOf<{ error: string; error_description: string }>();
      // @ts-expect-error a misspelt code has no overlap with the union
      if (error.code === 'ERR_TOKEN_EXPRIED') return 0;
      // @ts-expect-error an unknown code is not constructible
      new core.TokenGuardError('ERR_NOPE');
      // @ts-expect-error the fields an adapter answers with are read-only
      error.status = 200;
      // @ts-expect-error read-only
      error.code = 'ERR_INTERNAL';
      return error.status;
    };
    expect(typeof handle).toBe('function');
  });

  it('every adapter re-exports core’s class and guard, so either recognises the other’s errors', () => {
    expectTypeOf(express.TokenGuardError).toEqualTypeOf(core.TokenGuardError);
    expectTypeOf(fastify.isTokenGuardError).toEqualTypeOf(core.isTokenGuardError);
    for (const adapter of [express, fastify, hono]) {
      expect(adapter.TokenGuardError).toBe(core.TokenGuardError);
      expect(adapter.isTokenGuardError(new core.TokenGuardError('ERR_TOKEN_MISSING'))).toBe(true);
    }
  });
});
