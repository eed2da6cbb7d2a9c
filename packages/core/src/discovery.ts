import { z } from 'zod';
import { outsideRequestContext } from './lib/async-context.js';
import { describeUrl, type HttpClient, HttpFailure } from './lib/http.js';
import { jsonObjectRefusal, parseJsonObject } from './lib/json.js';
import { isLoopbackHost } from './resource-metadata.js';

/**
 * The parts of OpenID Connect / RFC 8414 metadata tokenguard uses.
 *
 * @example
 * ```ts
 * const jwksUri = (metadata: IssuerMetadata) => metadata.jwks_uri;
 * ```
 */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string | undefined;
  introspection_endpoint?: string | undefined;
  introspection_endpoint_auth_methods_supported?: string[] | undefined;
  token_endpoint?: string | undefined;
}

const httpUrl = z
  .string()
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), 'not an http(s) URL');
const metadataSchema = z.looseObject({
  issuer: z.string(),
  jwks_uri: httpUrl.optional(),
  introspection_endpoint: httpUrl.optional(),
  introspection_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  token_endpoint: httpUrl.optional(),
});

/**
 * The metadata URLs to try for an issuer, in order: OpenID Connect Discovery
 * (`{issuer}/.well-known/openid-configuration`), then RFC 8414 (the well-known segment inserted
 * between host and path).
 *
 * @example
 * ```ts
 * discoveryUrls('https://id.example/tenant');
 * // ['https://id.example/tenant/.well-known/openid-configuration',
 * //  'https://id.example/.well-known/oauth-authorization-server/tenant']
 * ```
 */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

/**
 * Fetches the issuer's metadata, trying OIDC then RFC 8414. A document whose `issuer` is not exactly
 * the configured issuer is not used (RFC 8414 §3.3, OIDC Discovery §4.3), nor one of an https issuer
 * that names a plain http `jwks_uri` or `introspection_endpoint` (loopback hosts excepted).
 */
export async function fetchIssuerMetadata(
  issuer: string,
  http: HttpClient,
  limits: { maxResponseBytes: number; maxJsonDepth: number },
): Promise<IssuerMetadata> {
  let lastError: unknown;
  for (const url of discoveryUrls(issuer)) {
    try {
      const response = await http.request(url, {
        headers: { accept: 'application/json' },
        maxBytes: limits.maxResponseBytes,
      });
      if (response.status !== 200)
        throw new HttpFailure('status', `${describeUrl(url)} answered ${response.status}`, response.status);
      const jsonLimits = { maxDepth: limits.maxJsonDepth };
      const document = parseJsonObject(response.text, jsonLimits);
      if (document === undefined) {
        const why = jsonObjectRefusal(response.text, jsonLimits, 'keySet.maxJsonDepth');
        throw new HttpFailure(
          'content_type',
          `${describeUrl(url)} is not issuer metadata: its answer is ${why}`,
        );
      }
      const parsed = metadataSchema.safeParse(document);
      if (!parsed.success)
        throw new HttpFailure('content_type', `${describeUrl(url)} is not valid issuer metadata`);
      if (parsed.data.issuer !== issuer) {
        throw new HttpFailure(
          'content_type',
          `${describeUrl(url)} names issuer ${parsed.data.issuer}, not ${issuer}`,
        );
      }
      assertNoDowngrade(issuer, url, parsed.data);
      return parsed.data;
    } catch (error) {
      lastError = error;
      // Only a missing document moves on to the next well-known location: 404, 410, or the 403 a
      // static host answers for a file it does not have (S3 without list rights). A server error or
      // anything else about the issuer is its answer, and is not asked twice.
      if (!(error instanceof HttpFailure && error.kind === 'status' && isMissingDocument(error.status)))
        break;
    }
  }
  throw lastError;
}

/** Whether a well-known location's status says it has no document: 403 (a static host), 404, 410. */
function isMissingDocument(status: number | undefined): boolean {
  return status === 404 || status === 403 || status === 410;
}

/**
 * An https issuer's document must not send us to plain http for what we fetch or send (its keys, our
 * introspection credentials): anyone on the path could answer there in the issuer's name. Plain http
 * stays allowed for an http issuer (the choice was made in the options) and for loopback hosts.
 */
function assertNoDowngrade(issuer: string, url: string, metadata: IssuerMetadata): void {
  if (new URL(issuer).protocol !== 'https:') return;
  for (const [member, value] of [
    ['jwks_uri', metadata.jwks_uri],
    ['introspection_endpoint', metadata.introspection_endpoint],
  ] as const) {
    if (value === undefined) continue;
    const endpoint = new URL(value);
    if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.hostname)) {
      throw new HttpFailure(
        'content_type',
        `${describeUrl(url)} names a plain http ${member} (${describeUrl(value)}) for an https issuer`,
      );
    }
  }
}

/** The issuer's metadata, loaded once and kept; {@link MetadataLoader.forget} makes the next call load it again. */
export interface MetadataLoader {
  (): Promise<IssuerMetadata>;
  /** Drops the kept document (a key set that cannot be fetched may have moved). */
  forget(): void;
}

/**
 * Memoises discovery: one request in flight; a failure is not cached, so the next need retries.
 *
 * @example
 * ```ts
 * const metadata = createMetadataLoader(() => fetchIssuerMetadata(issuer, http, limits));
 * const { jwks_uri } = await metadata();
 * metadata.forget(); // the next call asks the issuer again
 * ```
 */
export function createMetadataLoader(load: () => Promise<IssuerMetadata>): MetadataLoader {
  let cached: Promise<IssuerMetadata> | undefined;
  const loader = (): Promise<IssuerMetadata> => {
    if (cached !== undefined) return cached;
    // Kept until forgotten: made outside the async context of the request that asked first. A
    // failure is dropped unless forget() already replaced it with a newer load.
    const loading: Promise<IssuerMetadata> = outsideRequestContext(() =>
      load().catch((error: unknown) => {
        if (cached === loading) cached = undefined;
        throw error;
      }),
    );
    cached = loading;
    return loading;
  };
  return Object.assign(loader, {
    forget: (): void => {
      cached = undefined;
    },
  });
}
