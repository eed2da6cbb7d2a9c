import {
  authenticateRequest,
  createValidator,
  isTokenGuardError,
  TokenGuardError,
  type Validator,
  type ValidatorOptions,
} from '@tokenguard/core';
import type { VerifyArgs } from './args.js';
import { type Check, explainChecks, explainIntrospected } from './checks.js';
import { type ClientCertificate, readClientCertificate } from './client-certificate.js';
import { decodeToken } from './decode.js';
import { UsageError } from './usage.js';
import { exitCodeOf, reconcile, signatureVerifiedBefore, type Verdict } from './verdict.js';
import { explainWhitespace } from './whitespace.js';

/**
 * What `tokenguard verify` found: the real validator's verdict and every check explained.
 *
 * @example
 * ```ts
 * const report: VerifyReport = await verifyToken(token, args);
 * process.exitCode = report.exitCode;
 * ```
 */
export interface VerifyReport {
  readonly verdict: Verdict;
  readonly checks: readonly Check[];
  readonly exitCode: number;
  readonly issuer: string;
  readonly audience: readonly string[] | null;
  readonly jwksUri: string | undefined;
  /** `--client-certificate`: the file and its `x5t#S256`, which bound tokens were checked against. */
  readonly clientCertificate: { readonly file: string; readonly thumbprint: string } | undefined;
}

/**
 * Extra settings for tests and embedding: the clock, and the validator options the flags do not cover.
 *
 * @example
 * ```ts
 * await verifyToken(token, args, { now: () => Date.parse('2030-01-01T00:00:00Z') });
 * ```
 */
export interface VerifyEnvironment {
  readonly now?: () => number;
  readonly validatorOptions?: Partial<ValidatorOptions>;
}

function optionsFrom(
  args: VerifyArgs,
  environment: VerifyEnvironment,
  client: ClientCertificate | undefined,
): ValidatorOptions {
  return {
    ...environment.validatorOptions,
    issuer: args.issuer,
    audience: args.audience,
    ...(args.jwksUri === undefined ? {} : { jwksUri: args.jwksUri }),
    ...(args.typ === undefined ? {} : { typ: args.typ }),
    ...(args.allowMissingTyp ? { allowMissingTyp: true } : {}),
    ...(args.acceptBoundTokens ? { acceptBoundTokens: true } : {}),
    ...(client === undefined ? {} : { mtls: true }),
    ...(args.scopeClaims === undefined ? {} : { scopeClaims: args.scopeClaims }),
    ...(args.introspection === undefined
      ? {}
      : {
          introspection: {
            clientId: args.introspection.clientId,
            ...(args.introspection.clientSecret === undefined
              ? {}
              : { clientSecret: args.introspection.clientSecret }),
            ...(args.introspection.endpoint === undefined ? {} : { endpoint: args.introspection.endpoint }),
          },
        }),
    ...(environment.now === undefined ? {} : { now: environment.now }),
    tokenCache: false,
  };
}

function create(options: ValidatorOptions): Validator {
  try {
    return createValidator(options);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message.replace(/^tokenguard: /, ''));
    throw error;
  }
}

/**
 * The validator's answer to `token`. With a client certificate, the token is validated as a request
 * that came with it (RFC 8705), through `authenticateRequest` as an adapter does it.
 */
async function run(
  validator: Validator,
  token: string,
  scopes: readonly string[],
  client?: ClientCertificate,
): Promise<Verdict> {
  const requirements = scopes.length > 0 ? { scopes } : undefined;
  try {
    if (client === undefined) return { valid: true, auth: await validator.validate(token, requirements) };
    const { auth } = await authenticateRequest(
      validator,
      { headers: { authorization: `Bearer ${token}` }, clientCertificate: client.certificate },
      requirements === undefined ? {} : { requirements },
    );
    if (auth === undefined) return { valid: false, error: new TokenGuardError('ERR_TOKEN_MISSING') };
    return { valid: true, auth };
  } catch (error) {
    if (isTokenGuardError(error)) return { valid: false, error };
    return { valid: false, error: new TokenGuardError('ERR_TOKEN_MALFORMED', { cause: error }) };
  }
}

/**
 * When the validator stopped at `typ`, it never reached the signature. A second validator that
 * accepts this `typ` (and nothing else relaxed but the audience and the clock) tells whether the
 * signature itself is good, which is what a developer needs to know next.
 */
async function probeSignature(
  options: ValidatorOptions,
  token: string,
  typ: unknown,
  exp: unknown,
  signature: Check,
  keyDescription: string,
): Promise<void> {
  if (typ !== undefined && (typeof typ !== 'string' || typ === '')) return;
  const probeAtMs = typeof exp === 'number' && Number.isFinite(exp) ? (exp - 1) * 1000 : Date.now();
  const probe = createValidator({
    ...options,
    audience: null,
    ...(typeof typ === 'string' ? { typ: [typ] } : {}),
    allowMissingTyp: true,
    now: () => probeAtMs,
  });
  try {
    const verdict = await run(probe, token, []);
    if (verdict.valid || signatureVerifiedBefore(verdict.error)) {
      signature.status = 'pass';
      signature.message = `verified with ${keyDescription} (checked apart from the typ failure)`;
    } else if (checkIsSignature(verdict.error.code)) {
      signature.status = 'fail';
      signature.message = verdict.error.message;
    }
  } finally {
    await probe.close();
  }
}

function checkIsSignature(code: string): boolean {
  return code === 'ERR_SIGNATURE_INVALID' || code === 'ERR_KEY_NOT_FOUND' || code === 'ERR_KEYS_UNAVAILABLE';
}

function skippedSignature(verdict: Verdict): string {
  if (verdict.valid) return 'not checked';
  switch (verdict.error.code) {
    case 'ERR_ISSUER_MISMATCH':
      return 'not checked: keys are fetched only for the trusted issuer';
    case 'ERR_ALGORITHM_NOT_ALLOWED':
      return 'not checked: the algorithm is not allowed';
    default:
      return 'not checked: the validator stopped before the signature';
  }
}

/**
 * A token with whitespace inside (wrapped when copied): the format check says so, and `reconcile`
 * keeps that sentence; the verdict stays the validator's own.
 */
function flagWhitespace(checks: Check[], token: string): void {
  const broken = explainWhitespace(token);
  const format = checks.find((check) => check.id === 'format');
  if (broken !== undefined && format !== undefined)
    Object.assign(format, { status: 'fail', message: broken });
}

/**
 * The introspection answer of an opaque token the validator refused for its certificate binding,
 * whose error does not say which certificate the answer names: a second validator that takes bound
 * tokens without their proof asks again. `undefined` when that one refuses it too.
 */
async function probeIntrospection(
  options: ValidatorOptions,
  token: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  let probe: Validator;
  try {
    probe = createValidator({ ...options, mtls: false, acceptBoundTokens: true });
  } catch {
    // Options an embedder gave that exclude acceptBoundTokens: the validator's own message stays.
    return undefined;
  }
  try {
    const verdict = await run(probe, token, []);
    return verdict.valid ? verdict.auth.claims : undefined;
  } finally {
    await probe.close();
  }
}

/** An opaque token: the validator introspected it; explain what the answer said. */
async function explainOpaque(
  token: string,
  verdict: Verdict,
  validator: Validator,
  args: VerifyArgs,
  nowMs: number,
  client: ClientCertificate | undefined,
  options: ValidatorOptions,
): Promise<Check[]> {
  const endpoint =
    validator.state().issuers[0]?.introspection?.endpoint ?? "the issuer's introspection endpoint";
  const checks: Check[] = [
    {
      id: 'format',
      status: 'pass',
      message: `an opaque token (${token.length} characters, not a JWT): only its issuer can say what it is`,
    },
    { id: 'introspection', status: 'pass', message: `${endpoint} answered "active": true` },
  ];
  const claims = verdict.valid
    ? verdict.auth.claims
    : verdict.error.code === 'ERR_MTLS_BINDING_MISMATCH'
      ? await probeIntrospection(options, token)
      : undefined;
  if (claims !== undefined) {
    checks.push(...explainIntrospected(claims, validator.options, args.scopes, nowMs, client?.thumbprint));
  }
  flagWhitespace(checks, token);
  reconcile(checks, verdict, '');
  return checks;
}

/**
 * Runs `tokenguard verify`: the verdict comes from `validator.validate()` of @tokenguard/core;
 * the checks around it explain, one by one, what the token has and what the API expects.
 *
 * @example
 * ```ts
 * const report = await verifyToken(token, parseCliArgs(argv) as VerifyArgs);
 * process.exitCode = report.exitCode;
 * ```
 */
export async function verifyToken(
  token: string,
  args: VerifyArgs,
  environment: VerifyEnvironment = {},
): Promise<VerifyReport> {
  const client =
    args.clientCertificate === undefined ? undefined : await readClientCertificate(args.clientCertificate);
  const options = optionsFrom(args, environment, client);
  const validator = create(options);
  try {
    const verdict = await run(validator, token, args.scopes, client);
    const jwksUri = validator.state().issuers[0]?.keySet.uri ?? args.jwksUri;
    const decoded = decodeToken(token);
    let checks: Check[];
    if ('error' in decoded && args.introspection !== undefined && token.split('.').length !== 3) {
      const nowMs = (environment.now ?? Date.now)();
      checks = await explainOpaque(token, verdict, validator, args, nowMs, client, options);
    } else if ('error' in decoded) {
      checks = [{ id: 'format', status: 'fail', message: decoded.error }];
      flagWhitespace(checks, token);
      reconcile(checks, verdict, "the issuer's key set");
    } else {
      const nowMs = (environment.now ?? Date.now)();
      checks = explainChecks(token, decoded, validator.options, args.scopes, nowMs, client?.thumbprint);
      const kid = decoded.header.kid;
      const keyDescription = `key ${typeof kid === 'string' ? `kid ${kid.slice(0, 64)}` : '(no kid)'} from ${jwksUri ?? "the issuer's key set"}`;
      const signature = checks.find((check) => check.id === 'signature');
      if (signature !== undefined) signature.message = skippedSignature(verdict);
      if (!verdict.valid && verdict.error.code === 'ERR_TYPE_MISMATCH' && signature !== undefined) {
        await probeSignature(
          options,
          token,
          decoded.header.typ,
          decoded.claims.exp,
          signature,
          keyDescription,
        );
      }
      flagWhitespace(checks, token);
      reconcile(checks, verdict, keyDescription);
    }
    return {
      verdict,
      checks,
      exitCode: exitCodeOf(verdict),
      issuer: args.issuer,
      audience: args.audience,
      jwksUri,
      clientCertificate:
        client === undefined ? undefined : { file: client.file, thumbprint: client.thumbprint },
    };
  } finally {
    await validator.close();
  }
}
