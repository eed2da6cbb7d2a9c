import type { DevIssuerOptions, DevIssuerSigningAlg } from './index.js';

/** The algorithms `signingAlg` accepts. */
export const SIGNING_ALGS: readonly DevIssuerSigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

const OPTION_NAMES = ['resources', 'extraClaims', 'signingAlg', 'introspectorJwks', 'dpop', 'mtls'];

/**
 * A bad option of {@link startDevIssuer} (code `ERR_DEV_ISSUER_OPTION`): the message names the option.
 *
 * @example
 * ```ts
 * throw devIssuerOptionError('signingAlg', 'must be one of RS256, PS256, ES256, EdDSA');
 * ```
 */
export function devIssuerOptionError(name: string, problem: string): TypeError {
  return Object.assign(new TypeError(`dev-issuer: invalid option "${name}": ${problem}`), {
    code: 'ERR_DEV_ISSUER_OPTION',
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

function assertResources(resources: unknown): void {
  if (resources === undefined) return;
  if (!isRecord(resources))
    throw devIssuerOptionError('resources', `must be an object, not ${describe(resources)}`);
  for (const [id, rs] of Object.entries(resources)) {
    const name = `resources[${JSON.stringify(id)}]`;
    if (!URL.canParse(id)) throw devIssuerOptionError(name, 'the resource indicator must be an absolute URI');
    if (!isRecord(rs)) throw devIssuerOptionError(name, `must be an object, not ${describe(rs)}`);
    if (typeof rs.scope !== 'string') {
      throw devIssuerOptionError(`${name}.scope`, 'must be a string of space-separated scopes');
    }
    if (rs.format !== 'jwt' && rs.format !== 'opaque') {
      throw devIssuerOptionError(
        `${name}.format`,
        `must be "jwt" or "opaque", not ${JSON.stringify(rs.format)}`,
      );
    }
    if (rs.ttlSec !== undefined && (!Number.isSafeInteger(rs.ttlSec) || (rs.ttlSec as number) <= 0)) {
      throw devIssuerOptionError(`${name}.ttlSec`, 'must be a positive integer');
    }
  }
}

/**
 * Checks {@link startDevIssuer}'s options before anything starts, so a mistake is a `TypeError` naming
 * the option rather than a silently ignored typo or a 500 from the provider at the first token request.
 *
 * @example
 * ```ts
 * assertDevIssuerOptions({ signingAlg: 'HS256' }); // TypeError: dev-issuer: invalid option "signingAlg": ...
 * ```
 */
export function assertDevIssuerOptions(options: unknown): asserts options is DevIssuerOptions {
  if (!isRecord(options))
    throw devIssuerOptionError('options', `must be an object, not ${describe(options)}`);
  const unknown = Object.keys(options).find((name) => !OPTION_NAMES.includes(name));
  if (unknown !== undefined) {
    throw devIssuerOptionError(unknown, `unknown option (known: ${OPTION_NAMES.join(', ')})`);
  }
  const { signingAlg, extraClaims, introspectorJwks, dpop, mtls } = options;
  for (const [name, value] of [
    ['dpop', dpop],
    ['mtls', mtls],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw devIssuerOptionError(name, `must be a boolean, not ${describe(value)}`);
    }
  }
  if (signingAlg !== undefined && !SIGNING_ALGS.includes(signingAlg as DevIssuerSigningAlg)) {
    throw devIssuerOptionError(
      'signingAlg',
      `must be one of ${SIGNING_ALGS.join(', ')}, not ${JSON.stringify(signingAlg)}`,
    );
  }
  if (extraClaims !== undefined && !isRecord(extraClaims)) {
    throw devIssuerOptionError('extraClaims', `must be an object of claims, not ${describe(extraClaims)}`);
  }
  if (
    introspectorJwks !== undefined &&
    !(
      isRecord(introspectorJwks) &&
      Array.isArray(introspectorJwks.keys) &&
      introspectorJwks.keys.every(isRecord)
    )
  ) {
    throw devIssuerOptionError('introspectorJwks', 'must be a JWK Set: { keys: [public JWKs] }');
  }
  assertResources(options.resources);
}
