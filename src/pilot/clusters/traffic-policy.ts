/**
 * DestinationRule TrafficPolicy → the fields of an Envoy Cluster: load balancer, circuit breakers,
 * HTTP protocol options and outlier detection, with Istio's defaults where the rule says nothing
 * (LEAST_REQUEST, unlimited circuit breakers, 10 s connect timeout, 1 h idle timeout).
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { istioToProtoDuration } from '../duration.js';

export const MAX_UINT32 = 4294967295;
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface LoadBalancerSettings {
  simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
  localityLbSetting?: LocalityLbSetting;
}

export interface LocalityLbSetting {
  enabled?: boolean;
  distribute?: Array<{ from: string; to: Record<string, number> }>;
  failover?: Array<{ from: string; to: string }>;
  failoverPriority?: string[];
}

export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeout?: string; tcpKeepalive?: { probes?: number; time?: string; interval?: string }; maxConnectionDuration?: string; idleTimeout?: string };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface ClientTlsSettings {
  mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  credentialName?: string;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  sni?: string;
  subjectAltNames?: string[];
  insecureSkipVerify?: boolean;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTlsSettings;
  portLevelSettings?: Array<{ port?: { number?: number } } & Omit<TrafficPolicy, 'portLevelSettings'>>;
}

/**
 * The policy in force for one port of one subset: the subset's policy overrides the service's one
 * field by field, and a port-level entry for that port overrides both, as Istio merges them.
 */
export function effectivePolicy(service: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): TrafficPolicy {
  const out: TrafficPolicy = {};
  for (const layer of [service, subset]) {
    if (!layer) continue;
    overlay(out, layer);
    const portLevel = layer.portLevelSettings?.find((p) => p.port?.number === port);
    if (portLevel) overlay(out, portLevel);
  }
  return out;
}

/** Each field `from` sets replaces the one in `out` whole (Istio does not merge inside a field). */
function overlay(out: TrafficPolicy, from: Omit<TrafficPolicy, 'portLevelSettings'>): void {
  if (from.loadBalancer) out.loadBalancer = from.loadBalancer;
  if (from.connectionPool) out.connectionPool = from.connectionPool;
  if (from.outlierDetection) out.outlierDetection = from.outlierDetection;
  if (from.tls) out.tls = from.tls;
}

function nonNegativeInt(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new SailfinError('schema', `must be a non-negative integer, got ${JSON.stringify(value)}`, { field });
  return value;
}

/** Istio's simple load balancers as Envoy lb_policy; unset is Istio's default, LEAST_REQUEST. */
const SIMPLE_LB_POLICY: ReadonlyMap<string, string> = new Map([
  ['UNSPECIFIED', 'LEAST_REQUEST'],
  ['LEAST_CONN', 'LEAST_REQUEST'],
  ['LEAST_REQUEST', 'LEAST_REQUEST'],
  ['ROUND_ROBIN', 'ROUND_ROBIN'],
  ['RANDOM', 'RANDOM'],
  ['PASSTHROUGH', 'CLUSTER_PROVIDED'],
]);

/** lb_policy and its config; PASSTHROUGH is handled by the caller, which makes the cluster ORIGINAL_DST. */
export function applyLoadBalancer(cluster: JsonObject, lb: LoadBalancerSettings | undefined, field: string): void {
  const ch = lb?.consistentHash;
  if (ch) {
    if (ch.maglev) {
      cluster.lb_policy = 'MAGLEV';
      if (ch.maglev.tableSize !== undefined) cluster.maglev_lb_config = { table_size: nonNegativeInt(ch.maglev.tableSize, `${field}.consistentHash.maglev.tableSize`)! };
    } else {
      cluster.lb_policy = 'RING_HASH';
      const min = ch.ringHash?.minimumRingSize ?? ch.minimumRingSize;
      if (min !== undefined) cluster.ring_hash_lb_config = { minimum_ring_size: nonNegativeInt(min, `${field}.consistentHash.ringHash.minimumRingSize`)! };
    }
    return;
  }
  const policy = SIMPLE_LB_POLICY.get(lb?.simple ?? 'UNSPECIFIED');
  if (!policy) throw new SailfinError('schema', `unknown load balancer "${String(lb?.simple)}"`, { field: `${field}.simple` });
  cluster.lb_policy = policy;
}

/** The route-side half of consistent hashing: what to hash each request on. */
export function hashPolicyFor(lb: LoadBalancerSettings | undefined, field: string): JsonObject[] | undefined {
  const ch = lb?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ header: { header_name: ch.httpHeaderName } }];
  if (ch.httpCookie) {
    const cookie: JsonObject = { name: ch.httpCookie.name };
    if (ch.httpCookie.path) cookie.path = ch.httpCookie.path;
    if (ch.httpCookie.ttl !== undefined) cookie.ttl = istioToProtoDuration(ch.httpCookie.ttl, `${field}.consistentHash.httpCookie.ttl`);
    return [{ cookie }];
  }
  if (ch.useSourceIp) return [{ connection_properties: { source_ip: true } }];
  if (ch.httpQueryParameterName) return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  throw new SailfinError('schema', 'consistentHash needs one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName', { field: `${field}.consistentHash` });
}

export function applyConnectionPool(cluster: JsonObject, pool: ConnectionPoolSettings | undefined, field: string, http2: boolean): void {
  const tcp = pool?.tcp;
  const http = pool?.http;
  cluster.connect_timeout = tcp?.connectTimeout !== undefined ? istioToProtoDuration(tcp.connectTimeout, `${field}.tcp.connectTimeout`) : '10s';
  cluster.circuit_breakers = {
    thresholds: [
      {
        max_connections: nonNegativeInt(tcp?.maxConnections, `${field}.tcp.maxConnections`) ?? MAX_UINT32,
        max_pending_requests: nonNegativeInt(http?.http1MaxPendingRequests, `${field}.http.http1MaxPendingRequests`) ?? MAX_UINT32,
        max_requests: nonNegativeInt(http?.http2MaxRequests, `${field}.http.http2MaxRequests`) ?? MAX_UINT32,
        max_retries: nonNegativeInt(http?.maxRetries, `${field}.http.maxRetries`) ?? MAX_UINT32,
        track_remaining: true,
      },
    ],
  };
  if (tcp?.tcpKeepalive) {
    const ka: JsonObject = {};
    if (tcp.tcpKeepalive.probes !== undefined) ka.keepalive_probes = tcp.tcpKeepalive.probes;
    if (tcp.tcpKeepalive.time !== undefined) ka.keepalive_time = Math.round(Number(istioToProtoDuration(tcp.tcpKeepalive.time, `${field}.tcp.tcpKeepalive.time`).slice(0, -1)));
    if (tcp.tcpKeepalive.interval !== undefined) ka.keepalive_interval = Math.round(Number(istioToProtoDuration(tcp.tcpKeepalive.interval, `${field}.tcp.tcpKeepalive.interval`).slice(0, -1)));
    cluster.upstream_connection_options = { tcp_keepalive: ka };
  }
  const common: JsonObject = { idle_timeout: http?.idleTimeout !== undefined ? istioToProtoDuration(http.idleTimeout, `${field}.http.idleTimeout`) : '3600s' };
  const maxPerConn = nonNegativeInt(http?.maxRequestsPerConnection, `${field}.http.maxRequestsPerConnection`);
  if (maxPerConn) common.max_requests_per_connection = maxPerConn;
  if (tcp?.maxConnectionDuration !== undefined) common.max_connection_duration = istioToProtoDuration(tcp.maxConnectionDuration, `${field}.tcp.maxConnectionDuration`);
  const upgrade = http?.h2UpgradePolicy === 'UPGRADE';
  const options: JsonObject = { '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`, common_http_protocol_options: common };
  if (http?.useClientProtocol) options.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
  else if (http2 || upgrade) {
    const h2: JsonObject = {};
    if (http?.maxConcurrentStreams !== undefined) h2.max_concurrent_streams = http.maxConcurrentStreams;
    options.explicit_http_config = { http2_protocol_options: h2 };
  } else options.explicit_http_config = { http_protocol_options: {} };
  cluster.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS]: options };
}

export function applyOutlierDetection(cluster: JsonObject, od: OutlierDetection | undefined, field: string): void {
  if (!od) return;
  const out: JsonObject = {};
  const five = od.consecutive5xxErrors ?? od.consecutiveErrors;
  if (five !== undefined) {
    out.consecutive_5xx = nonNegativeInt(five, `${field}.consecutive5xxErrors`)!;
    // 0 turns the check off, which Envoy spells as enforcing 0 %.
    out.enforcing_consecutive_5xx = five > 0 ? 100 : 0;
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = nonNegativeInt(od.consecutiveGatewayErrors, `${field}.consecutiveGatewayErrors`)!;
    out.enforcing_consecutive_gateway_failure = od.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if (od.consecutiveLocalOriginFailures !== undefined) {
      out.consecutive_local_origin_failure = od.consecutiveLocalOriginFailures;
      out.enforcing_consecutive_local_origin_failure = 100;
    }
  }
  if (od.interval !== undefined) out.interval = istioToProtoDuration(od.interval, `${field}.interval`);
  if (od.baseEjectionTime !== undefined) out.base_ejection_time = istioToProtoDuration(od.baseEjectionTime, `${field}.baseEjectionTime`);
  if (od.maxEjectionPercent !== undefined) {
    if (!(od.maxEjectionPercent >= 0 && od.maxEjectionPercent <= 100)) {
      throw new SailfinError('schema', `maxEjectionPercent must be between 0 and 100, got ${od.maxEjectionPercent}`, { field: `${field}.maxEjectionPercent` });
    }
    out.max_ejection_percent = od.maxEjectionPercent;
  }
  // Istio turns the panic threshold into minHealthPercent (default 0): with every host ejected,
  // requests fail with "no healthy upstream" instead of going to ejected hosts anyway.
  out.enforcing_success_rate = 0;
  cluster.outlier_detection = out;
  cluster.common_lb_config = { ...((cluster.common_lb_config as JsonObject | undefined) ?? {}), healthy_panic_threshold: { value: od.minHealthPercent ?? 0 } };
}
