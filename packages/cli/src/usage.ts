/**
 * Exit codes, for scripts. Documented in the README and in `tokenguard --help`.
 *
 * @example
 * ```ts
 * if ((await runCli(argv, process)) === EXIT.unavailable) scheduleRetry();
 * ```
 */
export const EXIT = {
  /** `verify`: the token is valid. `inspect`: the token was decoded. */
  ok: 0,
  /** `verify`: the token was rejected (400/401/403). `inspect`: the input is not a readable JWT. */
  rejected: 1,
  /**
   * Bad command line: unknown command or flag, missing `--issuer`/`--audience`, no token, a
   * `--client-certificate` that cannot be read or is not one certificate.
   */
  usage: 2,
  /**
   * `verify`: no verdict possible (a 5xx-class failure): the issuer or its key set cannot be reached,
   * or the issuer refused the introspection credentials (`ERR_INTROSPECTION_MISCONFIGURED`).
   */
  unavailable: 3,
} as const;

/**
 * A command-line mistake: printed with the usage text, exit code 2.
 *
 * @example
 * ```ts
 * try { parseCliArgs(['verify']); } catch (error) { if (error instanceof UsageError) console.error(error.message); }
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The help text of `tokenguard`, exit codes included.
 *
 * @example
 * ```ts
 * process.stdout.write(USAGE);
 * ```
 */
export const USAGE = `Usage:
  tokenguard inspect [token|-] [--json]
      Decode a JWT's header and claims WITHOUT verifying anything.

  tokenguard verify [token|-] --issuer <url> --audience <aud> [options]
      Validate a token with @tokenguard/core and explain every check.
      --issuer <url>          the trusted issuer (exactly as in iss); its discovery document gives the JWKS
      --audience <aud>        this API's identifier (repeat for several)
      --no-audience           skip the audience check (only for issuers whose tokens have no aud)
      --scopes <a,b>          scopes the route requires (all of them)
      --jwks-uri <url>        the JWKS URL, instead of discovery
      --typ <t1,t2>           accepted typ header values (default at+jwt; add JWT for Auth0, Entra ID)
      --allow-missing-typ     accept tokens without a typ header (Amazon Cognito)
      --accept-bound-tokens   accept a token bound to a key (cnf: DPoP, mutual TLS) without its proof
      --client-certificate <file>  the client's TLS certificate (PEM or DER) the token comes with: a
                              token bound to a certificate (cnf x5t#S256, RFC 8705) must name this one
      --scope-claims <c1,c2>  claims holding scopes (default scope,scp; add permissions for Auth0)
      --client-id <id>        introspect opaque tokens (RFC 7662) as this client; the secret is read
                              from the TOKENGUARD_CLIENT_SECRET environment variable, never from a flag
      --introspection-endpoint <url>  instead of the discovery document's introspection_endpoint
      --json                  machine-readable output

  The token may be given as an argument, as "-" to read it from stdin, or piped with no argument.
  Prefer stdin (printf '%s' "$TOKEN" | tokenguard verify ...): an argument shows in ps to every user.
  A leading "Bearer " is ignored. The token itself is never printed.

Exit codes:
  0  valid (verify) / decoded (inspect)
  1  rejected (verify: 400/401/403) / not a readable JWT (inspect)
  2  usage error
  3  issuer or key set unreachable: no verdict (verify: 5xx-class)
`;
