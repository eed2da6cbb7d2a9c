import type { ResolvedAdapterOptions } from '@tokenguard/core';
import type { FastifyRequest } from 'fastify';
import { NO_CONFIG, type RouteConfig, routeConfigOf } from './route-context.js';

/**
 * The plugin settings that authenticate each route, by the route's config (the object Fastify keeps
 * for the route, the same for all its requests), for the guards that run after: recorded once per
 * route, when the plugin's hook first compiles it, so a request carries nothing more. A request
 * decorator would cost every request of the app: a second decorated field makes the store in
 * Fastify's request constructor megamorphic.
 */
const settingsOfRoute = new WeakMap<RouteConfig, ResolvedAdapterOptions>();

/** Records that `settings`' hook authenticates the route whose config is `config` (the last one to run wins). */
export function setRouteContext(config: RouteConfig, settings: ResolvedAdapterOptions): void {
  settingsOfRoute.set(config, settings);
}

/** The settings of the plugin that authenticates `request`'s route, or `undefined` (none does). */
export function getContext(request: FastifyRequest): ResolvedAdapterOptions | undefined {
  return settingsOfRoute.get(routeConfigOf(request) ?? NO_CONFIG);
}
