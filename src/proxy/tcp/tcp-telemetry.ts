/**
 * Istio's standard TCP metrics (istio_tcp_connections_opened_total, …_closed_total,
 * istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total), reported per connection with Istio's
 * labels when the chain has the istio.stats network filter.
 */
import type { ProxyContext } from '../context.js';
import { istioLabels } from '../stats/istio-labels.js';
import type { StreamInfo } from '../stream-info.js';

export function tcpOpened(ctx: ProxyContext, info: StreamInfo): void {
  ctx.stats.counter('istio_tcp_connections_opened_total', istioLabels(ctx.node, info, { request_protocol: 'tcp' })).inc();
}

export function tcpClosed(ctx: ProxyContext, info: StreamInfo): void {
  const l = istioLabels(ctx.node, info, { request_protocol: 'tcp' });
  ctx.stats.counter('istio_tcp_connections_closed_total', l).inc();
  ctx.stats.counter('istio_tcp_sent_bytes_total', l).inc(info.bytesSent);
  ctx.stats.counter('istio_tcp_received_bytes_total', l).inc(info.bytesReceived);
}
