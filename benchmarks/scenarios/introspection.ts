import { pathToFileURL } from 'node:url';
import { createValidator, type Validator } from '@tokenguard/core';
import { startDevIssuer } from '@tokenguard/dev-issuer';
import { type Contender, interleave } from '../lib/measure.js';
import { formatTable } from '../lib/report.js';

/**
 * Introspection (RFC 7662) against the real oidc-provider dev issuer on 127.0.0.1: how many requests
 * 1000 concurrent validations of one cold opaque token cost (target 1), and validations per second
 * once the answer is cached, next to a cached JWT validated by the same validator in the same run.
 * An uncached row (`cache.maxTtlSec: 0`, a round trip per validation, as Spring Security does) shows
 * what the cache saves.
 *
 * @example
 * ```ts
 * const table = await runIntrospectionScenarios();
 * ```
 */
export async function runIntrospectionScenarios(
  options: { concurrent?: number; cachedOps?: number; uncachedOps?: number; rounds?: number } = {},
): Promise<{ title: string; columns: string[]; rows: (string | number)[][]; notes: string[] }> {
  const concurrent = options.concurrent ?? 1000;
  const cachedOps = options.cachedOps ?? 20_000;
  const uncachedOps = options.uncachedOps ?? 200;
  const rounds = options.rounds ?? 5;
  const issuer = await startDevIssuer();
  const validators: Validator[] = [];
  const make = (maxTtlSec?: number): Validator => {
    const validator = createValidator({
      issuer: issuer.issuer,
      audience: ['https://opaque.test', 'https://api.test'],
      introspection: {
        clientId: issuer.introspector.id,
        clientSecret: issuer.introspector.secret,
        ...(maxTtlSec === undefined ? {} : { cache: { maxTtlSec } }),
      },
    });
    validators.push(validator);
    return validator;
  };
  const requests = (validator: Validator) => validator.state().issuers[0]?.introspection?.requests ?? 0;
  try {
    const opaque = await issuer.getToken({ resource: 'https://opaque.test', scope: 'read' });
    const jwt = await issuer.getToken({ resource: 'https://api.test', scope: 'read' });

    const cold = make();
    await Promise.all(Array.from({ length: concurrent }, () => cold.validate(opaque)));
    const coldRequests = requests(cold);

    const cached = make();
    await cached.validate(opaque);
    await cached.validate(jwt);
    const uncached = make(0);
    const loop =
      (validator: Validator, token: string, ops: number): Contender['prepare'] =>
      () => ({
        ops,
        async run(start, end) {
          for (let i = start; i < end; i++) await validator.validate(token);
        },
      });
    const contenders: Contender[] = [
      { name: 'opaque, cached', prepare: loop(cached, opaque, cachedOps) },
      { name: 'jwt, cached', prepare: loop(cached, jwt, cachedOps) },
      { name: 'opaque, uncached', prepare: loop(uncached, opaque, uncachedOps) },
    ];
    const rates = await interleave(contenders, rounds);
    const jwtRate = rates.get('jwt, cached') ?? Number.NaN;
    const rate = (name: string) => rates.get(name) ?? Number.NaN;
    return {
      title: 'Introspection (RFC 7662) against oidc-provider',
      columns: ['measure', 'value', 'vs JWT cache hit'],
      rows: [
        [
          `introspection requests for ${concurrent} concurrent validations of one cold opaque token`,
          String(coldRequests),
          'target 1',
        ],
        [
          'cache-hit validations/s, opaque token (introspection cache)',
          rate('opaque, cached'),
          ratio(rate('opaque, cached'), jwtRate),
        ],
        ['cache-hit validations/s, JWT (verified-token cache)', jwtRate, '1.00'],
        [
          'validations/s, opaque token, no cache (a request each)',
          rate('opaque, uncached'),
          ratio(rate('opaque, uncached'), jwtRate),
        ],
      ],
      notes: [
        `Ops/s over ${rounds} rounds together, the contenders taking turns in slices within each (${cachedOps} cached / ${uncachedOps} uncached sequential validations each) after a warm-up round; one validator for both cached rows.`,
      ],
    };
  } finally {
    await Promise.all(validators.map((validator) => validator.close()));
    await issuer.close();
  }
}

function ratio(value: number, baseline: number): string {
  return Number.isFinite(value) && Number.isFinite(baseline) && baseline > 0
    ? (value / baseline).toFixed(2)
    : 'n/a';
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable(await runIntrospectionScenarios()));
}
