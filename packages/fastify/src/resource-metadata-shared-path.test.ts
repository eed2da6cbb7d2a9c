/**
 * Resources whose metadata URLs share a route path: identifiers differing only in their query
 * (RFC 9728 §3.1 keeps the query after the inserted suffix, and answerProtectedResourceMetadata
 * answers only that query), or two paths Fastify's router cannot hold literally (both get the
 * wildcard route). Express and Hono serve each from its own middleware; Fastify failed ready()
 * with FST_ERR_DUPLICATED_ROUTE on the second registration.
 */
import type { AddressInfo } from 'node:net';
import { createValidator, type Validator } from '@tokenguard/core';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { protectedResourceMetadata } from './resource-metadata.js';

const validators: Validator[] = [];
afterAll(async () => {
  await Promise.all(validators.map((validator) => validator.close()));
});

function validatorFor(resource: string): Validator {
  const validator = createValidator({
    issuer: 'https://id.test',
    audience: resource,
    resourceMetadata: { resource },
  });
  validators.push(validator);
  return validator;
}

/** Registers each resource's metadata on one app on 127.0.0.1 and GETs each target: status and `resource`. */
async function serveAll(
  resources: string[],
  targets: string[],
): Promise<{ status: number; resource?: string }[]> {
  const app = Fastify();
  try {
    for (const resource of resources)
      await app.register(protectedResourceMetadata, { validator: validatorFor(resource) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const answers: { status: number; resource?: string }[] = [];
    for (const target of targets) {
      const response = await fetch(`http://127.0.0.1:${port}${target}`);
      const body = await response.text();
      answers.push(
        response.status === 200
          ? { status: 200, resource: JSON.parse(body).resource }
          : { status: response.status },
      );
    }
    return answers;
  } finally {
    await app.close();
  }
}

describe('protectedResourceMetadata on a shared route path', () => {
  it('serves resources that differ only in their query, each at its own query', async () => {
    const base = '/.well-known/oauth-protected-resource/mcp';
    expect(
      await serveAll(
        ['https://mcp.test/mcp?tenant=a', 'https://mcp.test/mcp?tenant=b'],
        [`${base}?tenant=a`, `${base}?tenant=b`, `${base}?tenant=c`],
      ),
    ).toEqual([
      { status: 200, resource: 'https://mcp.test/mcp?tenant=a' },
      { status: 200, resource: 'https://mcp.test/mcp?tenant=b' },
      { status: 404 },
    ]);
  });

  it('serves two resources that both need the wildcard route', async () => {
    const base = '/.well-known/oauth-protected-resource';
    expect(
      await serveAll(
        ['https://mcp.test/a%2Fb', 'https://mcp.test/x*y'],
        [`${base}/a%2Fb`, `${base}/x*y`, `${base}/other`],
      ),
    ).toEqual([
      { status: 200, resource: 'https://mcp.test/a%2Fb' },
      { status: 200, resource: 'https://mcp.test/x*y' },
      { status: 404 },
    ]);
  });

  it('answers HEAD, OPTIONS and 405 for the second resource on the shared path too', async () => {
    const app = Fastify();
    try {
      await app.register(protectedResourceMetadata, {
        validator: validatorFor('https://mcp.test/mcp?tenant=a'),
      });
      await app.register(protectedResourceMetadata, {
        validator: validatorFor('https://mcp.test/mcp?tenant=b'),
      });
      const url = '/.well-known/oauth-protected-resource/mcp?tenant=b';
      expect((await app.inject({ method: 'HEAD', url })).statusCode).toBe(200);
      expect((await app.inject({ method: 'OPTIONS', url })).statusCode).toBe(204);
      expect((await app.inject({ method: 'POST', url })).statusCode).toBe(405);
    } finally {
      await app.close();
    }
  });
});
