import { isTokenGuardError, type TokenGuardError } from '@tokenguard/core';
import type { NextFunction, Response } from 'express';

/**
 * Answers a tokenguard error per RFC 6750 (status, `WWW-Authenticate`/`Retry-After`, small JSON
 * body), or hands it to the app's error handler when `onError` is `'next'`. Anything else goes to
 * `next` untouched.
 */
export function handleError(
  error: unknown,
  res: Response,
  next: NextFunction,
  onError: 'respond' | 'next',
): void {
  if (onError === 'next' || !isTokenGuardError(error) || res.headersSent) {
    next(error);
    return;
  }
  sendError(res, error);
}

function sendError(res: Response, error: TokenGuardError): void {
  res.status(error.status).set(error.headers).json(error.toJSON());
}
