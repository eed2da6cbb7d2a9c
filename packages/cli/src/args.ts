import { parseArgs } from 'node:util';
import { UsageError } from './usage.js';

/**
 * What `tokenguard verify` was asked to check.
 *
 * @example
 * ```ts
 * const args = parseCliArgs(['verify', '-', '--issuer', iss, '--audience', aud]) as VerifyArgs;
 * ```
 */
export interface VerifyArgs {
  readonly command: 'verify';
  readonly token: string | undefined;
  readonly json: boolean;
  readonly issuer: string;
  /** `null`: `--no-audience`. */
  readonly audience: readonly string[] | null;
  readonly scopes: readonly string[];
  readonly jwksUri: string | undefined;
  readonly typ: readonly string[] | undefined;
  readonly allowMissingTyp: boolean;
  /** Accept a token bound to a key (`cnf`) without its proof of possession, to look at one. */
  readonly acceptBoundTokens: boolean;
  /**
   * `--client-certificate <file>`: the client certificate (PEM or DER) the token comes with; the
   * validator then checks certificate-bound tokens (`mtls`, RFC 8705).
   */
  readonly clientCertificate: string | undefined;
  readonly scopeClaims: readonly string[] | undefined;
  /** `--client-id` (secret from `TOKENGUARD_CLIENT_SECRET`): introspect opaque tokens (RFC 7662). */
  readonly introspection:
    | {
        readonly clientId: string;
        readonly clientSecret: string | undefined;
        readonly endpoint: string | undefined;
      }
    | undefined;
}

/**
 * What `tokenguard inspect` was asked to decode.
 *
 * @example
 * ```ts
 * const args = parseCliArgs(['inspect', token]) as InspectArgs;
 * ```
 */
export interface InspectArgs {
  readonly command: 'inspect';
  readonly token: string | undefined;
  readonly json: boolean;
}

/**
 * A parsed command line.
 *
 * @example
 * ```ts
 * const args: CliArgs = parseCliArgs(process.argv.slice(2));
 * if (args.command === 'verify') console.log(args.issuer);
 * ```
 */
export type CliArgs = { readonly command: 'help' } | InspectArgs | VerifyArgs;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  issuer: { type: 'string', multiple: true },
  audience: { type: 'string', multiple: true },
  'no-audience': { type: 'boolean' },
  scopes: { type: 'string', multiple: true },
  'jwks-uri': { type: 'string', multiple: true },
  typ: { type: 'string', multiple: true },
  'allow-missing-typ': { type: 'boolean' },
  'accept-bound-tokens': { type: 'boolean' },
  'client-certificate': { type: 'string', multiple: true },
  'scope-claims': { type: 'string', multiple: true },
  'client-id': { type: 'string', multiple: true },
  'introspection-endpoint': { type: 'string', multiple: true },
} as const;

const VERIFY_ONLY = [
  'issuer',
  'audience',
  'no-audience',
  'scopes',
  'jwks-uri',
  'typ',
  'allow-missing-typ',
  'accept-bound-tokens',
  'client-certificate',
  'scope-claims',
  'client-id',
  'introspection-endpoint',
];

const TOKEN_LIKE = /^-[A-Za-z0-9\-._~+/]{15,}=*$/;

/**
 * Tokens are base64url, so one may begin with `-` (about one random opaque token in 32): such an
 * argument is not an option we know and not the value of a preceding option, so it is set aside as a
 * positional before `parseArgs` can mistake it for a cluster of short flags.
 */
function liftDashTokens(argv: readonly string[]): { args: string[]; lifted: Map<string, string> } {
  const lifted = new Map<string, string>();
  const args: string[] = [];
  for (const arg of argv) {
    const previous = args[args.length - 1];
    const previousTakesValue =
      previous?.startsWith('--') &&
      !previous.includes('=') &&
      (OPTIONS as Record<string, { type: string }>)[previous.slice(2)]?.type === 'string';
    const known = arg.startsWith('--') && Object.hasOwn(OPTIONS, arg.slice(2).split('=')[0] as string);
    if (!previousTakesValue && !known && TOKEN_LIKE.test(arg)) {
      const placeholder = `\u0000token${lifted.size}`;
      lifted.set(placeholder, arg);
      args.push(placeholder);
    } else {
      args.push(arg);
    }
  }
  return { args, lifted };
}

/** A mistyped command or a stray word: short, lowercase, no dots. A token never looks like this. */
const WORD_LIKE = /^[a-z][a-z0-9-]{0,14}$/;

/**
 * The command position or a second token holds something unexpected. It is named only when it is
 * word-like (a typo such as "verfy"); anything else may be a token pasted in the wrong place, and a
 * token is never printed, not even in part.
 */
function misplacedArgument(value: string, position: 'command' | 'extra'): UsageError {
  if (WORD_LIKE.test(value)) {
    return new UsageError(
      position === 'command'
        ? `unknown command "${value}" (inspect or verify)`
        : `unexpected argument "${value}"`,
    );
  }
  return new UsageError(
    position === 'command'
      ? `the first argument is not a command (inspect or verify); it is not shown, as it may be a token (${value.length} characters): put the command first, as in "tokenguard verify <token> --issuer ..."`
      : `one token only: a second argument of ${value.length} characters follows it (not shown, as it may be a token)`,
  );
}

/**
 * The value of a flag that takes one value. node:util keeps the last of repeated ones silently, so
 * `--issuer a --issuer b` (as if several issuers were trusted) would check against b alone: refused.
 */
function single(values: readonly string[] | undefined, name: string): string | undefined {
  if (values !== undefined && values.length > 1) {
    throw new UsageError(`--${name} takes one value, given ${values.length} times`);
  }
  return values?.[0];
}

function list(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(/[\s,]+/)).filter((value) => value !== '');
}

/**
 * Parses `tokenguard` arguments (without `node` and the script). Throws a {@link UsageError}
 * that says what is wrong.
 *
 * @example
 * ```ts
 * parseCliArgs(['verify', '-', '--issuer', 'https://id.example', '--audience', 'https://api.example']);
 * ```
 */
export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): CliArgs {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; args: string[] }>
  >;
  const { args, lifted } = liftDashTokens(argv);
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const positionals = parsed.positionals.map((value) => lifted.get(value) ?? value);
  const [command, token, ...extra] = positionals;
  if (values.help === true || command === undefined || command === 'help') return { command: 'help' };
  if (extra[0] !== undefined) throw misplacedArgument(extra[0], 'extra');
  const json = values.json === true;
  if (command === 'inspect') {
    const misplaced = VERIFY_ONLY.find((name) => (values as Record<string, unknown>)[name] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} belongs to "verify", not "inspect"`);
    return { command: 'inspect', token, json };
  }
  if (command !== 'verify') throw misplacedArgument(command, 'command');
  const issuer = single(values.issuer, 'issuer');
  if (issuer === undefined || issuer === '') {
    throw new UsageError('verify needs --issuer <url>: the issuer this API trusts');
  }
  const audiences = list(values.audience);
  const noAudience = values['no-audience'] === true;
  if (noAudience && audiences.length > 0)
    throw new UsageError('--audience and --no-audience exclude each other');
  if (!noAudience && audiences.length === 0) {
    throw new UsageError(
      "verify needs --audience <aud>: this API's identifier (or --no-audience, deliberately)",
    );
  }
  const clientId = single(values['client-id'], 'client-id');
  const introspectionEndpoint = single(values['introspection-endpoint'], 'introspection-endpoint');
  if (clientId === undefined && introspectionEndpoint !== undefined) {
    throw new UsageError('--introspection-endpoint needs --client-id (and TOKENGUARD_CLIENT_SECRET)');
  }
  const clientSecret = env.TOKENGUARD_CLIENT_SECRET || undefined;
  if (clientId !== undefined && clientSecret === undefined) {
    throw new UsageError(
      `--client-id ${clientId} needs the client's secret in the TOKENGUARD_CLIENT_SECRET environment variable (never a flag: flags end up in shell history)`,
    );
  }
  const clientCertificate = single(values['client-certificate'], 'client-certificate');
  if (clientCertificate === '') throw new UsageError('--client-certificate needs a file name');
  const acceptBoundTokens = values['accept-bound-tokens'] === true;
  if (clientCertificate !== undefined && acceptBoundTokens) {
    throw new UsageError(
      "--client-certificate and --accept-bound-tokens exclude each other: --accept-bound-tokens waives the proof of possession that --client-certificate checks (the token's cnf x5t#S256 against the certificate); drop --accept-bound-tokens",
    );
  }
  const typ = list(values.typ);
  const scopeClaims = list(values['scope-claims']);
  return {
    command: 'verify',
    token,
    json,
    issuer,
    audience: noAudience ? null : audiences,
    scopes: list(values.scopes),
    jwksUri: single(values['jwks-uri'], 'jwks-uri'),
    typ: typ.length > 0 ? typ : undefined,
    allowMissingTyp: values['allow-missing-typ'] === true,
    acceptBoundTokens,
    clientCertificate,
    scopeClaims: scopeClaims.length > 0 ? scopeClaims : undefined,
    introspection:
      clientId === undefined
        ? undefined
        : {
            clientId,
            clientSecret,
            endpoint: introspectionEndpoint,
          },
  };
}
