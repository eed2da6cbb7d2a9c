import { describe, expect, it } from 'vitest';
import { answerProtectedResourceMetadata, protectedResourceMetadata } from './resource-metadata.js';
import { createValidator } from './validator.js';

/**
 * RFC 9728 §3.1: a client builds the metadata URL by inserting the well-known suffix between the
 * host and the path of the identifier it knows, then fetches it (an HTTP client resolves dot
 * segments, RFC 3986 §5.2.4). §3.3: the document's `resource` must be identical to that identifier.
 */
function clientMetadataTarget(resource: string): string {
  const { origin } = new URL(resource);
  const inserted = `${origin}/.well-known/oauth-protected-resource${resource.slice(origin.length)}`;
  const url = new URL(inserted);
  return `${url.pathname}${url.search}`;
}

describe('the resourceMetadata identifier', () => {
  it('is served where a client looks for a canonical identifier with a path', async () => {
    const resource = 'https://mcp.example/v1/mcp';
    const validator = createValidator({
      issuer: 'https://id.example',
      audience: resource,
      secret: 'a-shared-secret-of-at-least-32-bytes!',
      resourceMetadata: { resource },
    });
    try {
      const metadata = protectedResourceMetadata(validator);
      expect(metadata).toBeDefined();
      if (metadata === undefined) return;
      expect(answerProtectedResourceMetadata(metadata, 'GET', clientMetadataTarget(resource))?.status).toBe(
        200,
      );
    } finally {
      await validator.close();
    }
  });

  // An identifier whose path has a dot segment would be served at a URL no §3.1 client asks for: the
  // client's `/.well-known/oauth-protected-resource/../mcp` resolves to `/.well-known/mcp` (404), and
  // the document's `resource` (`https://mcp.example/../mcp`) is not the `https://mcp.example/mcp` the
  // client used. A TypeError at construction, as for a default port or an upper-case host.
  it('refuses an identifier with dot segments, which is served where no client looks', async () => {
    const resource = 'https://mcp.example/../mcp';
    let validator: ReturnType<typeof createValidator> | undefined;
    try {
      validator = createValidator({
        issuer: 'https://id.example',
        audience: resource,
        secret: 'a-shared-secret-of-at-least-32-bytes!',
        resourceMetadata: { resource },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      return;
    }
    try {
      const metadata = protectedResourceMetadata(validator);
      if (metadata === undefined) throw new Error('no metadata');
      // Accepted: then at least a client must find it. It does not (this is what fails today).
      expect(answerProtectedResourceMetadata(metadata, 'GET', clientMetadataTarget(resource))?.status).toBe(
        200,
      );
    } finally {
      await validator.close();
    }
  });

  it('names the reason in the TypeError: dot segments (plain or percent-encoded), whitespace', () => {
    const build = (resource: string) => () =>
      createValidator({
        issuer: 'https://id.example',
        audience: 'https://mcp.example/mcp',
        secret: 'a-shared-secret-of-at-least-32-bytes!',
        resourceMetadata: { resource },
      });
    for (const resource of [
      'https://mcp.example/../mcp',
      'https://mcp.example/a/./mcp',
      'https://mcp.example/a/%2E%2e/mcp',
      'https://mcp.example/mcp/..',
    ]) {
      expect(build(resource)).toThrow(/resourceMetadata\.resource.*'\.' or '\.\.' segment/);
    }
    expect(build('https://mcp.example/a b')).toThrow(/resourceMetadata\.resource.*whitespace/);
    expect(build('https://mcp.example/a\u0001b')).toThrow(/resourceMetadata\.resource.*control characters/);
    // A dot inside a segment, or in the query, is an ordinary character.
    expect(build('https://mcp.example/v1.2/mcp..x?v=../a')).not.toThrow();
  });
});
