/**
 * The measured side of `in-process/instructions.ts`: one in-process contender of the validate scenario,
 * built as `pnpm bench` builds it, in a process of its own (run under valgrind by the driver), told over
 * IPC when its measured validations run.
 *
 * Argument: the JSON file the driver wrote (the key, the tokens, the contender's name, the warm-up
 * count, and the algorithms of `--before` with keys and tokens of their own, each run through a
 * verifier of its own first, which is then dropped: the bench keeps its verifiers, so its heap holds a
 * little more). Messages: answers `{ type: 'ready' }` once warm; on `{ type: 'go' }` validates every
 * measured token once and answers `{ type: 'done' }`; on `{ type: 'stop' }` exits.
 */
import { createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { collectGarbage } from '../lib/measure.js';
import type { BenchAlgorithm, BenchKey } from '../lib/tokens.js';
import { contendersFor } from '../scenarios/validate.js';

/** What the driver hands over: key material as text, so no key is generated under valgrind. */
export interface ChildInput {
  readonly alg: BenchAlgorithm;
  readonly kid: string;
  /** PKCS#8 PEM, or the HMAC secret in hex. */
  readonly privateKey: string;
  readonly publicPem: string;
  readonly jwk: Record<string, unknown> | undefined;
  readonly contender: string;
  readonly warmup: number;
  /** Whether a full collection runs right before the measured validations, as before each round of `pnpm bench`. */
  readonly afterGc: boolean;
  /** `warmup` tokens, then the measured ones: each validated once. */
  readonly tokens: readonly string[];
  /**
   * Algorithms the contender validates before its own, in this process, as `pnpm bench` runs them one
   * after another in one process: each with a key and tokens of its own, each token once.
   */
  readonly before: readonly BeforeInput[];
}

/** An algorithm run through the contender before the measured one. */
export interface BeforeInput extends KeyInput {
  readonly tokens: readonly string[];
}

/** A key as text: PKCS#8 PEM, or the HMAC secret in hex. */
export interface KeyInput {
  readonly alg: BenchAlgorithm;
  readonly kid: string;
  readonly privateKey: string;
  readonly publicPem: string;
  readonly jwk: Record<string, unknown> | undefined;
}

const input = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as ChildInput;

function benchKeyOf(text: KeyInput): BenchKey {
  if (text.alg === 'HS256') {
    const secret = Buffer.from(text.privateKey, 'hex');
    const secretKey = createSecretKey(secret);
    return { ...text, privateKey: secretKey, publicKey: secretKey, secret };
  }
  return {
    ...text,
    privateKey: createPrivateKey(text.privateKey),
    publicKey: createPublicKey(text.publicPem),
    secret: undefined,
  };
}

/** The contender's verifier for `text`'s key, built as the bench builds it. */
async function verifierFor(text: KeyInput, tokens: readonly string[]): Promise<(token: string) => unknown> {
  const settings = { poolSize: tokens.length, repeatOps: 1, rounds: 1, algorithms: [text.alg] };
  const built = (await contendersFor(benchKeyOf(text), tokens, settings)).find(
    (c) => c.name === input.contender,
  );
  if (built === undefined) throw new TypeError(`no contender ${input.contender} for ${text.alg}`);
  return built.verifier();
}

async function validateAll(
  verifier: (token: string) => unknown,
  tokens: readonly string[],
  from: number,
  to: number,
): Promise<void> {
  for (let i = from; i < to; i++) {
    const verdict = verifier(tokens[i] as string);
    if (verdict instanceof Promise) await verdict;
  }
}

for (const earlier of input.before) {
  await validateAll(await verifierFor(earlier, earlier.tokens), earlier.tokens, 0, earlier.tokens.length);
}
const each = await verifierFor(input, input.tokens);

// Half the warm-up, a full GC (optimized code it drops is compiled again), the other half.
const half = Math.floor(input.warmup / 2);
await validateAll(each, input.tokens, 0, half);
collectGarbage();
await validateAll(each, input.tokens, half, input.warmup);

if (input.afterGc) collectGarbage();
process.on('message', (message: { type: string }) => {
  if (message.type === 'go') {
    void validateAll(each, input.tokens, input.warmup, input.tokens.length).then(
      () => process.send?.({ type: 'done' }),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  } else if (message.type === 'stop') {
    process.exit(0);
  }
});
process.send?.({ type: 'ready' });
