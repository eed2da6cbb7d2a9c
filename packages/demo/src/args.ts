import { parseArgs } from 'node:util';
import type { Framework } from './api.js';

/** The frameworks `--framework` accepts, the default first. */
export const FRAMEWORKS: readonly Framework[] = ['express', 'fastify', 'hono'];

/** The demo's usage line, printed on `--help` and after a usage error. */
export const DEMO_USAGE = 'Usage: pnpm demo [--framework express|fastify|hono]\n';

/**
 * What the demo was asked to do: print its usage, or run with a framework.
 *
 * @example
 * ```ts
 * const args: DemoArgs = parseDemoArgs(process.argv.slice(2));
 * if (!args.help) console.log(args.framework);
 * ```
 */
export type DemoArgs = { readonly help: true } | { readonly help: false; readonly framework: Framework };

/**
 * A mistake on the demo's command line (code `ERR_DEMO_USAGE`): printed with {@link DEMO_USAGE}, exit code 2.
 *
 * @example
 * ```ts
 * try { parseDemoArgs(['--bogus']); } catch (error) { if (error instanceof DemoUsageError) console.error(error.message); }
 * ```
 */
export class DemoUsageError extends Error {
  override readonly name = 'DemoUsageError';
  readonly code = 'ERR_DEMO_USAGE';
}

const isFramework = (value: string): value is Framework => (FRAMEWORKS as readonly string[]).includes(value);

/**
 * Parses the demo's arguments (without `node` and the script). A leading `--` is ignored, so
 * `pnpm demo -- --framework hono` works as `pnpm demo --framework hono` does. Throws a
 * {@link DemoUsageError} that says what is wrong, never node:util's own parse errors.
 *
 * @example
 * ```ts
 * parseDemoArgs(['--framework', 'fastify']); // { help: false, framework: 'fastify' }
 * ```
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const { tokens } = parseArgs({
    args,
    options: { framework: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let help = false;
  let framework: Framework = 'express';
  for (const token of tokens) {
    if (token.kind === 'positional') {
      const hint = isFramework(token.value) ? ` (to pick a framework: --framework ${token.value})` : '';
      throw new DemoUsageError(`unexpected argument "${token.value}"${hint}`);
    }
    if (token.kind !== 'option') continue;
    if (token.name === 'help') {
      if (token.value !== undefined) throw new DemoUsageError('--help takes no value');
      help = true;
    } else if (token.name === 'framework') {
      if (token.value === undefined) {
        throw new DemoUsageError(
          `--framework needs a value: ${FRAMEWORKS.slice(0, -1).join(', ')} or ${FRAMEWORKS.at(-1)}`,
        );
      }
      if (!isFramework(token.value)) {
        throw new DemoUsageError(
          `--framework must be one of ${FRAMEWORKS.join(', ')} (got "${token.value}")`,
        );
      }
      framework = token.value;
    } else {
      throw new DemoUsageError(`unknown option ${token.rawName}`);
    }
  }
  return help ? { help: true } : { help: false, framework };
}
