import type { Check, CheckSettings } from './checks.js';
import { joinWords, printable } from './text.js';

const X5T = 'x5t#S256';

/** How much of a thumbprint a passing line shows: enough to tell certificates apart at a glance. */
const SHOWN_CHARS = 12;

function methodsOf(cnf: unknown): string {
  return typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf)
    ? joinWords(
        Object.keys(cnf)
          .slice(0, 4)
          .map((name) => printable(name)),
        'and',
      )
    : 'of an unknown form';
}

/** The methods `cnf` names besides `x5t#S256`, for a sentence. */
function otherMethods(cnf: object): string {
  return joinWords(
    Object.keys(cnf)
      .filter((name) => name !== X5T)
      .slice(0, 4)
      .map((name) => printable(name)),
    'and',
  );
}

/** Why the rest of `cnf` cannot be proven here: DPoP needs a proof of the request, which a CLI has not. */
function unprovable(cnf: object): string {
  return Object.hasOwn(cnf, 'jkt')
    ? 'a DPoP key (jkt) is proven only by a DPoP proof of each request, which tokenguard verify cannot make'
    : 'no request proves it';
}

/** With the `mtls` option (`--client-certificate`): `cnf` against the certificate, as core does it. */
function explainWithCertificate(cnf: unknown, certificate: string | undefined): Check {
  const x5t = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)[X5T] : undefined;
  if (x5t === undefined) {
    const why =
      typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf)
        ? `: ${unprovable(cnf)}; --client-certificate proves only cnf x5t#S256`
        : ', which no request proves';
    return { id: 'binding', status: 'fail', message: `bound to a key (cnf ${methodsOf(cnf)})${why}` };
  }
  if (certificate === undefined) {
    return {
      id: 'binding',
      status: 'fail',
      message: `bound to a TLS client certificate (cnf x5t#S256 ${printable(x5t)}) and no certificate was given: add --client-certificate <file>`,
    };
  }
  if (x5t !== certificate) {
    return {
      id: 'binding',
      status: 'fail',
      message: `bound to another certificate: the token's x5t#S256 is ${printable(x5t)}, the certificate's is ${certificate}`,
    };
  }
  const shown = `x5t#S256 ${certificate.slice(0, SHOWN_CHARS)}...`;
  const cnfObject = cnf as object;
  if (Object.keys(cnfObject).length > 1) {
    return {
      id: 'binding',
      status: 'fail',
      message: `bound to the client certificate (${shown}) and also by cnf ${otherMethods(cnfObject)}, which a certificate does not prove: ${unprovable(cnfObject)}`,
    };
  }
  return { id: 'binding', status: 'pass', message: `bound to the client certificate (${shown})` };
}

/**
 * The `binding` line: a token bound to a key (`cnf`, RFC 7800) is good only with proof of that key.
 * With `--client-certificate` (the validator's `mtls`), a `cnf` `x5t#S256` is compared with the
 * certificate's thumbprint (RFC 8705 §3), and an unbound token passes with nothing to prove. Without
 * it, a bound token fails, or with `--accept-bound-tokens` is skipped saying the proof was not
 * checked, and an unbound token gets no line. `certificate` is the certificate's `x5t#S256`.
 *
 * @example
 * ```ts
 * const lines = explainBinding(claims.cnf, validator.options, client?.thumbprint);
 * ```
 */
export function explainBinding(
  cnf: unknown,
  settings: Pick<CheckSettings, 'acceptBoundTokens' | 'mtls'>,
  certificate: string | undefined,
): Check[] {
  if (cnf === undefined || cnf === null) {
    return certificate === undefined
      ? []
      : [
          {
            id: 'binding',
            status: 'pass',
            message: `not bound to a key (no cnf): nothing to prove; an API with mutual TLS accepts it with or without a client certificate (this one is x5t#S256 ${certificate.slice(0, SHOWN_CHARS)}...)`,
          },
        ];
  }
  if (settings.mtls) return [explainWithCertificate(cnf, certificate)];
  const what = `bound to a key (cnf ${methodsOf(cnf)})`;
  if (settings.acceptBoundTokens) {
    return [{ id: 'binding', status: 'skip', message: `${what}: its proof of possession was not checked` }];
  }
  const byCertificate =
    typeof cnf === 'object' && !Array.isArray(cnf) && Object.hasOwn(cnf, X5T)
      ? ' To check cnf x5t#S256 against the client certificate, add --client-certificate <file>; to look at the rest, add --accept-bound-tokens'
      : ' To look at the rest, add --accept-bound-tokens';
  return [
    {
      id: 'binding',
      status: 'fail',
      message: `${what} and presented without its proof; an API that checks the proof (DPoP, mutual TLS) accepts it.${byCertificate}`,
    },
  ];
}
