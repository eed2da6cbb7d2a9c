/**
 * The conformance app (test/conformance/apps) on Express 5, Express 4, Fastify and Hono
 * (@hono/node-server), each with a validator of its own made by `makeValidator`, on 127.0.0.1 port 0:
 * for sending them the same raw bytes (test/support/raw-http.ts) and comparing the answers.
 *
 * @example
 * ```ts
 * const apps = await startFourAdapters(() => createValidator(options), { body: true });
 * for (const [adapter, port] of Object.entries(apps.ports)) await sendRaw(port, head);
 * await apps.close();
 * ```
 */
import type { TransportOptions, Validator } from '@tokenguard/core';
import { startExpressApp } from '../conformance/apps/express.js';
import { startExpress4App } from '../conformance/apps/express4.js';
import { startFastifyApp } from '../conformance/apps/fastify.js';
import { startHonoApp } from '../conformance/apps/hono.js';
import type { RunningApp, StartApp } from '../conformance/apps/types.js';

export const FOUR_ADAPTERS: Readonly<Record<'express' | 'express4' | 'fastify' | 'hono', StartApp>> = {
  express: startExpressApp,
  express4: startExpress4App,
  fastify: startFastifyApp,
  hono: startHonoApp,
};

export type AdapterName = keyof typeof FOUR_ADAPTERS;

export interface FourApps {
  /** Each adapter's port on 127.0.0.1. */
  ports: Record<AdapterName, number>;
  /** Closes the apps, then their validators. */
  close(): Promise<void>;
}

export async function startFourAdapters(
  makeValidator: () => Validator,
  transport: TransportOptions,
): Promise<FourApps> {
  const apps: RunningApp[] = [];
  const validators: Validator[] = [];
  const ports = {} as Record<AdapterName, number>;
  for (const [name, start] of Object.entries(FOUR_ADAPTERS) as [AdapterName, StartApp][]) {
    const validator = makeValidator();
    validators.push(validator);
    const app = await start({ validator, transport });
    apps.push(app);
    ports[name] = Number(new URL(app.url).port);
  }
  return {
    ports,
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await Promise.all(validators.map((validator) => validator.close()));
    },
  };
}

/** `values` with every adapter's entry replaced by Express 5's: what agreement looks like. */
export function asExpress<T>(values: Record<AdapterName, T>): Record<AdapterName, T> {
  return { express: values.express, express4: values.express, fastify: values.express, hono: values.express };
}
