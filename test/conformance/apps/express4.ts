import express4 from 'express4';
import { type BodyParser, expressAppStarter } from './express.js';
import type { StartApp } from './types.js';

// Express 4 (`express4`: express@4.22.3 under an alias), which `@tokenguard/express` supports as a
// peer. Typed with Express 5's declarations (see `express4-module.d.ts`).

/** The conformance routes on Express 4. */
export const startExpress4App: StartApp = expressAppStarter(express4);

/** The conformance routes on Express 4 after the app's own body parsers. */
export const startExpress4AppAfter = (...bodyParsers: BodyParser[]): StartApp =>
  expressAppStarter(express4, { bodyParsers });
