import type { Check } from './checks.js';
import type { Style } from './style.js';
import { joinWords, printable } from './text.js';
import { formatRelative } from './time.js';
import { describeCause } from './verdict.js';
import type { VerifyReport } from './verify.js';

const LABELS: Record<Check['id'], string> = {
  format: 'format',
  issuer: 'issuer',
  algorithm: 'algorithm',
  type: 'type',
  signature: 'signature',
  expiry: 'expiry',
  'not-before': 'not before',
  'issued-at': 'issued at',
  audience: 'audience',
  claims: 'claims',
  scopes: 'scopes',
  binding: 'binding',
  introspection: 'introspect',
};

function mark(status: Check['status'], style: Style): string {
  if (status === 'pass') return style.green('PASS');
  if (status === 'fail') return style.red(style.bold('FAIL'));
  return style.dim('skip');
}

/**
 * The text of `tokenguard verify`: what was checked against what, one line per check, then the
 * validator's verdict with the HTTP answer an API would give.
 *
 * @example
 * ```ts
 * process.stdout.write(renderVerify(report, Date.now(), createStyle(false)));
 * ```
 */
export function renderVerify(report: VerifyReport, nowMs: number, style: Style): string {
  const audience = report.audience === null ? '(not checked)' : joinWords(report.audience);
  const client = report.clientCertificate;
  const lines = [
    `${style.bold('tokenguard verify')}  issuer ${report.issuer}, audience ${audience}`,
    report.jwksUri === undefined ? '' : style.dim(`  keys from ${report.jwksUri}`),
    client === undefined
      ? ''
      : style.dim(`  client certificate ${printable(client.file)}, x5t#S256 ${client.thumbprint}`),
    '',
  ].filter((line, index) => index === 3 || line !== '');
  for (const check of report.checks) {
    lines.push(`  ${mark(check.status, style)}  ${LABELS[check.id].padEnd(10)}  ${check.message}`);
  }
  lines.push('');
  const { verdict } = report;
  if (verdict.valid) {
    const { auth } = verdict;
    const expires =
      auth.expiresAt === undefined
        ? ''
        : `, expires ${formatRelative(auth.expiresAt.getTime() / 1000, nowMs)}`;
    lines.push(
      `${style.green(style.bold('VALID'))}: the validator accepts this token.`,
      `  subject ${printable(auth.subject ?? '(none)')}, client ${printable(auth.clientId ?? '(none)')}, scopes ${
        auth.scopes.size === 0 ? '(none)' : [...auth.scopes].map((scope) => printable(scope)).join(' ')
      }${expires}`,
    );
  } else {
    const { error } = verdict;
    const head =
      error.status >= 500 ? style.yellow(style.bold('NO VERDICT')) : style.red(style.bold('REJECTED'));
    const oauth = error.oauthError === undefined ? '' : ` ${error.oauthError}`;
    lines.push(`${head} (${error.status}${oauth}, ${error.code}): ${error.message}`);
    const cause = describeCause(error);
    if (error.status >= 500 && cause !== undefined) lines.push(`  cause: ${cause}`);
    for (const [name, value] of Object.entries(error.headers))
      lines.push(style.dim(`  an API answers ${name}: ${value}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The JSON of `tokenguard verify --json`: `{ valid, exitCode, issuer, audience, jwksUri, clientCertificate?,
 * error?, auth?, checks }`.
 * Never the token.
 *
 * @example
 * ```ts
 * const { valid, checks } = JSON.parse(renderVerifyJson(report));
 * ```
 */
export function renderVerifyJson(report: VerifyReport): string {
  const { verdict } = report;
  const body = {
    valid: verdict.valid,
    exitCode: report.exitCode,
    issuer: report.issuer,
    audience: report.audience,
    jwksUri: report.jwksUri,
    ...(report.clientCertificate === undefined ? {} : { clientCertificate: report.clientCertificate }),
    ...(verdict.valid
      ? { auth: verdict.auth }
      : {
          error: {
            code: verdict.error.code,
            status: verdict.error.status,
            oauthError: verdict.error.oauthError,
            message: verdict.error.message,
            cause: describeCause(verdict.error),
            headers: verdict.error.headers,
          },
        }),
    checks: report.checks,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}
