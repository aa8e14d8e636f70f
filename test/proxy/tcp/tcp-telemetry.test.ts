/**
 * tcp_proxy's Istio TCP metrics: the label set is built once when the upstream connects and reused
 * at the close, where only the response flags (how the connection ended) may differ.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyContext } from '../../../src/proxy/context.js';
import { tcpClosed, tcpOpened } from '../../../src/proxy/tcp/tcp-telemetry.js';
import { addFlag, newStreamInfo } from '../../../src/proxy/stream-info.js';
import { testContext } from '../listener/fake-upstream.js';

function series(ctx: ProxyContext, name: string) {
  return [...ctx.stats.counters.values()].filter((c) => c.name === name);
}

test('the close reports the labels of the open, with the flags the connection ended with', () => {
  const base = testContext().ctx;
  const ctx = { ...base, node: { ...base.node, metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', SERVICE_ACCOUNT: 'sleep' } } };
  const info = newStreamInfo();
  info.upstreamCluster = 'outbound|9000||tcp-echo.default.svc.cluster.local';
  info.upstreamPeerUri = 'spiffe://cluster.local/ns/default/sa/tcp-echo';
  const opened = tcpOpened(ctx, info);
  assert.equal(opened.response_flags, '-');
  assert.equal(opened.destination_service, 'tcp-echo.default.svc.cluster.local');
  info.bytesSent = 10;
  info.bytesReceived = 3;
  addFlag(info, 'UC');
  tcpClosed(ctx, info, opened);

  const [open] = series(ctx, 'istio_tcp_connections_opened_total');
  const [closed] = series(ctx, 'istio_tcp_connections_closed_total');
  assert.equal(open.value, 1);
  assert.equal(closed.value, 1);
  assert.deepEqual(closed.labels, { ...opened, response_flags: 'UC' });
  assert.equal(series(ctx, 'istio_tcp_sent_bytes_total')[0].value, 10);
  assert.equal(series(ctx, 'istio_tcp_received_bytes_total')[0].value, 3);
  assert.equal(opened.response_flags, '-', 'the open series keeps its own labels');
});

test('a clean close reuses the opened label set as is', () => {
  const { ctx } = testContext();
  const info = newStreamInfo();
  info.upstreamCluster = 'inbound|9000||';
  const opened = tcpOpened(ctx, info);
  tcpClosed(ctx, info, opened);
  assert.equal(series(ctx, 'istio_tcp_connections_closed_total')[0].labels, opened);
});
