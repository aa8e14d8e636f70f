/**
 * Reading Envoy's ConfigDump (what a proxy's admin `/config_dump` returns): the active listeners,
 * clusters, route tables and secrets, whether static or from xDS, as plain Envoy JSON.
 */
type Json = Record<string, unknown>;

function configsOf(dump: Json, typeSuffix: string): Json[] {
  const configs = (dump.configs as Json[] | undefined) ?? [];
  return configs.filter((c) => String(c['@type'] ?? '').endsWith(typeSuffix));
}

function pick(list: unknown, key: string): Json[] {
  return ((list as Json[] | undefined) ?? []).map((e) => e[key] as Json).filter(Boolean);
}

export function listenersOf(dump: Json): Json[] {
  return configsOf(dump, 'ListenersConfigDump').flatMap((c) => [
    ...pick(c.static_listeners, 'listener'),
    ...((c.dynamic_listeners as Json[] | undefined) ?? []).map((d) => (d.active_state as Json | undefined)?.listener as Json).filter(Boolean),
  ]);
}

export function clustersOf(dump: Json): Json[] {
  return configsOf(dump, 'ClustersConfigDump').flatMap((c) => [...pick(c.static_clusters, 'cluster'), ...pick(c.dynamic_active_clusters, 'cluster')]);
}

export function routesOf(dump: Json): Json[] {
  return configsOf(dump, 'RoutesConfigDump').flatMap((c) => [...pick(c.static_route_configs, 'route_config'), ...pick(c.dynamic_route_configs, 'route_config')]);
}

export function secretsOf(dump: Json): Json[] {
  return configsOf(dump, 'SecretsConfigDump').flatMap((c) => [
    ...((c.static_secrets as Json[] | undefined) ?? []).map((s) => ({ name: s.name, ...(s.secret as Json) })),
    ...((c.dynamic_active_secrets as Json[] | undefined) ?? []).map((s) => ({ name: s.name, ...(s.secret as Json) })),
  ]);
}
