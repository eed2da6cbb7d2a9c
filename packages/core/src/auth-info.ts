/**
 * The claims of a verified access token (RFC 9068 §2.2), plus whatever else the issuer put in.
 *
 * @example
 * ```ts
 * const claims: AccessTokenClaims = auth.claims;
 * const tenant = typeof claims.tid === 'string' ? claims.tid : undefined;
 * ```
 */
export interface AccessTokenClaims {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly client_id?: string;
  readonly scope?: string | readonly string[];
  readonly scp?: string | readonly string[];
  readonly [claim: string]: unknown;
}

/**
 * What a successful validation tells you about the caller. Tokens from JWTs and from
 * introspection have the same shape; `source` says which.
 *
 * The raw `token` is a getter that `JSON.stringify` and `console.log` do not show, so logging
 * an `AuthInfo` never leaks the credential.
 *
 * @example
 * ```ts
 * const auth = await validator.validate(req.headers.authorization);
 * const canWrite = auth.scopes.has('orders:write');
 * console.log(auth.subject, auth.clientId, auth.expiresAt);
 * ```
 */
export interface AuthInfo {
  /** The access token itself (not enumerable, not serialised). */
  readonly token: string;
  readonly claims: AccessTokenClaims;
  readonly subject: string | undefined;
  /** `client_id`, else `azp`, `cid` or `appid` (Auth0, Okta, Entra ID). */
  readonly clientId: string | undefined;
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly scopes: ReadonlySet<string>;
  readonly expiresAt: Date | undefined;
  /** The tenant the token belongs to, when the issuer configuration names one. */
  readonly tenant: string | undefined;
  readonly source: 'jwt' | 'introspection';
}

/** Fields of an {@link AuthInfo} other than the token. */
export type AuthInfoFields = Omit<AuthInfo, 'token'>;

class VerifiedAuthInfo implements AuthInfo {
  /** Replaced only by an equal string ({@link shareTokenString}). */
  #token: string;
  readonly claims: AccessTokenClaims;
  readonly subject: string | undefined;
  readonly clientId: string | undefined;
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly scopes: ReadonlySet<string>;
  readonly expiresAt: Date | undefined;
  readonly tenant: string | undefined;
  readonly source: 'jwt' | 'introspection';

  constructor(token: string, fields: AuthInfoFields) {
    this.#token = token;
    this.claims = fields.claims;
    this.subject = fields.subject;
    this.clientId = fields.clientId;
    this.issuer = fields.issuer;
    this.audience = fields.audience;
    this.scopes = fields.scopes;
    this.expiresAt = fields.expiresAt;
    this.tenant = fields.tenant;
    this.source = fields.source;
  }

  get token(): string {
    return this.#token;
  }

  /** See {@link shareTokenString}. */
  static shareToken(auth: AuthInfo, token: string): void {
    if (#token in auth && auth.#token === token) auth.#token = token;
  }

  toJSON(): Record<string, unknown> {
    return {
      subject: this.subject,
      clientId: this.clientId,
      issuer: this.issuer,
      audience: this.audience,
      scopes: [...this.scopes],
      expiresAt: this.expiresAt?.toISOString(),
      tenant: this.tenant,
      source: this.source,
      claims: this.claims,
    };
  }
}

/**
 * Builds an {@link AuthInfo} whose token is hidden from enumeration and serialisation.
 *
 * @example
 * ```ts
 * const auth = createAuthInfo(token, { claims, subject: claims.sub, issuer, audience: [aud],
 *   scopes: new Set(['a']), expiresAt: undefined, clientId: undefined, tenant: undefined, source: 'introspection' });
 * ```
 */
export function createAuthInfo(token: string, fields: AuthInfoFields): AuthInfo {
  return new VerifiedAuthInfo(token, fields);
}

/**
 * Internal: makes `auth` hold `token`, a string equal to its own token, in place of that one (nothing
 * anyone reads changes): the cache of verified tokens keeps one copy of a token, and the `auth` it
 * stores shares it, so the string the token was first read from (a request's whole header) is not
 * kept alive beside it. Does nothing for another `auth` or a string that differs.
 */
export function shareTokenString(auth: AuthInfo, token: string): void {
  VerifiedAuthInfo.shareToken(auth, token);
}

/** The client identifier claim, across the names issuers use. */
export function readClientId(claims: Readonly<Record<string, unknown>>): string | undefined {
  // Each name read on its own (no list to loop over): the reads stay monomorphic per claim-set shape.
  const { client_id: clientId, azp, cid, appid } = claims;
  if (typeof clientId === 'string') return clientId;
  if (typeof azp === 'string') return azp;
  if (typeof cid === 'string') return cid;
  return typeof appid === 'string' ? appid : undefined;
}
