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
  /** RFC 9470 §3 `acr_values`: sent space-separated, in this order (empty ones left out). */
  acrValues?: readonly string[] | undefined;
  /** RFC 9470 §3 `max_age`, in seconds: sent only when a non-negative integer. */
  maxAge?: number | undefined;
  /** RFC 9728 protected resource metadata URL. */
  resourceMetadata?: string | undefined;
  /** RFC 9449 §7.1 `algs` of a `DPoP` challenge: the JWS algorithms accepted in proofs, space-separated. */
  algs?: readonly string[] | undefined;
}

/**
 * Formats a `WWW-Authenticate` value per RFC 6750 §3: each parameter once, values as quoted strings.
 * `error`, `error_description`, `scope` and `acr_values` hold only %x20-21 / %x23-5B / %x5D-7E (see
 * {@link challengeText}), `error_uri` only %x21 / %x23-5B / %x5D-7E (anything else percent-encoded);
 * `realm` and `resource_metadata` have `"` and `\` escaped and characters outside printable ASCII
 * replaced, so the header stays valid.
 *
 * @example
 * ```ts
 * formatChallenge({ realm: 'api', error: 'insufficient_scope', scope: 'orders:read' });
 * // 'Bearer realm="api", error="insufficient_scope", scope="orders:read"'
 * formatChallenge({ error: 'insufficient_user_authentication', acrValues: ['urn:example:mfa'], maxAge: 300 });
 * // 'Bearer error="insufficient_user_authentication", acr_values="urn:example:mfa", max_age="300"'
 * ```
 */
export function formatChallenge(params: ChallengeParams): string {
  const parts: string[] = [];
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') parts.push(`${name}="${quote(value)}"`);
  };
  add('realm', params.realm);
  add('error', params.error === undefined ? undefined : challengeText(params.error));
  add(
    'error_description',
    params.errorDescription === undefined ? undefined : challengeText(params.errorDescription),
  );
  add('error_uri', params.errorUri?.replace(OUTSIDE_URI_TEXT, percentEncode));
  add('scope', params.scope === undefined ? undefined : challengeText(params.scope));
  add('acr_values', params.acrValues === undefined ? undefined : acrValuesText(params.acrValues));
  add('max_age', maxAgeText(params.maxAge));
  add('resource_metadata', params.resourceMetadata);
  add('algs', params.algs === undefined ? undefined : challengeText(params.algs.join(' ')));
  const scheme = params.scheme ?? 'Bearer';
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}

/** RFC 6750 §3: what `error`, `error_description` and `scope` values may hold (no `"`, no `\`). */
const OUTSIDE_TEXT = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
/** RFC 6750 §3: what an `error_uri` value may hold (a URI-reference: no space either). */
const OUTSIDE_URI_TEXT = /[^\x21\x23-\x5b\x5d-\x7e]/gu;

/**
 * Internal: `value` with only the characters RFC 6750 §3 allows in `error`, `error_description` and
 * `scope` (%x20-21 / %x23-5B / %x5D-7E): `"` becomes `'`, anything else outside the set `?`. The
 * description of a {@link TokenGuardError} goes through it, so the challenge and the JSON body agree.
 */
export function challengeText(value: string): string {
  return value.replaceAll('"', "'").replace(OUTSIDE_TEXT, '?');
}

/**
 * RFC 9470 §3 `acr_values`: the values space-separated, so a space inside one becomes `?` (it would
 * split it in two) and an empty one is left out (it would read as nothing, or shift the others).
 */
function acrValuesText(values: readonly string[]): string {
  return values
    .filter((value) => value !== '')
    .map((value) => challengeText(value).replaceAll(' ', '?'))
    .join(' ');
}

/**
 * RFC 9470 §3 `max_age` "has to represent a non-negative integer": anything else (a fraction, a
 * negative, NaN, a number `String()` writes in exponent form) is left out, not sent as a value no
 * client can use.
 */
function maxAgeText(maxAge: number | undefined): string | undefined {
  return Number.isSafeInteger(maxAge) && (maxAge as number) >= 0 ? String(maxAge) : undefined;
}

/** `character` as `%XX` for each byte of its UTF-8 form (a lone surrogate as U+FFFD's). */
function percentEncode(character: string): string {
  return Buffer.from(character, 'utf8').toString('hex').toUpperCase().replace(/../g, '%$&');
}

function quote(value: string): string {
  // A quoted-string (RFC 7230 §3.2.6): anything outside printable ASCII is replaced before
  // escaping, so no control character or non-ASCII byte reaches the header.
  return value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
}
