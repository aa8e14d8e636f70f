/**
 * Compiles envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy into a ready-to-run config:
 * the cluster picker (one cluster or weighted), timeouts, access logs and stats looked up once.
 */
import { assertKnownFields, configError, isObject, join, optArray, optDurationMs, optNumber, optObject, optString, reqString, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { compileAccessLogs, type AccessLog } from '../stats/access-log.js';
import type { Counter, Gauge } from '../stats/store.js';

export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Envoy's default tcp_proxy idle timeout: one hour. */
const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

export interface TcpProxyStats {
  cxTotal: Counter;
  rxBytes: Counter;
  txBytes: Counter;
  idleTimeout: Counter;
  noRoute: Counter;
  upstreamFlushActive: Gauge;
  upstreamFlushTotal: Counter;
  maxConnectAttemptsExceeded: Counter;
}

export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** Picks the cluster for one connection (weighted when configured). */
  pickCluster(): string;
  readonly idleTimeoutMs: number;
  readonly maxConnectAttempts: number;
  readonly accessLogs: readonly AccessLog[];
  readonly stats: TcpProxyStats;
}

export function compileTcpProxy(typed: JsonObject, ctx: ProxyContext, path: string): TcpProxyConfig {
  assertKnownFields(typed, ['@type', 'stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'access_log', 'max_connect_attempts', 'metadata_match', 'hash_policy'], path);
  const statPrefix = reqString(typed, 'stat_prefix', path);
  const cluster = optString(typed, 'cluster', path);
  const weighted = optObject(typed, 'weighted_clusters', path);
  if (optArray(typed, 'hash_policy', path).length > 0) throw configError(join(path, 'hash_policy'), 'hash_policy is not supported on tcp_proxy');
  let pickCluster: () => string;
  if (weighted) {
    if (cluster) throw configError(path, 'set either cluster or weighted_clusters, not both');
    const wp = join(path, 'weighted_clusters');
    assertKnownFields(weighted, ['clusters'], wp);
    const entries = optArray(weighted, 'clusters', wp).map((c, i) => {
      const cp = join(join(wp, 'clusters'), i);
      if (!isObject(c)) throw configError(cp, 'must be an object');
      assertKnownFields(c, ['name', 'weight', 'metadata_match'], cp);
      return { name: reqString(c, 'name', cp), weight: optNumber(c, 'weight', cp, { min: 0, integer: true }) ?? 0 };
    });
    const total = entries.reduce((s, e) => s + e.weight, 0);
    if (entries.length === 0 || total === 0) throw configError(wp, 'needs clusters with a total weight above 0');
    // Cumulative weights, computed once; each connection draws one random number.
    const cumulative: number[] = [];
    let acc = 0;
    for (const e of entries) cumulative.push((acc += e.weight));
    pickCluster = () => {
      const r = Math.random() * total;
      for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return entries[i].name;
      return entries[entries.length - 1].name;
    };
  } else {
    if (!cluster) throw configError(join(path, 'cluster'), 'required field is missing (or set weighted_clusters)');
    pickCluster = () => cluster;
  }
  const idle = optDurationMs(typed, 'idle_timeout', path);
  const p = `tcp.${statPrefix}.`;
  return {
    statPrefix,
    pickCluster,
    idleTimeoutMs: idle === undefined ? DEFAULT_IDLE_TIMEOUT_MS : idle,
    maxConnectAttempts: optNumber(typed, 'max_connect_attempts', path, { min: 1, integer: true }) ?? 1,
    accessLogs: compileAccessLogs(typed.access_log, ctx, join(path, 'access_log')),
    stats: {
      cxTotal: ctx.stats.counter(p + 'downstream_cx_total'),
      rxBytes: ctx.stats.counter(p + 'downstream_cx_rx_bytes_total'),
      txBytes: ctx.stats.counter(p + 'downstream_cx_tx_bytes_total'),
      idleTimeout: ctx.stats.counter(p + 'idle_timeout'),
      noRoute: ctx.stats.counter(p + 'downstream_cx_no_route'),
      upstreamFlushActive: ctx.stats.gauge(p + 'upstream_flush_active'),
      upstreamFlushTotal: ctx.stats.counter(p + 'upstream_flush_total'),
      maxConnectAttemptsExceeded: ctx.stats.counter(p + 'max_connect_attempts_exceeded'),
    },
  };
}
