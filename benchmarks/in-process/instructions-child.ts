/**
 * The measured side of `in-process/instructions.ts`: one in-process contender of the validate scenario,
 * built as `pnpm bench` builds it, in a process of its own (run under valgrind by the driver), told over
 * IPC when its measured validations run.
 *
 * Argument: the JSON file the driver wrote (the key, the tokens, the contender's name, the warm-up
 * count). Messages: answers `{ type: 'ready' }` once warm; on `{ type: 'go' }` validates every
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
}

const input = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as ChildInput;
const key: BenchKey =
  input.alg === 'HS256'
    ? (() => {
        const secret = Buffer.from(input.privateKey, 'hex');
        const secretKey = createSecretKey(secret);
        return { ...input, privateKey: secretKey, publicKey: secretKey, secret };
      })()
    : {
        ...input,
        privateKey: createPrivateKey(input.privateKey),
        publicKey: createPublicKey(input.publicPem),
        secret: undefined,
      };
const settings = { poolSize: input.tokens.length, repeatOps: 1, rounds: 1, algorithms: [input.alg] };
const contender = (await contendersFor(key, input.tokens, settings)).find((c) => c.name === input.contender);
if (contender === undefined) throw new TypeError(`no contender ${input.contender} for ${input.alg}`);
const each = await contender.verifier();

async function validateAll(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const verdict = each(input.tokens[i] as string);
    if (verdict instanceof Promise) await verdict;
  }
}

// Half the warm-up, a full GC (optimized code it drops is compiled again), the other half.
const half = Math.floor(input.warmup / 2);
await validateAll(0, half);
collectGarbage();
await validateAll(half, input.warmup);

if (input.afterGc) collectGarbage();
process.on('message', (message: { type: string }) => {
  if (message.type === 'go') {
    void validateAll(input.warmup, input.tokens.length).then(
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
