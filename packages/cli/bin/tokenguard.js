#!/usr/bin/env node
// The `tokenguard` command: the compiled CLI (dist/, built by `pnpm build` and published). Committed so
// a fresh clone's install can link the command before anything is built; then it says how to build.
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bin.js')) throw error;
  process.stderr.write(
    'tokenguard: the CLI is not built yet. Run `pnpm build` at the repository root, or run it from the\n' +
      'sources with `pnpm tokenguard <command> ...` there.\n',
  );
  process.exitCode = 2;
}
