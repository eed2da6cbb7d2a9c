import { type AuthMode, FRAMEWORKS, type Framework, PEER_NAMES, startApp } from '../http/apps.js';
import { startIssuerProcess } from '../http/issuer-process.js';
import { LoadClient } from '../http/load-client.js';
import type { LoadResult } from '../http/load-worker.js';
import { median } from '../lib/measure.js';
import { formatNumber, type Table } from '../lib/report.js';
import { generateBenchKey, signPool } from '../lib/tokens.js';

export interface HttpSettings {
  readonly rounds: number;
  readonly durationSec: number;
  /** Distinct RS256 tokens; a fresh-token run sends each once (a new server per run, so no cache hit). */
  readonly poolSize: number;
  readonly connections: number;
  /** Requests that warm each new server (JIT, key caches) before it is measured. */
  readonly warmupRequests: number;
  /** Run one untimed round of every configuration first. */
  readonly warmupRound: boolean;
}

interface Config {
  readonly framework: Framework;
  readonly mode: AuthMode;
  readonly fresh: boolean;
  readonly label: string;
}

export interface HttpFigures {
  readonly requestsPerSec: number;
  /**
   * CPU time of the server's process per request (user + system, from `process.cpuUsage()`): what
   * the auth layer costs, unlike req/s unaffected by how the loaded machine schedules the client.
   */
  readonly cpuUsPerRequest: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface HttpResult {
  readonly tables: Table[];
  /** By framework, then by config label. */
  readonly figures: Map<Framework, Map<string, HttpFigures>>;
}

export const CEILING = 'no auth (ceiling)';
export const TG_REUSED = 'tokenguard, reused token';
export const TG_FRESH_HTTP = 'tokenguard, fresh token per request';
export const PEER_REUSED = 'peer, reused token';
export const PEER_FRESH = 'peer, fresh token per request';

function configsFor(framework: Framework): Config[] {
  return [
    { framework, mode: 'none', fresh: false, label: CEILING },
    { framework, mode: 'tokenguard', fresh: false, label: TG_REUSED },
    { framework, mode: 'tokenguard', fresh: true, label: TG_FRESH_HTTP },
    { framework, mode: 'peer', fresh: false, label: PEER_REUSED },
    { framework, mode: 'peer', fresh: true, label: PEER_FRESH },
  ];
}

const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(0)}`;

/**
 * HTTP throughput and latency per framework: the server runs here, autocannon and the issuer in
 * forked children.
 * Configurations alternate within each round; every run gets a new server (an empty token cache),
 * a short warm-up, then a load bounded by a duration (reused token) or by the pool (fresh tokens).
 */
export async function runHttpScenarios(settings: HttpSettings): Promise<HttpResult> {
  const key = generateBenchKey('RS256');
  const issuer = await startIssuerProcess({ keys: [key.jwk] });
  const claimsIssuer = { iss: issuer.issuer };
  const [reused, ...tokens] = signPool(key, settings.poolSize + 1 + settings.warmupRequests, 0, claimsIssuer);
  const authorization = `Bearer ${reused}`;
  // Measured fresh-token runs send pool[0 .. poolSize); their warm-ups send the tokens after it, so
  // the full verification path is as warm as the cached one before the measurement starts.
  const pool = tokens.slice(0, settings.poolSize);
  const load = await LoadClient.start(tokens);
  const samples = new Map<string, (LoadResult & { cpuUsPerRequest: number })[]>();
  const configs = FRAMEWORKS.flatMap(configsFor);
  try {
    for (let round = settings.warmupRound ? -1 : 0; round < settings.rounds; round++) {
      for (let i = 0; i < configs.length; i++) {
        const config = configs[(i + Math.max(round, 0)) % configs.length] as Config;
        const app = await startApp(config.framework, config.mode, issuer);
        try {
          await load.run({
            url: app.url,
            connections: settings.connections,
            amount: settings.warmupRequests,
            authorization,
            ...(config.fresh ? { freshTokens: true, tokenOffset: settings.poolSize } : {}),
          });
          const cpuBefore = process.cpuUsage();
          const result = await load.run({
            url: app.url,
            connections: settings.connections,
            authorization,
            ...(config.fresh
              ? { freshTokens: true, amount: round < 0 ? Math.min(300, pool.length) : pool.length }
              : { durationSec: round < 0 ? Math.min(0.5, settings.durationSec) : settings.durationSec }),
          });
          const cpu = process.cpuUsage(cpuBefore);
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(
              `${config.framework} / ${config.label}: ${result.non2xx} non-2xx responses, ${result.errors} errors`,
            );
          }
          if (round >= 0) {
            const id = `${config.framework}\u0000${config.label}`;
            const cpuUsPerRequest = (cpu.user + cpu.system) / result.total;
            samples.set(id, [...(samples.get(id) ?? []), { ...result, cpuUsPerRequest }]);
          }
        } finally {
          await app.close();
        }
      }
    }
  } finally {
    load.close();
    await issuer.close();
  }
  const figures = new Map<Framework, Map<string, HttpFigures>>();
  for (const config of configs) {
    const runs = samples.get(`${config.framework}\u0000${config.label}`) ?? [];
    const byLabel = figures.get(config.framework) ?? new Map<string, HttpFigures>();
    byLabel.set(config.label, {
      requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
      cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
    });
    figures.set(config.framework, byLabel);
  }
  const rows: (string | number)[][] = [];
  for (const framework of FRAMEWORKS) {
    const byLabel = figures.get(framework) as Map<string, HttpFigures>;
    const ceiling = byLabel.get(CEILING)?.requestsPerSec ?? Number.NaN;
    const ceilingCpu = byLabel.get(CEILING)?.cpuUsPerRequest ?? Number.NaN;
    const peer = (label: string) => byLabel.get(label.replace('tokenguard', 'peer'))?.requestsPerSec;
    for (const { label } of configsFor(framework)) {
      const f = byLabel.get(label) as HttpFigures;
      const versusPeer = label.startsWith('tokenguard')
        ? f.requestsPerSec / (peer(label) ?? Number.NaN)
        : undefined;
      rows.push([
        framework,
        label.startsWith('peer') ? label.replace('peer', PEER_NAMES[framework]) : label,
        formatNumber(f.requestsPerSec),
        (f.requestsPerSec / ceiling).toFixed(2),
        versusPeer === undefined ? '' : `${versusPeer.toFixed(2)}×`,
        f.p50Ms.toFixed(1),
        f.p99Ms.toFixed(1),
        f.cpuUsPerRequest.toFixed(0),
        label === CEILING ? '' : signed(f.cpuUsPerRequest - ceilingCpu),
      ]);
    }
  }
  return {
    figures,
    tables: [
      {
        title: 'HTTP, RS256, req/s and latency (autocannon in a second process)',
        columns: [
          'framework',
          'auth',
          'req/s',
          'vs ceiling',
          'vs peer',
          'p50 ms',
          'p99 ms',
          'server CPU µs/req',
          'µs over ceiling',
        ],
        rows,
        notes: [
          `Median of ${settings.rounds} interleaved rounds, ${settings.connections} connections, loopback. Reused-token runs last ${settings.durationSec} s; fresh-token runs send ${pool.length} distinct pre-signed tokens once each. Every run starts a new server (so tokenguard's cache of verified tokens starts empty) and warms it with ${settings.warmupRequests} requests first (fresh-token runs: with ${settings.warmupRequests} other distinct tokens).`,
          'Server CPU µs/req: CPU time (user + system) of the server process over the measured run, per request. It does not count the time the server waits for a descheduled load generator, so "µs over ceiling" says more than req/s about what each auth layer costs; it still grows when other work shares the cores (cache and context-switch costs).',
          "Every configuration checks the signature, iss, aud and exp against the same JWKS, served from 127.0.0.1 by an issuer in a process of its own (as a real authorization server would be, its work is not the server's CPU). Hono's jwk middleware fetches the JWKS on every request (it has no key cache). Every framework runs behind the same node:http server with default settings; the ceiling sends the same Authorization header as the reused-token runs.",
        ],
      },
    ],
  };
}
