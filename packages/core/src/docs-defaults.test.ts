import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { typeErrorOf } from '../../../test/support/rejections.js';
import { DEFAULT_KEY_SET_POLICY, resolveOptions, type ValidatorOptions } from './options.js';

// Every default and bound the README's option tables state, held to what resolveOptions does.
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const base = { issuer: 'https://id.example', audience: 'https://api.example' };
const introspection = { clientId: 'api', clientSecret: 'secret' };

/** The rows of the README table whose header row starts with `| ${first} `: first cell → second cell. */
function table(first: string): Map<string, string> {
  const lines = README.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  const rows = new Map<string, string>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [name, value] = line
      .split('|')
      .slice(1, 3)
      .map((cell) => cell.trim());
    if (name !== undefined && value !== undefined)
      rows.set(name.replaceAll('`', ''), value.replaceAll('`', ''));
  }
  return rows;
}

function rejection(options: Record<string, unknown>): string {
  return typeErrorOf(() => resolveOptions({ ...base, ...options } as ValidatorOptions));
}

describe('README defaults', () => {
  it('keySet: the table equals DEFAULT_KEY_SET_POLICY and what a validator gets', () => {
    const rows = table('field');
    const documented = Object.fromEntries(
      Object.keys(DEFAULT_KEY_SET_POLICY).map((field) => [field, Number(rows.get(field))]),
    );
    expect(documented).toEqual({ ...DEFAULT_KEY_SET_POLICY });
    expect(resolveOptions(base).keySet).toEqual({ ...DEFAULT_KEY_SET_POLICY });
  });

  it('options: each stated default is the resolved one', () => {
    const rows = table('option');
    const resolved = resolveOptions(base);
    expect(rows.get('clockToleranceSec')).toBe('5');
    expect(resolved.clockToleranceSec).toBe(5);
    expect(rows.get('maxTokenLength')).toBe('8192');
    expect(resolved.maxTokenLength).toBe(8192);
    expect(rows.get('maxTokenJsonDepth')).toBe('32');
    expect(resolved.maxTokenJsonDepth).toBe(32);
    expect(rows.get('http.timeoutMs')).toBe('5000');
    expect(rows.get('http.connectTimeoutMs')).toBe('2000');
    expect(rows.get('http.headersTimeoutMs')).toBe('3000');
    expect(rows.get('http.bodyTimeoutMs')).toBe('3000');
    expect(resolved.http).toMatchObject({
      timeoutMs: 5000,
      connectTimeoutMs: 2000,
      headersTimeoutMs: 3000,
      bodyTimeoutMs: 3000,
    });
    expect(rows.get('tokenCache')).toBe('{ maxEntries: 10000 }');
    expect(resolved.tokenCacheMaxEntries).toBe(10_000);
    expect(rows.get('typ')).toBe("['at+jwt']");
    expect([...(resolved.issuers[0]?.typ ?? [])]).toEqual(['at+jwt']);
    expect(rows.get('scopeClaims')).toBe("['scope', 'scp']");
    expect(resolved.issuers[0]?.scopeClaims).toEqual(['scope', 'scp']);
    for (const flag of ['allowMissingTyp', 'acceptBoundTokens', 'verifyOffThread']) {
      expect(rows.get(flag), flag).toBe('false');
    }
    expect(resolved.issuers[0]?.allowMissingTyp).toBe(false);
    expect(resolved.acceptBoundTokens).toBe(false);
    expect(resolved.verifyOffThread).toBe(false);
    expect(rows.get('requiredClaims')).toBe('[]');
    expect(resolved.requiredClaims).toEqual([]);
    const template = resolveOptions({
      ...base,
      issuer: 'https://id.example/{tenant}',
      resolveTenant: () => true,
    }).issuers[0]?.template;
    expect([rows.get('maxTenants'), rows.get('tenantTtlSec')]).toEqual(['1000', '300']);
    expect([template?.maxTenants, template?.tenantTtlSec]).toEqual([1000, 300]);
  });

  it('introspection: each stated default is the resolved one', () => {
    const rows = table('field');
    expect(rows.get('maxResponseBytes')).toBeDefined();
    const resolved = resolveOptions({ ...base, introspection }).issuers[0]?.introspection;
    expect(resolved).toMatchObject({
      authMethod: 'client_secret_basic',
      tokenTypeHint: undefined,
      cache: { maxEntries: 10_000, maxTtlSec: 60, inactiveTtlSec: 5 },
      jwt: 'never',
      signedResponse: false,
      retry: { minSec: 1, maxSec: 30 },
      maxResponseBytes: 65_536,
      maxJsonDepth: 16,
      maxInFlight: 64,
    });
    const section = README.slice(README.indexOf('### `introspection`'));
    for (const stated of [
      '| `authMethod`',
      '`client_secret_basic`',
      '`maxEntries` 10000, `maxTtlSec` 60, `inactiveTtlSec` 5',
      "`'never'`",
      '`minSec` 1, `maxSec` 30',
      '| 65536 ',
      '| 16 ',
    ]) {
      expect(section, stated).toContain(stated);
    }
    expect(section).toMatch(/^\| `maxInFlight` +\| 64 +\| .*\(1–1024\)/m);
  });
});

describe('README bounds: the edges are taken, one step past is a TypeError naming the option', () => {
  const edges: Array<[string, (value: number) => Record<string, unknown>, number, number, number, number]> = [
    ['clockToleranceSec', (v) => ({ clockToleranceSec: v }), 0, 600, -1, 601],
    ['maxTokenLength', (v) => ({ maxTokenLength: v }), 64, 1_048_576, 63, 1_048_577],
    ['maxTokenJsonDepth', (v) => ({ maxTokenJsonDepth: v }), 2, 1000, 1, 1001],
    ['http.timeoutMs', (v) => ({ http: { timeoutMs: v } }), 1, 2_147_483_647, 0, 2_147_483_648],
    ['http.connectTimeoutMs', (v) => ({ http: { connectTimeoutMs: v } }), 1, 2_147_483_647, 0, 2_147_483_648],
    ['http.headersTimeoutMs', (v) => ({ http: { headersTimeoutMs: v } }), 1, 2_147_483_647, 0, 2_147_483_648],
    ['http.bodyTimeoutMs', (v) => ({ http: { bodyTimeoutMs: v } }), 1, 2_147_483_647, 0, 2_147_483_648],
    [
      'introspection.maxResponseBytes',
      (v) => ({ introspection: { ...introspection, maxResponseBytes: v } }),
      256,
      16 * 1024 * 1024,
      255,
      16 * 1024 * 1024 + 1,
    ],
    [
      'introspection.maxJsonDepth',
      (v) => ({ introspection: { ...introspection, maxJsonDepth: v } }),
      2,
      256,
      1,
      257,
    ],
    [
      'introspection.maxInFlight',
      (v) => ({ introspection: { ...introspection, maxInFlight: v } }),
      1,
      1024,
      0,
      1025,
    ],
  ];

  it.each(edges)('%s', (path, build, low, high, below, above) => {
    expect(rejection(build(low))).toBe('accepted');
    expect(rejection(build(high))).toBe('accepted');
    const named = new RegExp(`^tokenguard: invalid option "${path.replaceAll('.', '\\.')}": `);
    expect(rejection(build(below))).toMatch(named);
    expect(rejection(build(above))).toMatch(named);
    expect(rejection(build(Number.NaN))).toMatch(named);
  });

  it('secret: 32 bytes are taken, 31 refused; HS384 from 48 bytes and HS512 from 64 by default', () => {
    expect(rejection({ secret: 's'.repeat(31) })).toMatch(/^tokenguard: invalid option "secret": .*32 bytes/);
    const algorithms = (secret: string) => [
      ...(resolveOptions({ ...base, secret }).issuers[0]?.algorithms ?? []),
    ];
    expect(algorithms('s'.repeat(32))).toEqual(['HS256']);
    expect(algorithms('s'.repeat(48))).toEqual(['HS256', 'HS384']);
    expect(algorithms('s'.repeat(64))).toEqual(['HS256', 'HS384', 'HS512']);
    expect(rejection({ secret: 's'.repeat(47), algorithms: ['HS384'] })).toMatch(/"algorithms": HS384 needs/);
  });
});
