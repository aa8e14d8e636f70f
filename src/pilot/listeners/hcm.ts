/** The HTTP connection manager as Istio configures it on sidecar and gateway listeners. */
import type { JsonObject } from '../../proxy/config/fields.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

/** Istio's mesh default `accessLogFile: /dev/stdout` with its default text format. */
export function accessLog(): JsonObject[] {
  return [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: '/dev/stdout' } }];
}

/** Istio's standard metrics (istio_requests_total, istio_tcp_*), as Istio configures its stats plugin. */
export function istioStats(): JsonObject {
  return { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/stats.PluginConfig', value: {} } };
}

/**
 * Istio's metadata exchange between sidecars (x-envoy-peer-metadata headers): the server side learns
 * the caller from the request and answers with itself; the client side introduces itself and learns
 * the server from the response. The stats filter after it reads what it learned.
 */
export function peerMetadata(direction: HcmOptions['direction']): JsonObject {
  const headers: JsonObject[] = [{ istio_headers: {} }];
  const value: JsonObject = direction === 'inbound' ? { downstream_discovery: headers, downstream_propagation: headers } : { upstream_discovery: headers, upstream_propagation: headers };
  // In a TypedStruct, as for istio.stats: Istio's own filter protos are not among Envoy's.
  return { name: 'istio.peer_metadata', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value } };
}

function httpFilters(extra: JsonObject[], direction: HcmOptions['direction']): JsonObject[] {
  return [
    ...extra,
    peerMetadata(direction),
    istioStats(),
    { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
    { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } },
    { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
  ];
}

export interface HcmOptions {
  statPrefix: string;
  /** RDS route table name, or an inline route configuration. */
  rds?: string;
  routeConfig?: JsonObject;
  direction: 'outbound' | 'inbound' | 'gateway';
  /** Filters before CORS/fault/router (RBAC on inbound). */
  extraFilters?: JsonObject[];
  /** The `tracing` block (listeners/tracing.ts), when the mesh traces. */
  tracing?: JsonObject;
}

export function httpConnectionManager(o: HcmOptions): JsonObject {
  const cfg: JsonObject = {
    '@type': HCM_TYPE,
    stat_prefix: o.statPrefix,
    http_filters: httpFilters(o.extraFilters ?? [], o.direction),
    access_log: accessLog(),
    use_remote_address: o.direction === 'gateway',
    normalize_path: true,
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    stream_idle_timeout: '0s',
  };
  if (o.tracing) cfg.tracing = o.tracing;
  if (o.rds !== undefined) cfg.rds = { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: o.rds };
  else cfg.route_config = o.routeConfig ?? {};
  if (o.direction === 'inbound') {
    // The server sidecar tells the app who called, as Istio does (X-Forwarded-Client-Cert).
    cfg.forward_client_cert_details = 'APPEND_FORWARD';
    cfg.set_current_client_cert_details = { subject: true, dns: true, uri: true };
  }
  return { name: HCM_FILTER, typed_config: cfg };
}

export interface WeightedCluster {
  name: string;
  weight: number;
}

export function tcpProxy(statPrefix: string, target: string | WeightedCluster[], idleTimeout?: string): JsonObject {
  const cfg: JsonObject = { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, access_log: accessLog() };
  if (typeof target === 'string') cfg.cluster = target;
  else if (target.length === 1) cfg.cluster = target[0].name;
  else cfg.weighted_clusters = { clusters: target.map((c) => ({ name: c.name, weight: c.weight })) };
  if (idleTimeout) cfg.idle_timeout = idleTimeout;
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: cfg };
}

/** tcp_proxy preceded by the stats filter, so TCP connections report istio_tcp_* as in Istio. */
export function reportedTcpProxy(statPrefix: string, target: string | WeightedCluster[], idleTimeout?: string): JsonObject[] {
  return [istioStats(), tcpProxy(statPrefix, target, idleTimeout)];
}

export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}
