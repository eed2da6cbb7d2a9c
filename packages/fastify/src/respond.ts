import { isTokenGuardError } from '@tokenguard/core';
import type { FastifyReply } from 'fastify';

/**
 * Answers a tokenguard error per RFC 6750 (status, `WWW-Authenticate`/`Retry-After`, JSON body
 * `{ error, error_description }`) and returns the reply, ending the hook chain. With `onError:
 * 'next'` (or for any other error) it rethrows into Fastify's error handling, whose default handler
 * also reads the error's `status` and `headers`.
 */
export function handleError(error: unknown, reply: FastifyReply, onError: 'respond' | 'next'): FastifyReply {
  if (onError === 'next' || !isTokenGuardError(error)) throw error;
  return reply.code(error.status).headers(error.headers).send(error.toJSON());
}
