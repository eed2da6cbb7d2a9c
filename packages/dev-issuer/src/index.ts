/**
 * `@tokenguard/dev-issuer`: a real OAuth 2.0 authorization server (panva's `oidc-provider`) started
 * in-process on 127.0.0.1, for integration tests, the demo and the benchmarks.
 *
 * Tokens come from the provider's real token endpoint; nothing is mocked. A small front handler sits
 * before the provider to inject faults into the JWKS endpoint and to swap the provider instance when
 * signing keys are rotated (oidc-provider reads `jwks` only at construction).
 *
 * @packageDocumentation
 */
import { createPrivateKey, generateKeyPair, type JsonWebKey, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint } from 'jose';
import type {
  Adapter,
  AdapterFactory,
  AdapterPayload,
  Configuration,
  default as ProviderClass,
  ResourceServer,
} from 'oidc-provider';
import { type DpopClientKey, generateDpopClientKey } from './dpop.js';
import {
  CERTIFICATE_REF_HEADER,
  type CertificateChannel,
  certificatePem,
  createCertificateChannel,
} from './mtls.js';
import { assertDevIssuerOptions, devIssuerOptionError } from './options.js';

/** JWS algorithm used to sign JWT access tokens. */
export type DevIssuerSigningAlg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** One resource server (RFC 8707 resource indicator) known to the dev issuer. */
export interface ResourceConfig {
  /** Space-separated scopes the resource accepts; requested scopes outside this set are dropped. */
  scope: string;
  /** `jwt`: RFC 9068 JWT access tokens (`typ: at+jwt`); `opaque`: random strings, validated by introspection. */
  format: 'jwt' | 'opaque';
  /** Access token lifetime in seconds (positive integer); defaults to 300. */
  ttlSec?: number;
}

/** Options for {@link startDevIssuer}. */
export interface DevIssuerOptions {
  /** Extra resources beyond {@link DEFAULT_RESOURCES} (same key overrides a default). */
  resources?: Record<string, ResourceConfig>;
  /** Claims added to every access token (JWT payload, or the introspection response of opaque tokens), e.g. `{ tid: 'tenant-a' }`. Standard claims are never overwritten. */
  extraClaims?: Record<string, unknown>;
  /** Signing algorithm of JWT access tokens; default `RS256`. */
  signingAlg?: DevIssuerSigningAlg;
  /**
   * Public keys of a second resource-server client, {@link DEV_INTROSPECTOR_JWT_ID}, that authenticates
   * with `private_key_jwt` (RFC 7523) and may introspect any token; asked with
   * `Accept: application/token-introspection+jwt`, it gets signed answers (RFC 9701).
   */
  introspectorJwks?: { keys: Record<string, unknown>[] };
  /**
   * `true`: the provider accepts DPoP proofs (RFC 9449, its `features.dPoP`) and {@link DevIssuer.client}
   * gets a P-256 DPoP key, so `getToken({ ..., dpop: true })` returns sender-constrained tokens
   * (`token_type: DPoP`, `cnf.jkt` = {@link DevIssuer.dpopJkt}). Default `false`: DPoP is off and a
   * `DPoP` header at the token endpoint is ignored.
   */
  dpop?: boolean;
  /**
   * `true`: the provider binds tokens to client certificates (RFC 8705 §3, its `features.mTLS` with
   * `certificateBoundAccessTokens`), so `getToken({ ..., certificate: pem })` returns a token whose
   * `cnf['x5t#S256']` is that certificate's SHA-256 thumbprint, computed by oidc-provider. Such tokens are
   * issued to a second client, {@link DEV_MTLS_CLIENT_ID} (registered with
   * `tls_client_certificate_bound_access_tokens: true`). Default `false`.
   */
  mtls?: boolean;
}

/** Client credentials (client_secret_basic and client_secret_post are both accepted). */
export interface DevIssuerCredentials {
  /** `client_id` */
  id: string;
  /** `client_secret` */
  secret: string;
}

/** Fault control placed in front of the provider's JWKS endpoint. */
export interface DevIssuerJwksControl {
  /** Number of HTTP requests that reached the JWKS endpoint (including failed ones) since start or {@link DevIssuerJwksControl.reset}. */
  readonly fetchCount: number;
  /** `true`: answer 503; `'close-connection'`: destroy the socket without answering; `false`: serve normally. Anything else throws a `TypeError`. */
  setDown(down: boolean | 'close-connection'): void;
  /** Delay every JWKS answer (including 503s) by `ms` milliseconds (0 to 2^31 - 1; else a `TypeError`); 0 disables. */
  setLatencyMs(ms: number): void;
  /** Back to normal: up, no latency, `fetchCount` 0. */
  reset(): void;
}

/** Active introspection response (RFC 7662) as returned by the provider. */
export interface IntrospectionResponse {
  active: boolean;
  [claim: string]: unknown;
}

/** A running dev issuer. */
export interface DevIssuer {
  /** Issuer identifier, e.g. `http://127.0.0.1:40123`, exactly as in `iss` and in the discovery document. */
  issuer: string;
  /** `${issuer}/.well-known/openid-configuration` */
  discoveryUrl: string;
  /** JWKS endpoint (goes through the {@link DevIssuer.jwks} fault control). */
  jwksUri: string;
  /** Token endpoint. */
  tokenEndpoint: string;
  /** RFC 7662 introspection endpoint. */
  introspectionEndpoint: string;
  /** RFC 7009 revocation endpoint. */
  revocationEndpoint: string;
  /** client_credentials client allowed to request every resource and scope. */
  client: DevIssuerCredentials;
  /** The resource server's own credentials; may introspect tokens issued to any client. */
  introspector: DevIssuerCredentials;
  /** The effective resources (defaults merged with `options.resources`). */
  resources: Readonly<Record<string, ResourceConfig>>;
  /** `kid` of the key currently used to sign JWT access tokens. */
  readonly currentKid: string;
  /**
   * With {@link DevIssuerOptions.dpop}: the RFC 7638 thumbprint of the client's DPoP key, i.e. the
   * `cnf.jkt` of every token from `getToken({ ..., dpop: true })`. Otherwise `undefined`.
   */
  dpopJkt: string | undefined;
  /**
   * Runs the client_credentials grant at the token endpoint and returns the `access_token`.
   * When `scope` is omitted, all scopes of a known resource are requested; pass `''` to request none.
   * `dpop: true` (needs {@link DevIssuerOptions.dpop}) sends a DPoP proof of the client's key, so the
   * token is bound to it (`cnf.jkt`); the answer must then say `token_type: DPoP`.
   * `certificate` (a PEM certificate; needs {@link DevIssuerOptions.mtls}) asks for a token bound to that
   * client certificate: the provider puts its thumbprint in `cnf['x5t#S256']` (the token's `client_id` is
   * then {@link DEV_MTLS_CLIENT_ID}). Not together with `dpop: true`: oidc-provider binds a token one way.
   * Throws an `Error` whose message contains the provider's status and error body on failure.
   *
   * @example
   * ```ts
   * const issuer = await startDevIssuer({ dpop: true });
   * const bound = await issuer.getToken({ resource: 'https://api.test', dpop: true }); // cnf.jkt = issuer.dpopJkt
   * const mtlsIssuer = await startDevIssuer({ mtls: true });
   * const certBound = await mtlsIssuer.getToken({ resource: 'https://api.test', certificate: cert.pem });
   * // cnf: { 'x5t#S256': base64url SHA-256 of the certificate's DER }
   * ```
   */
  getToken(opts: { resource: string; scope?: string; dpop?: boolean; certificate?: string }): Promise<string>;
  /**
   * A DPoP proof (RFC 9449) signed with the client's DPoP key (the one {@link DevIssuer.dpopJkt} names),
   * for a request a test makes itself: `htm` is the method, `htu` the URL, a fresh `jti`, `iat` now. With
   * `accessToken` it carries `ath` (base64url SHA-256 of the token), as a resource request's proof must.
   * Each call gives a new proof. Throws a `TypeError` (code `ERR_DEV_ISSUER_OPTION`) when the issuer was
   * started without {@link DevIssuerOptions.dpop}.
   *
   * @example
   * ```ts
   * const issuer = await startDevIssuer({ dpop: true });
   * const token = await issuer.getToken({ resource: 'https://api.test', dpop: true });
   * await fetch(`${api}/me`, {
   *   headers: { authorization: `DPoP ${token}`, dpop: await issuer.dpopProof('GET', `${api}/me`, token) },
   * });
   * ```
   */
  dpopProof(htm: string, htu: string, accessToken?: string): Promise<string>;
  /** Revokes a token at the revocation endpoint (RFC 7009) with the {@link DevIssuer.client} credentials. */
  revoke(token: string): Promise<void>;
  /** Introspects a token at the introspection endpoint with the {@link DevIssuer.introspector} credentials. */
  introspect(token: string): Promise<IntrospectionResponse>;
  /**
   * Adds a new signing key (same algorithm) that signs every token from now on. Old keys stay published,
   * the HTTP server and port are kept and issued opaque tokens stay valid.
   */
  rotateKeys(): Promise<{ kid: string }>;
  /** Publishes only the current signing key (tokens signed with older keys no longer verify). */
  removeOldKeys(): Promise<void>;
  /** Fault control for the JWKS endpoint. */
  jwks: DevIssuerJwksControl;
  /** Closes the server and every socket (including keep-alive ones). Idempotent. */
  close(): Promise<void>;
}

/** Resources every dev issuer knows (merged with {@link DevIssuerOptions.resources}). */
export const DEFAULT_RESOURCES: Readonly<Record<string, ResourceConfig>> = Object.freeze({
  'https://api.test': { scope: 'read write admin orders:read orders:write', format: 'jwt', ttlSec: 300 },
  'https://other.test': { scope: 'read', format: 'jwt', ttlSec: 300 },
  'https://short.test': { scope: 'read', format: 'jwt', ttlSec: 1 },
  'https://opaque.test': { scope: 'read write', format: 'opaque', ttlSec: 300 },
});

/** `client_id` of {@link DevIssuer.client}. */
export const DEV_CLIENT_ID = 'tokenguard-dev-client';
/** `client_id` of {@link DevIssuer.introspector}. */
export const DEV_INTROSPECTOR_ID = 'tokenguard-resource-server';
/**
 * `client_id` of the client that {@link DevIssuerOptions.mtls} registers with
 * `tls_client_certificate_bound_access_tokens: true`: `getToken({ ..., certificate })` uses it (with
 * {@link DevIssuer.client}'s secret), so its tokens are bound to the certificate.
 */
export const DEV_MTLS_CLIENT_ID = 'tokenguard-dev-mtls-client';
/** `client_id` of the `private_key_jwt` resource server registered by {@link DevIssuerOptions.introspectorJwks}. */
export const DEV_INTROSPECTOR_JWT_ID = 'tokenguard-resource-server-jwt';

/** Longest JWKS latency {@link DevIssuerJwksControl.setLatencyMs} takes (Node timers stop at 2^31 - 1 ms). */
const MAX_LATENCY_MS = 2 ** 31 - 1;

const ROUTES = {
  jwks: '/jwks',
  token: '/token',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
} as const;

type ProviderModule = typeof import('oidc-provider');
type ProviderCtor = typeof ProviderClass;
type ProviderInstance = InstanceType<ProviderCtor>;
type SigningJwk = JsonWebKey & { kid: string; alg: DevIssuerSigningAlg; use: 'sig' };
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let providerModule: Promise<ProviderModule> | undefined;

/**
 * Imports oidc-provider once. Its entry point warns about "Unsupported runtime" on Node 20 at import time;
 * that one line is filtered out while the module loads.
 */
function loadProvider(): Promise<ProviderModule> {
  providerModule ??= (async () => {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime'))
        return;
      original.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
    }
  })();
  return providerModule;
}

/** Generates a key pair (asynchronously: RSA generation would otherwise block the event loop) as PKCS#8 PEM. */
function generatePrivatePem(alg: DevIssuerSigningAlg): Promise<string> {
  const encoding = {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: string, privateKey: string) =>
      err ? reject(err) : resolve(privateKey);
    switch (alg) {
      case 'RS256':
      case 'PS256':
        generateKeyPair('rsa', { modulusLength: 2048, ...encoding }, done);
        break;
      case 'ES256':
        generateKeyPair('ec', { namedCurve: 'P-256', ...encoding }, done);
        break;
      case 'EdDSA':
        generateKeyPair('ed25519', encoding, done);
        break;
      default:
        reject(new TypeError(`unsupported signingAlg: ${String(alg)}`));
    }
  });
}

/**
 * Generates a private signing JWK. Keys are exported through PEM: exporting a freshly generated RSA
 * KeyObject straight to JWK was seen to hang on Node 20.
 */
async function generateSigningJwk(alg: DevIssuerSigningAlg): Promise<SigningJwk> {
  const jwk = createPrivateKey(await generatePrivatePem(alg)).export({ format: 'jwk' });
  const kid = await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

interface StoredEntry {
  payload: AdapterPayload;
  expiresAt: number;
}

/**
 * Minimal Map-based oidc-provider adapter. One store is shared by every Provider instance of a dev issuer,
 * so opaque tokens survive key rotation (which replaces the Provider instance).
 */
class SharedMemoryStore {
  readonly #entries = new Map<string, StoredEntry>();
  readonly #grants = new Map<string, Set<string>>();
  #writes = 0;

  factory(): AdapterFactory {
    return (model: string) => this.#adapter(model);
  }

  #get(key: string): StoredEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #adapter(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        // Keep the payload a little longer than the token: the provider checks `exp` itself
        // (with its clock tolerance) and answers `active: false` for expired tokens.
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + (expiresIn + 60) * 1000 : Infinity;
        this.#entries.set(key(id), { payload, expiresAt });
        if (payload.grantId) {
          const members = this.#grants.get(payload.grantId) ?? new Set<string>();
          members.add(key(id));
          this.#grants.set(payload.grantId, members);
        }
        if (model === 'Session' && payload.uid) {
          this.#entries.set(`sessionUid:${payload.uid}`, { payload: { jti: id }, expiresAt });
        }
        if (payload.userCode) {
          this.#entries.set(`userCode:${payload.userCode}`, { payload: { jti: id }, expiresAt });
        }
        if (++this.#writes % 1000 === 0) this.#sweep();
      },
      find: async (id) => this.#get(key(id))?.payload,
      findByUid: async (uid) => {
        const id = this.#get(`sessionUid:${uid}`)?.payload.jti;
        return id ? this.#get(key(id))?.payload : undefined;
      },
      findByUserCode: async (userCode) => {
        const id = this.#get(`userCode:${userCode}`)?.payload.jti;
        return id ? this.#get(key(id))?.payload : undefined;
      },
      consume: async (id) => {
        const entry = this.#get(key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const member of this.#grants.get(grantId) ?? []) this.#entries.delete(member);
        this.#grants.delete(grantId);
      },
    };
  }
}

function basicAuth({ id, secret }: DevIssuerCredentials): string {
  // RFC 6749 section 2.3.1: form-encode id and secret before base64.
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function postForm(
  url: string,
  creds: DevIssuerCredentials,
  form: Record<string, string>,
  extraHeaders: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      ...extraHeaders,
      authorization: basicAuth(creds),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/**
 * Starts a dev issuer on `127.0.0.1` with an ephemeral port.
 *
 * @example
 * ```ts
 * const issuer = await startDevIssuer({ extraClaims: { tid: 'tenant-a' } });
 * const token = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });
 * await issuer.close();
 * ```
 */
export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  assertDevIssuerOptions(options);
  const signingAlg: DevIssuerSigningAlg = options.signingAlg ?? 'RS256';
  const resources: Record<string, ResourceConfig> = { ...DEFAULT_RESOURCES, ...options.resources };
  const extraClaims = options.extraClaims ? { ...options.extraClaims } : undefined;

  const [{ Provider, errors }, firstKey, dpopKey] = await Promise.all([
    loadProvider(),
    generateSigningJwk(signingAlg),
    options.dpop === true ? generateDpopClientKey() : Promise.resolve<DpopClientKey | undefined>(undefined),
  ]);
  const certificates: CertificateChannel | undefined =
    options.mtls === true ? createCertificateChannel() : undefined;
  let keys: SigningJwk[] = [firstKey];

  const client: DevIssuerCredentials = { id: DEV_CLIENT_ID, secret: randomBytes(24).toString('base64url') };
  const mtlsClient: DevIssuerCredentials = { id: DEV_MTLS_CLIENT_ID, secret: client.secret };
  const introspector: DevIssuerCredentials = {
    id: DEV_INTROSPECTOR_ID,
    secret: randomBytes(24).toString('base64url'),
  };
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const store = new SharedMemoryStore();

  // Front handler state.
  let handler: Handler | undefined;
  let jwksDown: boolean | 'close-connection' = false;
  let jwksLatencyMs = 0;
  let jwksFetchCount = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    certificates?.claim(req);
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname !== ROUTES.jwks) {
      dispatch(req, res);
      return;
    }
    jwksFetchCount++;
    const answer = () => {
      if (jwksDown === 'close-connection') {
        req.socket.destroy();
      } else if (jwksDown) {
        res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(
          JSON.stringify({
            error: 'temporarily_unavailable',
            error_description: 'jwks is down (dev-issuer)',
          }),
        );
      } else {
        dispatch(req, res);
      }
    };
    if (jwksLatencyMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, jwksLatencyMs);
      timers.add(timer);
    } else {
      answer();
    }
  });

  function dispatch(req: IncomingMessage, res: ServerResponse): void {
    if (handler) {
      handler(req, res);
    } else {
      res.writeHead(503).end();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const clientIsIntrospector = (clientId: string) =>
    clientId === introspector.id ||
    (options.introspectorJwks !== undefined && clientId === DEV_INTROSPECTOR_JWT_ID);
  // The token client and its mTLS twin are one party: each may introspect and revoke the other's tokens.
  const sameParty = (a: string, b: string) =>
    a === b || ((a === client.id || a === mtlsClient.id) && (b === client.id || b === mtlsClient.id));
  const mayInspect = async (_ctx: unknown, caller: { clientId: string }, token: { clientId?: string }) =>
    clientIsIntrospector(caller.clientId) ||
    (token.clientId !== undefined && sameParty(caller.clientId, token.clientId));

  function buildProvider(providerKeys: SigningJwk[]): ProviderInstance {
    // Captured per instance so that an in-flight request on a replaced instance still signs with a key it has.
    const signKid = providerKeys[0]!.kid;
    const configuration: Configuration = {
      adapter: store.factory(),
      jwks: { keys: providerKeys.map((k) => ({ ...k })) as NonNullable<Configuration['jwks']>['keys'] },
      clients: [
        {
          client_id: client.id,
          client_secret: client.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        ...(certificates === undefined
          ? []
          : [
              {
                client_id: mtlsClient.id,
                client_secret: mtlsClient.secret,
                grant_types: ['client_credentials'],
                response_types: [],
                redirect_uris: [],
                token_endpoint_auth_method: 'client_secret_basic' as const,
                tls_client_certificate_bound_access_tokens: true,
              },
            ]),
        {
          client_id: introspector.id,
          client_secret: introspector.secret,
          grant_types: [],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        ...(options.introspectorJwks === undefined
          ? []
          : [
              {
                client_id: DEV_INTROSPECTOR_JWT_ID,
                grant_types: [],
                response_types: [],
                redirect_uris: [],
                token_endpoint_auth_method: 'private_key_jwt' as const,
                jwks: options.introspectorJwks as NonNullable<Configuration['jwks']>,
                introspection_signed_response_alg: signingAlg,
              },
            ]),
      ],
      clientDefaults: {
        grant_types: ['client_credentials'],
        response_types: [],
        id_token_signed_response_alg: signingAlg,
        token_endpoint_auth_method: 'client_secret_basic',
        // With JWT introspection on, every client gets a signed-introspection alg, RS256 unless set: with
        // another signingAlg no RS256 key exists, and each client (the token client too) fails validation.
        ...(options.introspectorJwks === undefined ? {} : { introspection_signed_response_alg: signingAlg }),
      },
      cookies: { keys: cookieKeys },
      routes: { ...ROUTES },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // oidc-provider 9 turns DPoP on by default: set here so that it follows the option.
        dPoP: { enabled: dpopKey !== undefined },
        // Certificate-bound tokens: the certificate of a token request is the one getToken offered.
        mTLS:
          certificates === undefined
            ? { enabled: false }
            : {
                enabled: true,
                certificateBoundAccessTokens: true,
                getCertificate: (ctx) => certificates.certificateOf(ctx.req),
              },
        jwtIntrospection: { enabled: options.introspectorJwks !== undefined },
        introspection: {
          enabled: true,
          // The resource server may introspect any token; a client only its own tokens.
          allowedPolicy: mayInspect,
        },
        revocation: {
          enabled: true,
          allowedPolicy: mayInspect,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx, _client, oneOf) => (oneOf ? [...oneOf] : undefined),
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resourceIndicator): Promise<ResourceServer> => {
            const rs = Object.hasOwn(resources, resourceIndicator) ? resources[resourceIndicator] : undefined;
            if (!rs) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
            return {
              scope: rs.scope,
              audience: resourceIndicator,
              accessTokenTTL: rs.ttlSec ?? 300,
              accessTokenFormat: rs.format,
              ...(rs.format === 'jwt' ? { jwt: { sign: { alg: signingAlg, kid: signKid } } } : {}),
            };
          },
        },
      },
      extraTokenClaims: async () => (extraClaims ? { ...extraClaims } : undefined),
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      },
      clientBasedCORS: () => true,
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    };
    return new Provider(issuer, configuration);
  }

  function install(providerKeys: SigningJwk[]): void {
    const provider = buildProvider(providerKeys);
    // oidc-provider answers unexpected errors with a bare 500 and only emits this event: make bugs visible.
    provider.on('server_error', (_ctx: unknown, err: unknown) => {
      console.error('dev-issuer: oidc-provider server_error', err);
    });
    handler = provider.callback() as Handler;
  }

  try {
    install(keys);
  } catch (err) {
    server.closeAllConnections();
    server.close();
    throw err;
  }

  let closed: Promise<void> | undefined;

  const devIssuer: DevIssuer = {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    tokenEndpoint: `${issuer}${ROUTES.token}`,
    introspectionEndpoint: `${issuer}${ROUTES.introspection}`,
    revocationEndpoint: `${issuer}${ROUTES.revocation}`,
    client: { ...client },
    introspector: { ...introspector },
    resources: Object.freeze({ ...resources }),
    get currentKid() {
      return keys[0]!.kid;
    },
    dpopJkt: dpopKey?.jkt,

    async getToken({ resource, scope, dpop, certificate }) {
      if (dpop !== undefined && typeof dpop !== 'boolean') {
        throw devIssuerOptionError('getToken.dpop', `must be a boolean, not ${typeof dpop}`);
      }
      if (dpop && dpopKey === undefined) {
        throw devIssuerOptionError('getToken.dpop', 'needs an issuer started with { dpop: true }');
      }
      if (certificate !== undefined && certificates === undefined) {
        throw devIssuerOptionError('getToken.certificate', 'needs an issuer started with { mtls: true }');
      }
      if (certificate !== undefined && dpop) {
        // oidc-provider answers 400 "multiple proof-of-possession mechanisms are not allowed".
        throw devIssuerOptionError(
          'getToken.certificate',
          'cannot be combined with dpop: true (one binding per token)',
        );
      }
      const pem = certificate === undefined ? undefined : certificatePem(certificate, 'getToken.certificate');
      const form: Record<string, string> = { grant_type: 'client_credentials', resource };
      const effectiveScope = scope ?? (Object.hasOwn(resources, resource) ? resources[resource]!.scope : '');
      if (effectiveScope) form.scope = effectiveScope;
      const headers: Record<string, string> =
        dpop && dpopKey ? { dpop: await dpopKey.proof('POST', devIssuer.tokenEndpoint) } : {};
      const ref = pem === undefined ? undefined : certificates?.offer(pem);
      if (ref !== undefined) headers[CERTIFICATE_REF_HEADER] = ref;
      let answer: { status: number; text: string };
      try {
        answer = await postForm(
          devIssuer.tokenEndpoint,
          ref === undefined ? client : mtlsClient,
          form,
          headers,
        );
      } finally {
        if (ref !== undefined) certificates?.withdraw(ref);
      }
      const { status, text } = answer;
      if (status !== 200) throw new Error(`dev-issuer token endpoint answered ${status}: ${text}`);
      const body = JSON.parse(text) as { access_token?: unknown; token_type?: unknown };
      if (typeof body.access_token !== 'string') throw new Error(`dev-issuer: no access_token in ${text}`);
      // A proof the provider ignored would give a plain bearer token: never hand that out as a bound one.
      if (dpop && body.token_type !== 'DPoP') {
        throw new Error(
          `dev-issuer: asked for a DPoP-bound token, got token_type ${String(body.token_type)}`,
        );
      }
      return body.access_token;
    },

    async dpopProof(htm, htu, accessToken) {
      if (dpopKey === undefined) {
        throw devIssuerOptionError('dpopProof', 'needs an issuer started with { dpop: true }');
      }
      return dpopKey.proof(htm, htu, accessToken);
    },

    async revoke(token) {
      const { status, text } = await postForm(devIssuer.revocationEndpoint, client, { token });
      if (status !== 200) throw new Error(`dev-issuer revocation endpoint answered ${status}: ${text}`);
    },

    async introspect(token) {
      const { status, text } = await postForm(devIssuer.introspectionEndpoint, introspector, { token });
      if (status !== 200) throw new Error(`dev-issuer introspection endpoint answered ${status}: ${text}`);
      return JSON.parse(text) as IntrospectionResponse;
    },

    async rotateKeys() {
      const key = await generateSigningJwk(signingAlg);
      const next = [key, ...keys];
      install(next);
      keys = next;
      return { kid: key.kid };
    },

    async removeOldKeys() {
      const next = [keys[0]!];
      install(next);
      keys = next;
    },

    jwks: {
      get fetchCount() {
        return jwksFetchCount;
      },
      setDown(down) {
        if (down !== true && down !== false && down !== 'close-connection') {
          throw devIssuerOptionError(
            'jwks.setDown',
            `takes true, false or 'close-connection', not ${String(down)}`,
          );
        }
        jwksDown = down;
      },
      setLatencyMs(ms) {
        if (!Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS) {
          throw devIssuerOptionError(
            'jwks.setLatencyMs',
            `takes milliseconds from 0 to ${MAX_LATENCY_MS}, not ${ms}`,
          );
        }
        jwksLatencyMs = ms;
      },
      reset() {
        jwksDown = false;
        jwksLatencyMs = 0;
        jwksFetchCount = 0;
      },
    },

    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };

  return devIssuer;
}
