/**
 * Per-stream dynamic metadata (Envoy's StreamInfo dynamic metadata by filter namespace), kept in
 * StreamInfo.filterState so that jwt_authn can hand `istio_authn` to RBAC without a new field on the
 * shared stream contract.
 */
import type { StreamInfo } from '../stream-info.js';
import type { DynamicMetadata } from './subject.js';

const KEY = 'envoy.dynamic_metadata';

export function readMetadata(info: StreamInfo): DynamicMetadata | undefined {
  return info.filterState?.[KEY] as DynamicMetadata | undefined;
}

/** Sets (replaces) one namespace of the stream's dynamic metadata. */
export function setMetadata(info: StreamInfo, namespace: string, value: Record<string, unknown>): void {
  const state = (info.filterState ??= {});
  const md = (state[KEY] ??= {}) as Record<string, unknown>;
  md[namespace] = value;
}

/**
 * A filter's typed_per_filter_config for the route, else its virtual host's; null means "disabled
 * here" and must not fall through to the virtual host, hence `has` rather than `??`.
 */
export function perRouteConfig(route: { perFilter: ReadonlyMap<string, unknown>; virtualHost: { perFilter: ReadonlyMap<string, unknown> } }, name: string): unknown {
  if (route.perFilter.has(name)) return route.perFilter.get(name);
  return route.virtualHost.perFilter.get(name);
}
