/**
 * The load generator, run in a child process (`child_process.fork`) so that autocannon and the
 * server under test never share an event loop. Receives one run description at a time over IPC and
 * answers with autocannon's figures.
 */
import autocannon from 'autocannon';

export interface LoadRequest {
  readonly url: string;
  readonly connections: number;
  /** Seconds, for runs with one reused token (or none). */
  readonly durationSec?: number;
  /** Requests, for runs with a fresh token per request: each token of the pool is sent once. */
  readonly amount?: number;
  /** Reused `Authorization` value, if any. */
  readonly authorization?: string;
  /** Send `Bearer <pool[i]>`, a different token for each request. */
  readonly freshTokens?: boolean;
  /** With `freshTokens`: the index in the pool of the first token sent. Default 0. */
  readonly tokenOffset?: number;
}

export interface LoadResult {
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
}

type Message = { type: 'tokens'; tokens: string[] } | { type: 'run'; request: LoadRequest };

let pool: string[] = [];

async function run(request: LoadRequest): Promise<LoadResult> {
  let next = request.tokenOffset ?? 0;
  const start = performance.now();
  let responses = 0;
  let firstResponseAt = start;
  let lastResponseAt = start;
  const instance = autocannon({
    url: request.url,
    connections: request.connections,
    // autocannon notices the end of a run on its sampling tick (1 s by default): a short tick ends
    // short runs promptly. Rates here come from response times, not from its samples.
    sampleInt: 50,
    // The first connection error or timeout ends the run (the bench refuses a run with any): a server
    // that stopped answering would otherwise be retried until `amount` requests had timed out, 10 s
    // each over the connections (100 minutes for a 6,000-token warm-up over 10).
    bailout: 1,
    ...(request.amount === undefined ? { duration: request.durationSec ?? 1 } : { amount: request.amount }),
    headers: request.authorization === undefined ? {} : { authorization: request.authorization },
    ...(request.freshTokens === true
      ? {
          requests: [
            {
              setupRequest: (req: Record<string, unknown>) => {
                const token = pool[next++ % pool.length];
                return { ...req, headers: { ...(req.headers as object), authorization: `Bearer ${token}` } };
              },
            },
          ],
        }
      : {}),
  } as autocannon.Options) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  instance.on('response', () => {
    lastResponseAt = performance.now();
    if (responses++ === 0) firstResponseAt = lastResponseAt;
  });
  const result = await instance;
  // autocannon stops on whole-second ticks, and short runs would count its connection set-up: the
  // rate is the responses after the first over the time from the first to the last.
  const elapsedSec = (lastResponseAt - firstResponseAt) / 1000;
  return {
    requestsPerSec: responses > 1 ? (responses - 1) / elapsedSec : Number.NaN,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

process.on('message', (message: Message) => {
  if (message.type === 'tokens') {
    pool = message.tokens;
    process.send?.({ type: 'ready' });
    return;
  }
  run(message.request).then(
    (result) => process.send?.({ type: 'result', result }),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
  );
});
process.send?.({ type: 'ready' });
