#!/usr/bin/env node
import { dropOutputOnClosedPipe } from './pipes.js';
import { runCli } from './run.js';

dropOutputOnClosedPipe(process.stdout);
dropOutputOnClosedPipe(process.stderr);
process.exitCode = await runCli(process.argv.slice(2), process);
