export { type CliArgs, type InspectArgs, parseCliArgs, type VerifyArgs } from './args.js';
export type { Check, CheckId } from './checks.js';
export { type DecodedToken, type DecodeFailure, decodeToken } from './decode.js';
export { type CliIo, runCli } from './run.js';
export { EXIT, USAGE, UsageError } from './usage.js';
export type { Verdict } from './verdict.js';
export { type VerifyEnvironment, type VerifyReport, verifyToken } from './verify.js';
