import type { AuthInfo, TransportOptions, Validator } from '@tokenguard/core';

/** What every conformance app is built from: one validator and the accepted token transports. */
export interface AppSetup {
  validator: Validator;
  transport: TransportOptions;
}

/** A conformance app listening on 127.0.0.1. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

export type StartApp = (setup: AppSetup) => Promise<RunningApp>;

/**
 * The body every app answers with on success, built the same way everywhere so the table can
 * compare adapters: who called, with which scopes, from which tenant, validated how.
 */
export function describeCaller(auth: AuthInfo | null | undefined): Record<string, unknown> {
  if (auth == null) return { anonymous: true };
  return {
    subject: auth.subject ?? null,
    clientId: auth.clientId ?? null,
    scopes: [...auth.scopes].sort(),
    tenant: auth.tenant ?? null,
    source: auth.source,
  };
}

/** The route required by the `/admin` claim guard: a client id no token has. */
export const ADMIN_CLAIM = { claim: 'client_id', equals: 'nobody' } as const;
