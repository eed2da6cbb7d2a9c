import { describe, expect, it } from 'vitest';
import { TokenGuardError } from './errors.js';
import {
  answerProtectedResourceMetadata,
  isLoopbackHost,
  metadataAnswerHeaders,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from './resource-metadata.js';
import { authenticateRequest, enforceRequirements } from './transport.js';
import { createValidator, type Validator } from './validator.js';

const SECRET = 's'.repeat(32);

function validatorFor(resourceMetadata: unknown, extra: Record<string, unknown> = {}): Validator {
  return createValidator({
    issuer: 'https://id.example',
    audience: 'https://mcp.example/mcp',
    secret: SECRET,
    resourceMetadata,
    ...extra,
  } as Parameters<typeof createValidator>[0]);
}

async function rejection(promise: Promise<unknown>): Promise<TokenGuardError> {
  const error = await promise.then(
    () => new Error('accepted'),
    (e: unknown) => e,
  );
  if (!(error instanceof TokenGuardError)) throw error;
  return error;
}

describe('protectedResourceMetadataUrl (RFC 9728 §3.1)', () => {
  it('inserts the well-known suffix between the host and the path (the RFC example)', () => {
    expect(protectedResourceMetadataUrl('https://resource.example.com/resource1')).toBe(
      'https://resource.example.com/.well-known/oauth-protected-resource/resource1',
    );
  });

  it('appends the suffix to a bare host, with or without its terminating slash', () => {
    expect(protectedResourceMetadataUrl('https://resource.example.com')).toBe(
      'https://resource.example.com/.well-known/oauth-protected-resource',
    );
    expect(protectedResourceMetadataUrl('https://resource.example.com/')).toBe(
      'https://resource.example.com/.well-known/oauth-protected-resource',
    );
  });

  it('keeps a trailing slash of a longer path, and a deeper path whole', () => {
    expect(protectedResourceMetadataUrl('https://rs.example/mcp/')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource/mcp/',
    );
    expect(protectedResourceMetadataUrl('https://rs.example/a/b/mcp')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource/a/b/mcp',
    );
  });

  it('keeps the query after the inserted suffix, with or without a path', () => {
    expect(protectedResourceMetadataUrl('https://rs.example/api?tenant=a')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource/api?tenant=a',
    );
    expect(protectedResourceMetadataUrl('https://rs.example/?tenant=a')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource?tenant=a',
    );
    expect(protectedResourceMetadataUrl('https://rs.example?tenant=a')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource?tenant=a',
    );
  });

  it('keeps a port; drops a default one as URL parsing does', () => {
    expect(protectedResourceMetadataUrl('https://rs.example:8443/mcp')).toBe(
      'https://rs.example:8443/.well-known/oauth-protected-resource/mcp',
    );
    expect(protectedResourceMetadataUrl('http://127.0.0.1:3000')).toBe(
      'http://127.0.0.1:3000/.well-known/oauth-protected-resource',
    );
    expect(protectedResourceMetadataUrl('https://rs.example:443/mcp')).toBe(
      'https://rs.example/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('refuses what is not an absolute http(s) URL', () => {
    expect(() => protectedResourceMetadataUrl('/mcp')).toThrow(TypeError);
    expect(() => protectedResourceMetadataUrl('urn:example:mcp')).toThrow(TypeError);
  });
});

describe('isLoopbackHost', () => {
  it('knows localhost, 127.0.0.0/8 and ::1, and nothing else', () => {
    for (const host of ['localhost', 'LOCALHOST', 'mcp.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      'example.com',
      'localhost.example.com',
      '128.0.0.1',
      '10.0.0.1',
      '[::2]',
      '127.0.0.1.example',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('protectedResourceMetadata', () => {
  it('is undefined for a validator without the option', () => {
    const validator = createValidator({ issuer: 'https://id.example', audience: 'a', secret: SECRET });
    expect(protectedResourceMetadata(validator)).toBeUndefined();
  });

  it('gives the document with the identifier exactly as configured, and defaults (RFC 9728 §2, §3.3)', () => {
    const metadata = protectedResourceMetadata(validatorFor({ resource: 'https://mcp.example/mcp' }));
    expect(metadata?.url).toBe('https://mcp.example/.well-known/oauth-protected-resource/mcp');
    expect(metadata?.path).toBe('/.well-known/oauth-protected-resource/mcp');
    expect(metadata?.query).toBe('');
    expect(metadata?.document).toEqual({
      resource: 'https://mcp.example/mcp',
      authorization_servers: ['https://id.example'],
      bearer_methods_supported: ['header'],
    });
    expect(JSON.parse(metadata?.json ?? '')).toEqual(metadata?.document);
  });

  it('names every field in snake_case, only those set', () => {
    const metadata = protectedResourceMetadata(
      validatorFor({
        resource: 'https://mcp.example/mcp',
        authorizationServers: ['https://as.example', 'https://as2.example'],
        scopesSupported: ['tools:read', 'tools:call'],
        bearerMethodsSupported: ['header', 'body'],
        resourceName: 'Example MCP',
        resourceDocumentation: 'https://mcp.example/docs',
        resourcePolicyUri: 'https://mcp.example/policy',
        resourceTosUri: 'https://mcp.example/tos',
      }),
    );
    expect(metadata?.document).toEqual({
      resource: 'https://mcp.example/mcp',
      authorization_servers: ['https://as.example', 'https://as2.example'],
      scopes_supported: ['tools:read', 'tools:call'],
      bearer_methods_supported: ['header', 'body'],
      resource_name: 'Example MCP',
      resource_documentation: 'https://mcp.example/docs',
      resource_policy_uri: 'https://mcp.example/policy',
      resource_tos_uri: 'https://mcp.example/tos',
    });
  });

  it('lists by default every exact issuer that is a URL, never a {tenant} template or a bare name', () => {
    const validator = createValidator({
      issuers: [
        { issuer: 'https://a.example', audience: 'x', secret: SECRET },
        { issuer: 'https://login.example/{tenant}/v2.0', audience: 'x', tenants: ['t1'], jwks: { keys: [] } },
        { issuer: 'my-app', audience: 'x', secret: SECRET },
        { issuer: 'http://127.0.0.1:4000', audience: 'x', secret: SECRET },
      ],
      resourceMetadata: { resource: 'https://api.example' },
    });
    expect(protectedResourceMetadata(validator)?.document.authorization_servers).toEqual([
      'https://a.example',
      'http://127.0.0.1:4000',
    ]);
  });

  it('leaves authorization_servers out when only a template is trusted and none are given', () => {
    const validator = createValidator({
      issuer: 'https://login.example/{tenant}/v2.0',
      audience: 'x',
      tenants: ['t1'],
      jwks: { keys: [] },
      resourceMetadata: { resource: 'https://api.example' },
    });
    expect(protectedResourceMetadata(validator)?.document).toEqual({
      resource: 'https://api.example',
      bearer_methods_supported: ['header'],
    });
  });

  it('cannot be changed through what it returns or the caller’s arrays', () => {
    const scopes = ['a'];
    const metadata = protectedResourceMetadata(
      validatorFor({ resource: 'https://api.example', scopesSupported: scopes }),
    );
    scopes.push('b');
    expect(metadata?.document.scopes_supported).toEqual(['a']);
    expect(Object.isFrozen(metadata)).toBe(true);
    expect(Object.isFrozen(metadata?.document)).toBe(true);
    expect(Object.isFrozen(metadata?.document.scopes_supported)).toBe(true);
  });
});

describe('answerProtectedResourceMetadata', () => {
  const metadata = protectedResourceMetadata(validatorFor({ resource: 'https://mcp.example/mcp' }));
  if (metadata === undefined) throw new Error('no metadata');
  const path = '/.well-known/oauth-protected-resource/mcp';

  it('answers GET with the JSON, cacheable and readable cross-origin', () => {
    const answer = answerProtectedResourceMetadata(metadata, 'GET', path);
    expect(answer?.status).toBe(200);
    expect(answer?.headers).toEqual({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(metadata.json)),
      'cache-control': 'public, max-age=3600',
      'access-control-allow-origin': '*',
    });
    expect(answer?.body).toBe(metadata.json);
  });

  it("answers HEAD with GET's headers and no body, and whatever query a request adds", () => {
    const answer = answerProtectedResourceMetadata(metadata, 'HEAD', `${path}?x=1`);
    expect(answer?.status).toBe(200);
    expect(answer?.headers['content-length']).toBe(String(Buffer.byteLength(metadata.json)));
    expect(answer?.body).toBeUndefined();
  });

  it('answers a CORS preflight, and any other method with 405 and allow', () => {
    const preflight = answerProtectedResourceMetadata(metadata, 'OPTIONS', path);
    expect(preflight?.status).toBe(204);
    expect(preflight?.headers['access-control-allow-origin']).toBe('*');
    expect(preflight?.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    const post = answerProtectedResourceMetadata(metadata, 'POST', path);
    expect(post).toEqual({ status: 405, headers: { allow: 'GET, HEAD, OPTIONS' }, body: undefined });
  });

  it('passes on every other path, the bare well-known path and a trailing slash included', () => {
    for (const target of ['/mcp', '/.well-known/oauth-protected-resource', `${path}/`, `${path}x`, '/']) {
      expect(answerProtectedResourceMetadata(metadata, 'GET', target), target).toBeUndefined();
    }
  });

  it('answers an absolute-form target (RFC 9112 §3.2.2) as its path and query, whatever its authority', () => {
    for (const target of [
      `http://127.0.0.1:8080${path}`,
      `https://mcp.example${path}?x=1`,
      `HTTP://a${path}`,
    ]) {
      expect(answerProtectedResourceMetadata(metadata, 'GET', target)?.status, target).toBe(200);
    }
    for (const target of [
      `http://a${path}x`,
      'http://a',
      `http://a/x${path}`,
      `a${path}`,
      '*',
      'mcp.example:443',
    ]) {
      expect(answerProtectedResourceMetadata(metadata, 'GET', target), target).toBeUndefined();
    }
    const root = protectedResourceMetadata(validatorFor({ resource: 'https://rs.example' }));
    if (root === undefined) throw new Error('no metadata');
    expect(
      answerProtectedResourceMetadata(root, 'GET', 'http://rs.example/.well-known/oauth-protected-resource')
        ?.status,
    ).toBe(200);
  });

  it('with a query in the identifier, answers only that query', () => {
    const withQuery = protectedResourceMetadata(
      validatorFor({ resource: 'https://rs.example/api?tenant=a' }),
    );
    if (withQuery === undefined) throw new Error('no metadata');
    const base = '/.well-known/oauth-protected-resource/api';
    expect(answerProtectedResourceMetadata(withQuery, 'GET', `${base}?tenant=a`)?.status).toBe(200);
    expect(answerProtectedResourceMetadata(withQuery, 'GET', `${base}?tenant=b`)).toBeUndefined();
    expect(answerProtectedResourceMetadata(withQuery, 'GET', base)).toBeUndefined();
  });
});

describe('resource_metadata in the challenges (RFC 9728 §5.1)', () => {
  const validator = validatorFor({ resource: 'https://mcp.example/mcp' }, { realm: 'mcp' });
  const url = 'https://mcp.example/.well-known/oauth-protected-resource/mcp';

  it('names the metadata URL in the bare 401 of a request without a token', async () => {
    const error = await rejection(authenticateRequest(validator, { headers: {} }));
    expect(error.status).toBe(401);
    expect(error.wwwAuthenticate).toBe(`Bearer realm="mcp", resource_metadata="${url}"`);
  });

  it('names it in a 401 invalid_token and a 400 invalid_request', async () => {
    const invalid = await rejection(validator.validate('Bearer abc.def.ghi'));
    expect(invalid.status).toBe(401);
    expect(invalid.wwwAuthenticate).toMatch(
      /^Bearer realm="mcp", error="invalid_token", .*resource_metadata="([^"]+)"$/,
    );
    expect(invalid.headers['www-authenticate']).toContain(`resource_metadata="${url}"`);
    const malformed = await rejection(
      authenticateRequest(validator, { headers: { authorization: 'Bearer a b' } }),
    );
    expect(malformed.status).toBe(400);
    expect(malformed.wwwAuthenticate).toContain(`resource_metadata="${url}"`);
  });

  it('names it in a 403 insufficient_scope, after the scope', () => {
    const auth = {
      subject: 's',
      scopes: new Set(['read']),
    } as unknown as Parameters<Validator['check']>[0];
    let error: unknown;
    try {
      enforceRequirements(validator, auth, { scopes: ['write'] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TokenGuardError);
    expect((error as TokenGuardError).status).toBe(403);
    expect((error as TokenGuardError).wwwAuthenticate).toMatch(
      new RegExp(
        `error="insufficient_scope", .*scope="write", resource_metadata="${url.replaceAll('.', '\\.')}"$`,
      ),
    );
  });

  it('names it in the 401 of a route guard on an anonymous request', () => {
    expect(() => enforceRequirements(validator, undefined, { scopes: ['write'] })).toThrow(
      expect.objectContaining({ wwwAuthenticate: `Bearer realm="mcp", resource_metadata="${url}"` }),
    );
  });

  it('is absent without the option', async () => {
    const plain = createValidator({ issuer: 'https://id.example', audience: 'a', secret: SECRET });
    const error = await rejection(authenticateRequest(plain, { headers: {} }));
    expect(error.wwwAuthenticate).toBe('Bearer');
  });
});

describe('metadataAnswerHeaders', () => {
  it("keeps an app's own CORS answer and adds the metadata's other headers", () => {
    const metadata = protectedResourceMetadata(validatorFor({ resource: 'https://api.example' }));
    const answer =
      metadata && answerProtectedResourceMetadata(metadata, 'GET', '/.well-known/oauth-protected-resource');
    if (answer === undefined) throw new Error('no answer');
    expect(metadataAnswerHeaders(answer, () => false)).toBe(answer.headers);
    const set = new Set(['access-control-allow-origin', 'access-control-allow-credentials', 'content-type']);
    const headers = metadataAnswerHeaders(answer, (name) => set.has(name));
    expect(headers['access-control-allow-origin']).toBeUndefined();
    // Only CORS headers give way: the app's content-type does not stop the metadata's.
    expect(headers['content-type']).toBe('application/json');
    expect(headers['cache-control']).toBe(answer.headers['cache-control']);
  });
});
