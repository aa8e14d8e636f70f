/**
 * The JSON bodies of the control plane's debug endpoints: syncz (what each proxy was sent and what it
 * acknowledged, like istioctl proxy-status) and config_dump (what one proxy was sent, shaped like
 * Envoy's admin ConfigDump so tools that read Envoy's dump read ours).
 */
import type { JsonObject, JsonValue } from './envoy-json.js';
import type { ProxyConnection, WatchState } from './proxy-connection.js';
import { TypeUrl, shortTypeName } from './protos.js';

export interface SyncStatusEntry {
  proxy: string;
  connectionId: string;
  connectedAt: string;
  /** 'sotw' (state of the world) or 'delta'. */
  protocol: string;
  /** Per type short name (CDS, EDS, LDS, RDS, SDS). */
  types: Record<string, TypeSyncStatus>;
}

export interface TypeSyncStatus {
  typeUrl: string;
  subscribed: string[] | '*';
  sentVersion: string | null;
  sentNonce: string | null;
  ackedVersion: string | null;
  /** The version the proxy said it ran when it subscribed on this stream (config carried over a reconnect). */
  resumedFrom: string | null;
  /** SYNCED (acked what was sent), STALE (sent, not yet answered), NACKED (last answer was a rejection). */
  state: 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';
  lastNack: { version: string; rejectedNonce: string; message: string; at: string } | null;
}

function typeStatus(w: WatchState): TypeSyncStatus {
  let state: TypeSyncStatus['state'] = 'NOT_SENT';
  if (w.sentNonce !== undefined) {
    if (w.lastNack && w.lastNack.rejectedNonce === w.sentNonce) state = 'NACKED';
    else if (w.ackedVersion === w.sentVersion) state = 'SYNCED';
    else state = 'STALE';
  }
  return {
    typeUrl: w.typeUrl,
    subscribed: w.names.length === 0 && (w.typeUrl === TypeUrl.Listener || w.typeUrl === TypeUrl.Cluster) ? '*' : [...w.names],
    sentVersion: w.sentVersion ?? null,
    sentNonce: w.sentNonce ?? null,
    ackedVersion: w.ackedVersion ?? null,
    resumedFrom: w.resumedFrom ?? null,
    state,
    lastNack: w.lastNack ? { ...w.lastNack, at: w.lastNack.at.toISOString() } : null,
  };
}

export function syncz(connections: readonly ProxyConnection[]): SyncStatusEntry[] {
  return connections
    .map((c) => {
      const types: Record<string, TypeSyncStatus> = {};
      for (const [type, w] of c.watches) types[shortTypeName(type)] = typeStatus(w);
      return { proxy: c.id, connectionId: c.connectionId, connectedAt: c.connectedAt.toISOString(), protocol: c.protocol, types };
    })
    .sort((a, b) => (a.proxy < b.proxy ? -1 : a.proxy > b.proxy ? 1 : 0));
}

const DUMP_TYPE = 'type.googleapis.com/envoy.admin.v3.';

/** Envoy-admin-like ConfigDump of what the server last sent this proxy (resources carry their "@type"). */
export function configDump(conn: ProxyConnection): JsonObject {
  const configs: JsonValue[] = [];
  const get = (t: string): WatchState | undefined => conn.watches.get(t as never);
  const at = (w: WatchState): string | null => w.sentAt?.toISOString() ?? null;
  const typed = (t: string, r: JsonObject): JsonObject => ({ '@type': t, ...r });
  const entries = (w: WatchState | undefined): Array<[string, JsonObject]> =>
    w ? [...w.sentResources].map(([name, encoded]): [string, JsonObject] => [name, encoded.resource]) : [];

  configs.push({ '@type': `${DUMP_TYPE}BootstrapConfigDump`, bootstrap: { node: conn.node } });
  const cds = get(TypeUrl.Cluster);
  configs.push({
    '@type': `${DUMP_TYPE}ClustersConfigDump`,
    version_info: cds?.sentVersion ?? '',
    dynamic_active_clusters: entries(cds).map(([, r]) => ({ version_info: cds!.sentVersion!, cluster: typed(TypeUrl.Cluster, r), last_updated: at(cds!) })),
  });
  const eds = get(TypeUrl.ClusterLoadAssignment);
  configs.push({
    '@type': `${DUMP_TYPE}EndpointsConfigDump`,
    dynamic_endpoint_configs: entries(eds).map(([, r]) => ({
      version_info: eds!.sentVersion!,
      endpoint_config: typed(TypeUrl.ClusterLoadAssignment, r),
      last_updated: at(eds!),
    })),
  });
  const lds = get(TypeUrl.Listener);
  configs.push({
    '@type': `${DUMP_TYPE}ListenersConfigDump`,
    version_info: lds?.sentVersion ?? '',
    dynamic_listeners: entries(lds).map(([name, r]) => ({
      name,
      active_state: { version_info: lds!.sentVersion!, listener: typed(TypeUrl.Listener, r), last_updated: at(lds!) },
    })),
  });
  const rds = get(TypeUrl.RouteConfiguration);
  configs.push({
    '@type': `${DUMP_TYPE}RoutesConfigDump`,
    dynamic_route_configs: entries(rds).map(([, r]) => ({
      version_info: rds!.sentVersion!,
      route_config: typed(TypeUrl.RouteConfiguration, r),
      last_updated: at(rds!),
    })),
  });
  const sds = get(TypeUrl.Secret);
  configs.push({
    '@type': `${DUMP_TYPE}SecretsConfigDump`,
    dynamic_active_secrets: entries(sds).map(([name, r]) => ({
      name,
      version_info: sds!.sentVersion!,
      last_updated: at(sds!),
      secret: typed(TypeUrl.Secret, r),
    })),
  });
  return { configs };
}
