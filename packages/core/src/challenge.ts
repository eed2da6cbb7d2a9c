/**
 * The parameters of an RFC 6750 §3 challenge. Each appears at most once.
 *
 * @example
 * ```ts
 * const params: ChallengeParams = { realm: 'api', error: 'insufficient_scope', scope: 'orders:read' };
 * formatChallenge(params);
 * ```
 */
export interface ChallengeParams {
  /** Defaults to `Bearer`. */
  scheme?: string;
  realm?: string | undefined;
  error?: string | undefined;
  errorDescription?: string | undefined;
  errorUri?: string | undefined;
  scope?: string | undefined;
  /** RFC 9728 protected resource metadata URL. */
  resourceMetadata?: string | undefined;
}

/**
 * Formats a `WWW-Authenticate` value per RFC 6750 §3: each parameter once, values as quoted strings
 * with `"` and `\` escaped, and characters outside the printable ASCII range replaced so the header
 * stays valid.
 *
 * @example
 * ```ts
 * formatChallenge({ realm: 'api', error: 'insufficient_scope', scope: 'orders:read' });
 * // 'Bearer realm="api", error="insufficient_scope", scope="orders:read"'
 * ```
 */
export function formatChallenge(params: ChallengeParams): string {
  const parts: string[] = [];
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') parts.push(`${name}="${quote(value)}"`);
  };
  add('realm', params.realm);
  add('error', params.error);
  add('error_description', params.errorDescription);
  add('error_uri', params.errorUri);
  add('scope', params.scope);
  add('resource_metadata', params.resourceMetadata);
  const scheme = params.scheme ?? 'Bearer';
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}

function quote(value: string): string {
  // RFC 6749 allows %x20-21 / %x23-5B / %x5D-7E inside these values; anything else is replaced
  // before escaping so no control character or non-ASCII byte reaches the header.
  return value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
}
