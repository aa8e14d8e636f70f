/**
 * HTTP filters register here by the `@type` of their typed_config, like network filters do with
 * registerNetworkFilter: the HCM compiles its `http_filters` list through this table, and route
 * tables compile `typed_per_filter_config` entries through the per-route compilers.
 */
import type { ProxyContext } from '../context.js';
import type { JsonObject } from '../config/fields.js';
import type { HttpFilter } from './http-filter.js';

export type HttpFilterFactory = (typedConfig: JsonObject, ctx: ProxyContext, path: string, name: string) => HttpFilter;
export type PerRouteConfigCompiler = (typedConfig: JsonObject, path: string) => unknown;

const factories = new Map<string, HttpFilterFactory>();
const perRoute = new Map<string, PerRouteConfigCompiler>();

export function registerHttpFilter(typeUrl: string, factory: HttpFilterFactory): void {
  factories.set(typeUrl, factory);
}

export function httpFilterFactory(typeUrl: string): HttpFilterFactory | undefined {
  return factories.get(typeUrl);
}

export function registerPerRouteConfig(typeUrl: string, compile: PerRouteConfigCompiler): void {
  perRoute.set(typeUrl, compile);
}

export function perRouteConfigCompiler(typeUrl: string): PerRouteConfigCompiler | undefined {
  return perRoute.get(typeUrl);
}
