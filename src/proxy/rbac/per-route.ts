/**
 * Per-route config for the rbac and jwt_authn HTTP filters: the route's typed_per_filter_config
 * entry, else its virtual host's. null means "disabled here" and must not fall through to the
 * virtual host, hence `has` rather than `??`.
 */
export function perRouteConfig(route: { perFilter: ReadonlyMap<string, unknown>; virtualHost: { perFilter: ReadonlyMap<string, unknown> } }, name: string): unknown {
  if (route.perFilter.has(name)) return route.perFilter.get(name);
  return route.virtualHost.perFilter.get(name);
}
