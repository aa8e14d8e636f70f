/**
 * Istio's standard TCP metrics (istio_tcp_connections_opened_total, …_closed_total,
 * istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total), reported per connection with Istio's
 * labels when the chain has the istio.stats network filter.
 */
import type { ProxyContext } from '../context.js';
import { istioLabels, reporterOf } from '../stats/istio-labels.js';
import { downstreamPeerOf } from '../stats/peer-discovery.js';
import type { Labels } from '../stats/store.js';
import type { StreamInfo } from '../stream-info.js';

/**
 * Counts the connection as opened and returns its labels for tcpClosed: both peers, the service and
 * the security policy are settled once the upstream is connected, so the set is built once per
 * connection (two dozen labels, service metadata and peer lookups) rather than again at the close.
 */
export function tcpOpened(ctx: ProxyContext, info: StreamInfo): Labels {
  // TCP has no metadata exchange: the destination names the caller by its address, once per connection
  // (kept on the stream so the close and the access log agree).
  if (reporterOf(info) === 'destination') info.downstreamPeer = downstreamPeerOf(ctx, info);
  const labels = istioLabels(ctx.node, info, { request_protocol: 'tcp' }, { clusters: ctx.clusters });
  ctx.stats.counter('istio_tcp_connections_opened_total', labels).inc();
  return labels;
}

/** Only the response flags can have changed since the open (UC, DC: how the connection ended). */
export function tcpClosed(ctx: ProxyContext, info: StreamInfo, opened: Labels): void {
  const flags = info.responseFlags.length ? info.responseFlags.join(',') : '-';
  const l = flags === opened.response_flags ? opened : { ...opened, response_flags: flags };
  ctx.stats.counter('istio_tcp_connections_closed_total', l).inc();
  ctx.stats.counter('istio_tcp_sent_bytes_total', l).inc(info.bytesSent);
  ctx.stats.counter('istio_tcp_received_bytes_total', l).inc(info.bytesReceived);
}
