/**
 * Istio's standard TCP metrics (istio_tcp_connections_opened_total, …_closed_total,
 * istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total), reported per connection with Istio's
 * labels when the chain has the istio.stats network filter.
 */
import type { ProxyContext } from '../context.js';
import { istioLabels, reporterOf } from '../stats/istio-labels.js';
import { downstreamPeerOf } from '../stats/peer-discovery.js';
import type { StreamInfo } from '../stream-info.js';

export function tcpOpened(ctx: ProxyContext, info: StreamInfo): void {
  // TCP has no metadata exchange: the destination names the caller by its address, once per connection
  // (kept on the stream so the close and the access log agree).
  if (reporterOf(info) === 'destination') info.downstreamPeer = downstreamPeerOf(ctx, info);
  ctx.stats.counter('istio_tcp_connections_opened_total', istioLabels(ctx.node, info, { request_protocol: 'tcp' }, { clusters: ctx.clusters })).inc();
}

export function tcpClosed(ctx: ProxyContext, info: StreamInfo): void {
  const l = istioLabels(ctx.node, info, { request_protocol: 'tcp' }, { clusters: ctx.clusters });
  ctx.stats.counter('istio_tcp_connections_closed_total', l).inc();
  ctx.stats.counter('istio_tcp_sent_bytes_total', l).inc(info.bytesSent);
  ctx.stats.counter('istio_tcp_received_bytes_total', l).inc(info.bytesReceived);
}
