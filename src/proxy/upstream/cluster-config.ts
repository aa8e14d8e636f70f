/**
 * Envoy's Cluster JSON → a ClusterConfig of plain values, validated once when the cluster arrives.
 * Every field read here is listed in docs/envoy-subset/upstream.md; any other field is an error
 * naming its path, so a config Sailfin cannot honour is rejected instead of half-applied.
 */
import { isIP } from 'node:net';
import type { ClusterInfo } from './api.js';
import { type CompiledLoadAssignment, compileLoadAssignment, compileMetadata } from './load-assignment.js';
import { compileProtocolOptions } from './protocol-options.js';
import { type TransportSocketConfig, compileTransportSocket } from './tls-config.js';
import {
  type Json,
  type JsonObject,
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optBool,
  optDurationMs,
  optNumber,
  optObject,
  optString,
  reqObject,
  reqString,
  typeUrlOf,
  unsupported,
} from '../config/fields.js';

export type ClusterType = ClusterInfo['type'];
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';
export type DnsFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';

export interface BreakerThresholds {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  trackRemaining: boolean;
}

export interface OutlierConfig {
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
}

export interface TransportSocketMatch {
  name: string;
  match: Record<string, Json>;
  socket: TransportSocketConfig;
}

export interface ClusterConfig {
  name: string;
  /** Stats are named after alt_stat_name when set, as in Envoy. */
  statName: string;
  type: ClusterType;
  lbPolicy: LbPolicy;
  info: ClusterInfo;
  loadAssignment?: CompiledLoadAssignment;
  edsServiceName: string;
  dnsRefreshRateMs: number;
  /** respect_dns_ttl: the next resolution is due when the answer's TTL runs out, not at dns_refresh_rate. */
  respectDnsTtl: boolean;
  dnsFamily: DnsFamily;
  cleanupIntervalMs: number;
  ringHash: { minRingSize: number; maxRingSize: number };
  maglevTableSize: number;
  leastRequest: { choiceCount: number; activeRequestBias: number };
  /** Percent of healthy hosts below which a priority level uses all its hosts (Envoy default 50). */
  panicThresholdPercent: number;
  localityWeighted: boolean;
  breakers: BreakerThresholds;
  outlier?: OutlierConfig;
  /** upstream_bind_config.source_address: the local address upstream connections are made from. */
  sourceAddress?: string;
  /** TCP keepalive idle time in seconds (probes/interval are left to the OS; Node cannot set them). */
  keepalive?: { timeSeconds?: number };
  transport: TransportSocketConfig;
  transportMatches: TransportSocketMatch[];
  metadata: Record<string, unknown>;
  json: JsonObject;
}

const CLUSTER_FIELDS = [
  'name', 'alt_stat_name', 'type', 'eds_cluster_config', 'connect_timeout', 'per_connection_buffer_limit_bytes', 'lb_policy',
  'load_assignment', 'circuit_breakers', 'typed_extension_protocol_options', 'http_protocol_options', 'http2_protocol_options',
  'common_http_protocol_options', 'max_requests_per_connection', 'protocol_selection', 'dns_refresh_rate', 'dns_lookup_family',
  'respect_dns_ttl', 'dns_failure_refresh_rate', 'outlier_detection', 'cleanup_interval', 'ring_hash_lb_config', 'maglev_lb_config',
  'original_dst_lb_config', 'least_request_lb_config', 'round_robin_lb_config', 'common_lb_config', 'transport_socket',
  'transport_socket_matches', 'metadata', 'upstream_connection_options', 'close_connections_on_host_health_failure',
  'ignore_health_on_host_removal', 'wait_for_warm_on_init', 'health_checks', 'filters', 'track_timeout_budgets', 'upstream_bind_config',
];

const TYPES: readonly ClusterType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'];
const FAMILIES: readonly DnsFamily[] = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'];
/** Envoy's defaults when a cluster sets no thresholds. */
const ENVOY_DEFAULT_LIMIT = 1024;

function enumValue<T extends string>(json: JsonObject, key: string, path: string, allowed: readonly T[], dflt: T): T {
  const v = optString(json, key, path);
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw unsupported(join(path, key), `unsupported value "${v}" (one of ${allowed.join(', ')})`);
  return v as T;
}

export function compileClusterConfig(json: Json, path: string): ClusterConfig {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, CLUSTER_FIELDS, path);
  for (const key of ['health_checks', 'filters']) {
    if (optArray(json, key, path).length) throw unsupported(join(path, key), `${key} is not supported by Sailfin`);
  }
  const name = reqString(json, 'name', path);
  const type = enumValue(json, 'type', path, TYPES, 'STATIC');
  const lbPolicy = enumValue(json, 'lb_policy', path, POLICIES, 'ROUND_ROBIN');
  if (type === 'ORIGINAL_DST' && json.lb_policy !== undefined && lbPolicy !== 'CLUSTER_PROVIDED') {
    throw configError(join(path, 'lb_policy'), 'ORIGINAL_DST clusters need lb_policy CLUSTER_PROVIDED');
  }
  if (type !== 'ORIGINAL_DST' && lbPolicy === 'CLUSTER_PROVIDED') throw configError(join(path, 'lb_policy'), 'CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters');
  const connectTimeoutMs = optDurationMs(json, 'connect_timeout', path) ?? 5000;
  if (connectTimeoutMs <= 0) throw configError(join(path, 'connect_timeout'), 'must be greater than 0');

  const protocol = compileProtocolOptions(json, path);
  const info: ClusterInfo = {
    name,
    connectTimeoutMs,
    maxRequestsPerConnection: protocol.maxRequestsPerConnection,
    upstreamProtocol: protocol.upstreamProtocol,
    idleTimeoutMs: protocol.idleTimeoutMs,
    tls: false,
    type,
    lbPolicy: lbPolicy,
    maxConnectionDurationMs: protocol.maxConnectionDurationMs,
    perConnectionBufferLimitBytes: optNumber(json, 'per_connection_buffer_limit_bytes', path, { min: 0, integer: true }) ?? 1048576,
    http2MaxConcurrentStreams: protocol.maxConcurrentStreams,
  };

  const cfg: ClusterConfig = {
    name,
    statName: optString(json, 'alt_stat_name', path) || name,
    type,
    lbPolicy: lbPolicy === 'CLUSTER_PROVIDED' || type === 'ORIGINAL_DST' ? 'CLUSTER_PROVIDED' : lbPolicy,
    info,
    edsServiceName: name,
    dnsRefreshRateMs: optDurationMs(json, 'dns_refresh_rate', path) ?? 5000,
    respectDnsTtl: optBool(json, 'respect_dns_ttl', path) ?? false,
    dnsFamily: enumValue(json, 'dns_lookup_family', path, FAMILIES, 'AUTO'),
    cleanupIntervalMs: optDurationMs(json, 'cleanup_interval', path) ?? 5000,
    ringHash: { minRingSize: 1024, maxRingSize: 8 * 1024 * 1024 },
    maglevTableSize: 65537,
    leastRequest: { choiceCount: 2, activeRequestBias: 1 },
    panicThresholdPercent: 50,
    localityWeighted: false,
    breakers: { maxConnections: ENVOY_DEFAULT_LIMIT, maxPendingRequests: ENVOY_DEFAULT_LIMIT, maxRequests: ENVOY_DEFAULT_LIMIT, maxRetries: 3, trackRemaining: false },
    transport: { kind: 'raw' },
    transportMatches: [],
    metadata: compileMetadata(json, path),
    json,
  };
  if (cfg.dnsRefreshRateMs <= 0) throw configError(join(path, 'dns_refresh_rate'), 'must be greater than 0');
  if (cfg.cleanupIntervalMs <= 0) throw configError(join(path, 'cleanup_interval'), 'must be greater than 0');
  optDurationMs(json, 'dns_failure_refresh_rate', path);
  for (const key of ['close_connections_on_host_health_failure', 'ignore_health_on_host_removal', 'wait_for_warm_on_init', 'track_timeout_budgets']) optBool(json, key, path);

  const eds = optObject(json, 'eds_cluster_config', path);
  if (eds) {
    const p = join(path, 'eds_cluster_config');
    if (type !== 'EDS') throw configError(p, 'is only valid for type EDS');
    assertKnownFields(eds, ['eds_config', 'service_name'], p);
    cfg.edsServiceName = optString(eds, 'service_name', p) || name;
  }
  const la = json.load_assignment;
  if (la !== undefined && la !== null) {
    if (type === 'EDS' || type === 'ORIGINAL_DST') throw configError(join(path, 'load_assignment'), `is not valid for type ${type}`);
    cfg.loadAssignment = compileLoadAssignment(la, join(path, 'load_assignment'));
  }
  if ((type === 'STRICT_DNS' || type === 'LOGICAL_DNS' || type === 'STATIC') && !cfg.loadAssignment) {
    throw configError(join(path, 'load_assignment'), `required field is missing (type ${type} needs its endpoints)`);
  }
  if (type === 'STATIC' && cfg.loadAssignment) requireIpAddresses(cfg.loadAssignment.json, join(path, 'load_assignment'));
  if (type === 'LOGICAL_DNS' && cfg.loadAssignment) {
    const n = cfg.loadAssignment.endpoints.length;
    if (n !== 1) throw configError(join(path, 'load_assignment'), `LOGICAL_DNS needs exactly one endpoint (got ${n})`);
  }

  compileLbConfigs(json, path, cfg);
  compileCircuitBreakers(optObject(json, 'circuit_breakers', path), join(path, 'circuit_breakers'), cfg);
  const od = optObject(json, 'outlier_detection', path);
  if (od) cfg.outlier = compileOutlierDetection(od, join(path, 'outlier_detection'));
  compileConnectionOptions(optObject(json, 'upstream_connection_options', path), join(path, 'upstream_connection_options'), cfg);
  const bind = optObject(json, 'upstream_bind_config', path);
  if (bind) {
    // Istio binds InboundPassthroughCluster to 127.0.0.6 so the capture rules let the proxy reach its own pod's app.
    const bp = join(path, 'upstream_bind_config');
    assertKnownFields(bind, ['source_address'], bp);
    const sa = reqObject(bind, 'source_address', bp);
    assertKnownFields(sa, ['address', 'port_value', 'protocol'], join(bp, 'source_address'));
    cfg.sourceAddress = reqString(sa, 'address', join(bp, 'source_address'));
  }

  const ts = json.transport_socket;
  if (ts !== undefined && ts !== null) cfg.transport = shared(ts, () => compileTransportSocket(ts, join(path, 'transport_socket')));
  const matches = json.transport_socket_matches;
  if (matches !== undefined && matches !== null) cfg.transportMatches = shared(matches, () => compileTransportMatches(json, path));
  (info as { tls: boolean }).tls = cfg.transport.kind === 'tls' || cfg.transportMatches.some((m) => m.socket.kind === 'tls');
  return cfg;
}

function compileTransportMatches(json: JsonObject, path: string): TransportSocketMatch[] {
  return optArray(json, 'transport_socket_matches', path).map((m, i) => {
    const p = join(join(path, 'transport_socket_matches'), i);
    if (!isObject(m)) throw configError(p, 'must be an object');
    assertKnownFields(m, ['name', 'match', 'transport_socket'], p);
    return {
      name: reqString(m, 'name', p),
      match: (optObject(m, 'match', p) ?? {}) as Record<string, Json>,
      socket: compileTransportSocket(reqObject(m, 'transport_socket', p), join(p, 'transport_socket')),
    };
  });
}

/**
 * Compiled blocks by the JSON they came from, for blocks the xDS client shares between the clusters of
 * a response (frozen: see xds/json-intern.ts): a mesh's thousand clusters then hold one compiled
 * transport socket per distinct one instead of a copy each (about 1 KB per cluster). Compiled forms
 * are read-only. Mutable JSON (a bootstrap) is compiled every time.
 */
const compiledBlocks = new WeakMap<object, unknown>();

function shared<T>(json: Json, compile: () => T): T {
  if (json === null || typeof json !== 'object' || !Object.isFrozen(json)) return compile();
  let c = compiledBlocks.get(json) as T | undefined;
  if (c === undefined) {
    c = compile();
    compiledBlocks.set(json, c);
  }
  return c;
}

function compileLbConfigs(json: JsonObject, path: string, cfg: ClusterConfig): void {
  const ring = optObject(json, 'ring_hash_lb_config', path);
  if (ring) {
    const p = join(path, 'ring_hash_lb_config');
    assertKnownFields(ring, ['minimum_ring_size', 'maximum_ring_size', 'hash_function'], p);
    const fn = optString(ring, 'hash_function', p);
    if (fn !== undefined && fn !== 'XX_HASH') throw unsupported(join(p, 'hash_function'), `unsupported value "${fn}" (only XX_HASH)`);
    cfg.ringHash.minRingSize = optNumber(ring, 'minimum_ring_size', p, { min: 1, max: 8388608, integer: true }) ?? 1024;
    cfg.ringHash.maxRingSize = optNumber(ring, 'maximum_ring_size', p, { min: 1, max: 8388608, integer: true }) ?? 8388608;
    if (cfg.ringHash.minRingSize > cfg.ringHash.maxRingSize) throw configError(join(p, 'minimum_ring_size'), 'must not exceed maximum_ring_size');
  }
  const maglev = optObject(json, 'maglev_lb_config', path);
  if (maglev) {
    const p = join(path, 'maglev_lb_config');
    assertKnownFields(maglev, ['table_size'], p);
    const size = optNumber(maglev, 'table_size', p, { min: 2, max: 5000011, integer: true }) ?? 65537;
    if (!isPrime(size)) throw configError(join(p, 'table_size'), `must be a prime number (got ${size})`);
    cfg.maglevTableSize = size;
  }
  const lr = optObject(json, 'least_request_lb_config', path);
  if (lr) {
    const p = join(path, 'least_request_lb_config');
    assertKnownFields(lr, ['choice_count', 'active_request_bias'], p);
    cfg.leastRequest.choiceCount = optNumber(lr, 'choice_count', p, { min: 2, integer: true }) ?? 2;
    const bias = optObject(lr, 'active_request_bias', p);
    if (bias) {
      assertKnownFields(bias, ['default_value', 'runtime_key'], join(p, 'active_request_bias'));
      cfg.leastRequest.activeRequestBias = optNumber(bias, 'default_value', join(p, 'active_request_bias'), { min: 0 }) ?? 1;
    }
  }
  const rr = optObject(json, 'round_robin_lb_config', path);
  if (rr) assertKnownFields(rr, [], join(path, 'round_robin_lb_config'));
  const od = optObject(json, 'original_dst_lb_config', path);
  if (od) {
    const p = join(path, 'original_dst_lb_config');
    assertKnownFields(od, ['use_http_header', 'http_header_name'], p);
    if (optBool(od, 'use_http_header', p)) {
      (cfg.info as { originalDstHttpHeader?: string }).originalDstHttpHeader = (optString(od, 'http_header_name', p) || 'x-envoy-original-dst-host').toLowerCase();
    }
  }
  const common = optObject(json, 'common_lb_config', path);
  if (common) {
    const p = join(path, 'common_lb_config');
    assertKnownFields(common, ['healthy_panic_threshold', 'locality_weighted_lb_config', 'update_merge_window', 'close_connections_on_host_set_change', 'consistent_hashing_lb_config'], p);
    const panic = optObject(common, 'healthy_panic_threshold', p);
    if (panic) {
      assertKnownFields(panic, ['value'], join(p, 'healthy_panic_threshold'));
      cfg.panicThresholdPercent = optNumber(panic, 'value', join(p, 'healthy_panic_threshold'), { min: 0, max: 100 }) ?? 50;
    }
    const lw = optObject(common, 'locality_weighted_lb_config', p);
    if (lw) {
      assertKnownFields(lw, [], join(p, 'locality_weighted_lb_config'));
      cfg.localityWeighted = true;
    }
    optDurationMs(common, 'update_merge_window', p);
    optBool(common, 'close_connections_on_host_set_change', p);
    const ch = optObject(common, 'consistent_hashing_lb_config', p);
    if (ch) {
      const cp = join(p, 'consistent_hashing_lb_config');
      assertKnownFields(ch, ['use_hostname_for_hashing', 'hash_balance_factor'], cp);
      if (optBool(ch, 'use_hostname_for_hashing', cp)) throw unsupported(join(cp, 'use_hostname_for_hashing'), 'hashing on hostnames is not supported by Sailfin');
      if (optNumber(ch, 'hash_balance_factor', cp) !== undefined) throw unsupported(join(cp, 'hash_balance_factor'), 'bounded-load hashing is not supported by Sailfin');
    }
  }
}

function compileCircuitBreakers(json: JsonObject | undefined, path: string, cfg: ClusterConfig): void {
  if (!json) return;
  assertKnownFields(json, ['thresholds'], path);
  optArray(json, 'thresholds', path).forEach((t, i) => {
    const p = join(join(path, 'thresholds'), i);
    if (!isObject(t)) throw configError(p, 'must be an object');
    assertKnownFields(t, ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'track_remaining', 'max_connection_pools', 'retry_budget'], p);
    if (t.retry_budget !== undefined) throw unsupported(join(p, 'retry_budget'), 'retry budgets are not supported by Sailfin');
    if (t.max_connection_pools !== undefined) throw unsupported(join(p, 'max_connection_pools'), 'max_connection_pools is not supported by Sailfin');
    const priority = enumValue(t, 'priority', p, ['DEFAULT', 'HIGH'], 'DEFAULT');
    // Routes always run at DEFAULT priority in Sailfin; a HIGH entry is validated and kept in the dump.
    if (priority !== 'DEFAULT') return;
    const b = cfg.breakers;
    b.maxConnections = optNumber(t, 'max_connections', p, { min: 0, integer: true }) ?? ENVOY_DEFAULT_LIMIT;
    b.maxPendingRequests = optNumber(t, 'max_pending_requests', p, { min: 0, integer: true }) ?? ENVOY_DEFAULT_LIMIT;
    b.maxRequests = optNumber(t, 'max_requests', p, { min: 0, integer: true }) ?? ENVOY_DEFAULT_LIMIT;
    b.maxRetries = optNumber(t, 'max_retries', p, { min: 0, integer: true }) ?? 3;
    b.trackRemaining = optBool(t, 'track_remaining', p) ?? false;
  });
}

function compileOutlierDetection(json: JsonObject, path: string): OutlierConfig {
  assertKnownFields(
    json,
    ['consecutive_5xx', 'enforcing_consecutive_5xx', 'consecutive_gateway_failure', 'enforcing_consecutive_gateway_failure', 'interval', 'base_ejection_time',
      'max_ejection_time', 'max_ejection_percent', 'split_external_local_origin_errors', 'enforcing_success_rate', 'enforcing_failure_percentage',
      'enforcing_failure_percentage_local_origin', 'enforcing_local_origin_success_rate'],
    path,
  );
  if (optBool(json, 'split_external_local_origin_errors', path)) {
    throw unsupported(join(path, 'split_external_local_origin_errors'), 'splitting local-origin errors is not supported by Sailfin');
  }
  // Success-rate and failure-percentage detection are not implemented; Istio turns them off (0).
  for (const key of ['enforcing_success_rate', 'enforcing_failure_percentage', 'enforcing_failure_percentage_local_origin', 'enforcing_local_origin_success_rate']) {
    const v = optNumber(json, key, path, { min: 0, max: 100 });
    if (v !== undefined && v !== 0 && key === 'enforcing_success_rate') throw unsupported(join(path, key), 'success-rate outlier detection is not supported by Sailfin (set 0)');
    if (v !== undefined && v !== 0 && key !== 'enforcing_success_rate') throw unsupported(join(path, key), `${key} must be 0 in Sailfin`);
  }
  const pct = (key: string, dflt: number): number => optNumber(json, key, path, { min: 0, max: 100, integer: true }) ?? dflt;
  const out: OutlierConfig = {
    consecutive5xx: optNumber(json, 'consecutive_5xx', path, { min: 0, integer: true }) ?? 5,
    enforcingConsecutive5xx: pct('enforcing_consecutive_5xx', 100),
    consecutiveGatewayFailure: optNumber(json, 'consecutive_gateway_failure', path, { min: 0, integer: true }) ?? 5,
    enforcingConsecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    intervalMs: optDurationMs(json, 'interval', path) ?? 10_000,
    baseEjectionTimeMs: optDurationMs(json, 'base_ejection_time', path) ?? 30_000,
    maxEjectionTimeMs: optDurationMs(json, 'max_ejection_time', path) ?? 300_000,
    maxEjectionPercent: pct('max_ejection_percent', 10),
  };
  if (out.intervalMs <= 0) throw configError(join(path, 'interval'), 'must be greater than 0');
  if (out.maxEjectionTimeMs < out.baseEjectionTimeMs) out.maxEjectionTimeMs = out.baseEjectionTimeMs;
  return out;
}

function compileConnectionOptions(json: JsonObject | undefined, path: string, cfg: ClusterConfig): void {
  if (!json) return;
  assertKnownFields(json, ['tcp_keepalive'], path);
  const ka = optObject(json, 'tcp_keepalive', path);
  if (!ka) return;
  const p = join(path, 'tcp_keepalive');
  assertKnownFields(ka, ['keepalive_probes', 'keepalive_time', 'keepalive_interval'], p);
  optNumber(ka, 'keepalive_probes', p, { min: 0, integer: true });
  optNumber(ka, 'keepalive_interval', p, { min: 0, integer: true });
  cfg.keepalive = { timeSeconds: optNumber(ka, 'keepalive_time', p, { min: 0, integer: true }) };
}

/** STATIC clusters are never resolved: a name there is a mistake, reported where it is (as Envoy does). */
function requireIpAddresses(la: JsonObject, path: string): void {
  optArray(la, 'endpoints', path).forEach((group, gi) => {
    optArray(group as JsonObject, 'lb_endpoints', '').forEach((lbe, i) => {
      const sa = ((lbe as JsonObject).endpoint as JsonObject).address as JsonObject;
      const address = (sa.socket_address as JsonObject).address as string;
      if (!isIP(address)) {
        throw configError(`${path}.endpoints[${gi}].lb_endpoints[${i}].endpoint.address.socket_address.address`, `"${address}" is not an IP address (STATIC clusters need IPs; use STRICT_DNS or LOGICAL_DNS for names)`);
      }
    });
  });
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}
