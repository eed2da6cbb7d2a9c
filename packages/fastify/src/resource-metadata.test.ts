import type { AddressInfo } from 'node:net';
import { createValidator, protectedResourceMetadata as metadataOf } from '@tokenguard/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { protectedResourceMetadata } from './resource-metadata.js';

/** Serves `resource`'s metadata on 127.0.0.1 and GETs `target` (the metadata URL's path and query by default). */
async function served(resource: string, target?: string): Promise<{ status: number; body: string }> {
  const validator = createValidator({
    issuer: 'https://id.test',
    audience: resource,
    resourceMetadata: { resource },
  });
  const metadata = metadataOf(validator);
  if (metadata === undefined) throw new Error('no metadata');
  const app = Fastify();
  try {
    await app.register(protectedResourceMetadata, { validator });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}${target ?? metadata.path + metadata.query}`);
    return { status: response.status, body: await response.text() };
  } finally {
    await app.close();
  }
}

describe('protectedResourceMetadata route path', () => {
  it('serves a resource whose path has an encoded * (%2A), which the router decodes to a wildcard', async () => {
    // register() failed with 'Wildcard must be the last character in the route'.
    for (const resource of [
      'https://mcp.test/a%2Ab',
      'https://mcp.test/a%2ab/c',
      'https://mcp.test/%2A%3A',
    ]) {
      const answer = await served(resource);
      expect(answer.status, resource).toBe(200);
      expect(JSON.parse(answer.body).resource).toBe(resource);
    }
    // Only its own URL: the literal * or another path under the wildcard is not it.
    expect((await served('https://mcp.test/a%2Ab', '/.well-known/oauth-protected-resource/a*b')).status).toBe(
      404,
    );
    expect(
      (await served('https://mcp.test/a%2Ab', '/.well-known/oauth-protected-resource/other')).status,
    ).toBe(404);
  });
});
