import type { LRUCache } from 'lru-cache';
import { TokenGuardError } from './errors.js';
import { boundedLru } from './lib/bounded-lru.js';
import type { ResolvedIssuerOptions } from './options.js';

/**
 * The placeholder of an issuer template.
 *
 * @example
 * ```ts
 * createValidator({ issuer: `https://login.microsoftonline.com/${TENANT_PLACEHOLDER}/v2.0`, audience, tenants: ['a'] });
 * ```
 */
export const TENANT_PLACEHOLDER = '{tenant}';

/**
 * What `{tenant}` may match: one segment of letters, digits, `-` and `_`, 1 to 128 characters. No
 * `/`, `.`, `%`, `@`, `:` or anything else that could step into another path, host or port.
 */
const TENANT_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Decides whether a tenant of an issuer template is trusted; only `true` trusts it. Called at most
 * once per tenant per `tenantTtlSec` (answers are remembered, concurrent calls shared); a throw is
 * a 503, never a 401.
 *
 * @example
 * ```ts
 * const resolveTenant: TenantResolver = async (tenant) => (await db.tenants.find(tenant))?.active === true;
 * ```
 */
export type TenantResolver = (tenant: string, context: { issuer: string }) => boolean | Promise<boolean>;

/** An issuer template after validation. */
export interface ResolvedIssuerTemplate {
  /** The issuer before and after `{tenant}`. */
  readonly prefix: string;
  readonly suffix: string;
  readonly tenants: ReadonlySet<string> | undefined;
  readonly resolveTenant: TenantResolver | undefined;
  readonly maxTenants: number;
  readonly tenantTtlSec: number;
}

/** Default bound on the concrete issuers kept per template. */
export const DEFAULT_MAX_TENANTS = 1000;
/** A tenant resolver that has not answered by then fails the request with a 503 instead of hanging it. */
export const RESOLVER_TIMEOUT_MS = 5_000;

function withDeadline<T>(value: T | Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the tenant resolver did not answer within ${ms} ms`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([Promise.resolve(value), deadline]).finally(() => clearTimeout(timer));
}

/** Default time a resolver's answer is trusted. */
export const DEFAULT_TENANT_TTL_SEC = 300;

/**
 * Whether `value` can stand for `{tenant}` in an issuer template.
 *
 * @example
 * ```ts
 * isTenantSegment('72f988bf-86f1-41af-91ab-2d7cd011db47'); // true
 * isTenantSegment('a/b'); // false
 * isTenantSegment('..'); // false
 * ```
 */
export function isTenantSegment(value: unknown): value is string {
  return typeof value === 'string' && TENANT_SEGMENT.test(value);
}

/** The per-issuer tenant fields as given, for {@link checkIssuerTemplate}. */
export interface IssuerTenantInput {
  issuer: string;
  jwksUri?: string | undefined;
  tenant?: string | undefined;
  tenants?: readonly string[] | undefined;
  resolveTenant?: TenantResolver | undefined;
  maxTenants?: number | undefined;
  tenantTtlSec?: number | undefined;
}

/**
 * The problems of an issuer's template settings, each with the option path it concerns (used by
 * the option schema to throw a `TypeError` naming it).
 */
export function checkIssuerTemplate(value: IssuerTenantInput): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const count = value.issuer.split(TENANT_PLACEHOLDER).length - 1;
  const templated = value.jwksUri?.includes(TENANT_PLACEHOLDER) === true;
  if (count === 0) {
    for (const key of ['tenants', 'resolveTenant', 'maxTenants', 'tenantTtlSec'] as const) {
      if (value[key] !== undefined) {
        issues.push({
          path: [key],
          message: `only applies to an issuer template containing ${TENANT_PLACEHOLDER}`,
        });
      }
    }
    if (templated) {
      issues.push({ path: ['jwksUri'], message: `${TENANT_PLACEHOLDER} needs an issuer template` });
    }
    return issues;
  }
  if (count > 1) {
    issues.push({ path: ['issuer'], message: `must contain ${TENANT_PLACEHOLDER} once` });
    return issues;
  }
  const sample = value.issuer.replace(TENANT_PLACEHOLDER, 'tenant');
  if (!/^https?:\/\//i.test(sample) || !URL.canParse(sample)) {
    issues.push({ path: ['issuer'], message: 'a template must be an http(s) URL' });
  }
  if ((value.tenants === undefined) === (value.resolveTenant === undefined)) {
    issues.push({
      path: ['tenants'],
      message:
        'a template needs exactly one of tenants (a list) or resolveTenant (a function); to trust every tenant, pass resolveTenant: () => true',
    });
  }
  value.tenants?.forEach((tenant, index) => {
    if (!isTenantSegment(tenant)) {
      issues.push({
        path: ['tenants', String(index)],
        message: 'must be 1-128 letters, digits, "-" or "_"',
      });
    }
  });
  if (value.tenant !== undefined) {
    issues.push({
      path: ['tenant'],
      message: `cannot be fixed on a template: ${TENANT_PLACEHOLDER} names it`,
    });
  }
  return issues;
}

/** The resolved template of an issuer, or `undefined` for an exact issuer. Call after {@link checkIssuerTemplate}. */
export function resolveIssuerTemplate(value: IssuerTenantInput): ResolvedIssuerTemplate | undefined {
  const at = value.issuer.indexOf(TENANT_PLACEHOLDER);
  if (at === -1) return undefined;
  return {
    prefix: value.issuer.slice(0, at),
    suffix: value.issuer.slice(at + TENANT_PLACEHOLDER.length),
    tenants: value.tenants === undefined ? undefined : new Set(value.tenants),
    resolveTenant: value.resolveTenant,
    maxTenants: value.maxTenants ?? DEFAULT_MAX_TENANTS,
    tenantTtlSec: value.tenantTtlSec ?? DEFAULT_TENANT_TTL_SEC,
  };
}

/**
 * The tenant `{tenant}` matches in `iss`, or `undefined` when `iss` does not have the template's
 * shape (including when the segment holds anything but letters, digits, `-` and `_`).
 *
 * @example
 * ```ts
 * matchIssuerTemplate(template, 'https://login.microsoftonline.com/abc/v2.0'); // 'abc'
 * ```
 */
export function matchIssuerTemplate(template: ResolvedIssuerTemplate, iss: string): string | undefined {
  const { prefix, suffix } = template;
  if (iss.length <= prefix.length + suffix.length) return undefined;
  if (!iss.startsWith(prefix) || !iss.endsWith(suffix)) return undefined;
  const tenant = iss.slice(prefix.length, iss.length - suffix.length);
  return isTenantSegment(tenant) ? tenant : undefined;
}

/**
 * The concrete issuer configuration for one tenant of a template: the issuer and `jwksUri` with
 * `{tenant}` substituted, and the tenant fixed.
 */
export function concreteIssuer(config: ResolvedIssuerOptions, tenant: string): ResolvedIssuerOptions {
  return {
    ...config,
    issuer: config.issuer.replace(TENANT_PLACEHOLDER, tenant),
    jwksUri: config.jwksUri?.replaceAll(TENANT_PLACEHOLDER, tenant),
    tenant,
    template: undefined,
  };
}

/**
 * The tenant of a verified token. The issuer's tenant (fixed with `tenant`, or captured by
 * `{tenant}`) wins; a `tenantClaim` fills it in for issuers that have none. A tenant claim that is
 * present but not a non-empty string, or that disagrees with the issuer's tenant, makes the token
 * invalid (401 `ERR_CLAIM_INVALID`): a tenant's own authorization server must not be able to mint
 * tokens that speak for another tenant.
 *
 * @example
 * ```ts
 * readTokenTenant({ tid: 'a' }, { tenant: undefined, tenantClaim: 'tid' }); // 'a'
 * readTokenTenant({ tid: 'b' }, { tenant: 'a', tenantClaim: 'tid' }); // throws ERR_CLAIM_INVALID
 * ```
 */
export function readTokenTenant(
  claims: Readonly<Record<string, unknown>>,
  config: Pick<ResolvedIssuerOptions, 'tenant' | 'tenantClaim'>,
): string | undefined {
  const { tenant, tenantClaim } = config;
  if (tenantClaim === undefined || !Object.hasOwn(claims, tenantClaim)) return tenant;
  const value = claims[tenantClaim];
  if (typeof value !== 'string' || value === '') {
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      claim: tenantClaim,
      message: `The ${tenantClaim} claim is not a non-empty string`,
    });
  }
  if (tenant !== undefined && value !== tenant) {
    throw new TokenGuardError('ERR_CLAIM_INVALID', {
      claim: tenantClaim,
      message: `The ${tenantClaim} claim names another tenant than the token's issuer`,
    });
  }
  return value;
}

/**
 * Selects the configuration of a token's issuer from the allow-list. The unverified `iss` is only
 * looked up, never fetched: an issuer that is not listed (exactly, or as a tenant of a template that
 * the tenant list or resolver admits) is rejected before any network request.
 */
export interface IssuerRegistry<C> {
  /**
   * The context of `iss`, or `ERR_ISSUER_MISMATCH` (thrown, or a rejection when a resolver runs).
   * May call a template's resolver; never makes a network request itself.
   */
  select(iss: string): C | Promise<C>;
  /**
   * The context of `iss` if it is trusted now without asking: an exact issuer, a listed tenant kept,
   * or a resolved tenant whose answer is younger than `tenantTtlSec`. No resolver call, no side effect.
   */
  get(iss: string): C | undefined;
  /** Exact issuers and the concrete issuers of templates currently kept. */
  values(): C[];
  /** Exact issuers, plus contexts for the listed tenants of templates (up to `maxTenants` each), for warming. */
  listed(): C[];
}

interface TemplateEntry<C> {
  readonly config: ResolvedIssuerOptions;
  readonly template: ResolvedIssuerTemplate;
  /** Concrete issuers, least recently used evicted first: bounded memory whatever the resolver admits. */
  readonly kept: LRUCache<string, { context: C; checkedAtMs: number }>;
  /** Tenants the resolver refused, and when that answer expires. */
  readonly refused: LRUCache<string, number>;
  /**
   * When the resolver last said yes, by tenant: kept apart from `kept` (and ten times as many), so a
   * tenant whose issuer `maxTenants` evicted is not asked again before `tenantTtlSec` is over.
   */
  readonly trusted: LRUCache<string, number>;
  readonly pending: Map<string, Promise<C>>;
}

/**
 * Creates the issuer registry of a validator.
 *
 * @example
 * ```ts
 * const registry = createIssuerRegistry(options.issuers, (config) => createContext(config), Date.now);
 * const context = await registry.select(payload.iss);
 * ```
 */
export function createIssuerRegistry<C>(
  issuers: readonly ResolvedIssuerOptions[],
  createContext: (config: ResolvedIssuerOptions) => C,
  now: () => number,
): IssuerRegistry<C> {
  const exact = new Map<string, C>();
  const templates: TemplateEntry<C>[] = [];
  for (const config of issuers) {
    const { template } = config;
    if (template === undefined) {
      exact.set(config.issuer, createContext(config));
    } else {
      templates.push({
        config,
        template,
        kept: boundedLru(template.maxTenants),
        refused: boundedLru(answersKept(template.maxTenants)),
        trusted: boundedLru(answersKept(template.maxTenants)),
        pending: new Map(),
      });
    }
  }

  const mismatch = (): TokenGuardError =>
    new TokenGuardError('ERR_ISSUER_MISMATCH', { message: 'The token issuer is not one this API trusts' });

  function contextFor(entry: TemplateEntry<C>, tenant: string, checkedAtMs = now()): C {
    const found = entry.kept.get(tenant);
    if (found !== undefined) return found.context;
    const context = createContext(concreteIssuer(entry.config, tenant));
    entry.kept.set(tenant, { context, checkedAtMs });
    return context;
  }

  async function resolve(entry: TemplateEntry<C>, tenant: string, issuer: string): Promise<C> {
    const resolver = entry.template.resolveTenant as TenantResolver;
    let verdict: unknown;
    try {
      verdict = await withDeadline(resolver(tenant, { issuer }), RESOLVER_TIMEOUT_MS);
    } catch (error) {
      throw new TokenGuardError('ERR_KEYS_UNAVAILABLE', {
        message: "The tenant resolver failed, so the token's issuer cannot be checked right now",
        cause: error,
        retryAfterSec: 5,
      });
    }
    const ttlMs = entry.template.tenantTtlSec * 1000;
    if (verdict !== true) {
      entry.kept.delete(tenant);
      entry.trusted.delete(tenant);
      entry.refused.set(tenant, now() + ttlMs);
      throw mismatch();
    }
    entry.refused.delete(tenant);
    entry.trusted.set(tenant, now());
    const kept = entry.kept.get(tenant);
    if (kept !== undefined) {
      // Still trusted: keep the context (and its cached keys), restart the clock.
      kept.checkedAtMs = now();
      return kept.context;
    }
    return contextFor(entry, tenant);
  }

  function selectTemplate(entry: TemplateEntry<C>, tenant: string, issuer: string): C | Promise<C> {
    const { template } = entry;
    if (template.tenants !== undefined) {
      if (!template.tenants.has(tenant)) throw mismatch();
      return contextFor(entry, tenant);
    }
    const time = now();
    const kept = entry.kept.get(tenant);
    const ttlMs = template.tenantTtlSec * 1000;
    if (kept !== undefined && time - kept.checkedAtMs < ttlMs) return kept.context;
    // Trusted within the TTL, its issuer evicted by maxTenants since: made again, not asked again.
    const trustedAtMs = kept === undefined ? entry.trusted.get(tenant) : undefined;
    if (trustedAtMs !== undefined && time - trustedAtMs < ttlMs)
      return contextFor(entry, tenant, trustedAtMs);
    const refusedUntil = entry.refused.get(tenant);
    if (refusedUntil !== undefined) {
      if (time < refusedUntil) throw mismatch();
      entry.refused.delete(tenant);
    }
    let pending = entry.pending.get(tenant);
    if (pending === undefined) {
      pending = resolve(entry, tenant, issuer).finally(() => entry.pending.delete(tenant));
      entry.pending.set(tenant, pending);
    }
    return pending;
  }

  let lastExact: { readonly iss: string; readonly context: C } | undefined;
  return {
    select(iss) {
      // The exact issuer used last, compared in place: a service usually trusts one issuer.
      if (iss === lastExact?.iss) return lastExact.context;
      const context = exact.get(iss);
      if (context !== undefined) {
        lastExact = { iss, context };
        return context;
      }
      for (const entry of templates) {
        const tenant = matchIssuerTemplate(entry.template, iss);
        // The first template with this shape decides; a refusal does not fall through to the next.
        if (tenant !== undefined) return selectTemplate(entry, tenant, iss);
      }
      throw mismatch();
    },
    get(iss) {
      const context = exact.get(iss);
      if (context !== undefined) return context;
      for (const entry of templates) {
        const tenant = matchIssuerTemplate(entry.template, iss);
        if (tenant === undefined) continue;
        const kept = entry.kept.peek(tenant);
        if (kept === undefined) return undefined;
        const fresh =
          entry.template.tenants !== undefined ||
          now() - kept.checkedAtMs < entry.template.tenantTtlSec * 1000;
        return fresh ? kept.context : undefined;
      }
      return undefined;
    },
    values() {
      const all = [...exact.values()];
      for (const entry of templates) for (const kept of entry.kept.values()) all.push(kept.context);
      return all;
    },
    listed() {
      const all = [...exact.values()];
      for (const entry of templates) {
        const tenants = [...(entry.template.tenants ?? [])].slice(0, entry.template.maxTenants);
        for (const tenant of tenants) all.push(contextFor(entry, tenant));
      }
      return all;
    },
  };
}

/** Resolver answers kept per template: ten per concrete issuer kept, at most 100,000 (a few MB). */
function answersKept(maxTenants: number): number {
  return Math.min(maxTenants * 10, 100_000);
}
