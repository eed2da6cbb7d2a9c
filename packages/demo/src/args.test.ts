import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSource, type SourceRun } from '../../../test/support/run-source.js';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from './args.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Runs the demo's entry point as `pnpm demo` does (tsx on the sources), with `args`. */
function runMain(args: readonly string[]): Promise<SourceRun> {
  return runSource(MAIN, args);
}

describe('parseDemoArgs', () => {
  it('defaults to express and takes --framework as two arguments or with =', () => {
    expect(parseDemoArgs([])).toEqual({ help: false, framework: 'express' });
    expect(parseDemoArgs(['--framework', 'fastify'])).toEqual({ help: false, framework: 'fastify' });
    expect(parseDemoArgs(['--framework=hono'])).toEqual({ help: false, framework: 'hono' });
  });

  it('ignores a leading "--" (as in "pnpm demo -- --framework hono", the npm habit)', () => {
    expect(parseDemoArgs(['--', '--framework', 'hono'])).toEqual({ help: false, framework: 'hono' });
  });

  it('answers --help and -h', () => {
    expect(parseDemoArgs(['--help'])).toEqual({ help: true });
    expect(parseDemoArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--framework', 'koa'], '--framework must be one of express, fastify, hono (got "koa")'],
    [['--framework'], '--framework needs a value: express, fastify or hono'],
    [['--bogus'], 'unknown option --bogus'],
    [['-x'], 'unknown option -x'],
    [['fastify'], 'unexpected argument "fastify" (to pick a framework: --framework fastify)'],
    [['--help=yes'], '--help takes no value'],
  ])('refuses %j with a DemoUsageError saying %j', (argv, message) => {
    let thrown: unknown;
    try {
      parseDemoArgs(argv);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DemoUsageError);
    expect((thrown as DemoUsageError).code).toBe('ERR_DEMO_USAGE');
    expect((thrown as DemoUsageError).message).toBe(message);
  });
});

describe('the demo on a bad command line', () => {
  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['--framework'], '--framework needs a value: express, fastify or hono'],
    [['fastify'], 'unexpected argument "fastify" (to pick a framework: --framework fastify)'],
    [['--framework', 'koa'], '--framework must be one of express, fastify, hono (got "koa")'],
  ])(
    '%j: exits 2 with the reason and the usage, no stack trace, before starting anything',
    { timeout: 30_000 },
    async (args, reason) => {
      const run = await runMain(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`demo: ${reason}\n${DEMO_USAGE}`);
    },
  );

  it('prints the usage on --help and exits 0', { timeout: 30_000 }, async () => {
    const run = await runMain(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(DEMO_USAGE);
    expect(run.stderr).toBe('');
  });
});
