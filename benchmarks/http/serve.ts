/**
 * Serves one benchmark app until killed, for profiling (`node --cpu-prof`) with autocannon run
 * from another shell:
 *   npx tsx http/serve.ts <express|fastify|hono> <none|noop|tokenguard|tokenguard-off-thread|tokenguard-validate|peer>
 *   (Hono also tokenguard-protect: the adapter's auth.protect(handler) as the route's one handler)
 * Prints the URL and the `Authorization` value of a reused token on stdout.
 */

import { generateBenchKey, signPool } from '../lib/tokens.js';
import { AUTH_MODES, type AuthMode, FRAMEWORKS, type Framework, startApp } from './apps.js';
import { startBenchIssuer } from './issuer.js';

const [framework = 'express', mode = 'none'] = process.argv.slice(2);
if (!(FRAMEWORKS as readonly string[]).includes(framework)) throw new TypeError(`framework: ${framework}`);
if (!AUTH_MODES.includes(mode as AuthMode)) throw new TypeError(`mode: ${mode}`);
const key = generateBenchKey('RS256');
const issuer = await startBenchIssuer({ keys: [key.jwk] });
const [token] = signPool(key, 1, 0, { iss: issuer.issuer });
const app = await startApp(framework as Framework, mode as AuthMode, issuer);
console.log(JSON.stringify({ url: app.url, authorization: `Bearer ${token}` }));
const stop = async () => {
  await app.close();
  await issuer.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
