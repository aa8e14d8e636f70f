/**
 * Istio's standard TCP metrics (istio_tcp_connections_opened_total, …_closed_total,
 * istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total), reported per connection with the
 * destination labels Sailfin knows at the proxy.
 */
import type { ProxyContext } from '../context.js';
import type { StatsStore } from '../stats/store.js';
import type { StreamInfo } from '../stream-info.js';

export interface TcpTelemetry {
  opened(info: StreamInfo): void;
  closed(info: StreamInfo): void;
}

const cache = new WeakMap<StatsStore, TcpTelemetry>();

function labels(ctx: ProxyContext, info: StreamInfo): Record<string, string> {
  const md = ctx.node.metadata as Record<string, unknown>;
  const cluster = info.upstreamCluster ?? 'unknown';
  // Istio's outbound cluster names look like outbound|9080||reviews.default.svc.cluster.local.
  const service = cluster.split('|')[3] || cluster;
  return {
    reporter: typeof md.ISTIO_REPORTER === 'string' ? md.ISTIO_REPORTER : 'source',
    source_workload: typeof md.WORKLOAD_NAME === 'string' ? md.WORKLOAD_NAME : 'unknown',
    source_workload_namespace: typeof md.NAMESPACE === 'string' ? md.NAMESPACE : 'unknown',
    destination_service: service,
    destination_service_name: service.split('.')[0],
    response_flags: info.responseFlags.length ? info.responseFlags.join(',') : '-',
    connection_security_policy: info.downstreamPeerUri ? 'mutual_tls' : 'none',
  };
}

export function tcpTelemetry(ctx: ProxyContext): TcpTelemetry {
  let t = cache.get(ctx.stats);
  if (t) return t;
  const stats = ctx.stats;
  t = {
    opened(info) {
      stats.counter('istio_tcp_connections_opened_total', labels(ctx, info)).inc();
    },
    closed(info) {
      const l = labels(ctx, info);
      stats.counter('istio_tcp_connections_closed_total', l).inc();
      stats.counter('istio_tcp_sent_bytes_total', l).inc(info.bytesSent);
      stats.counter('istio_tcp_received_bytes_total', l).inc(info.bytesReceived);
    },
  };
  cache.set(ctx.stats, t);
  return t;
}
