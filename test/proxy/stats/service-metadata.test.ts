/**
 * The destination service in Istio's metrics comes from the cluster's `istio.services` metadata: a
 * ServiceEntry host reports the ServiceEntry's namespace, not a label of the host name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminBlock, httpGet, ISTIO_STATS_FILTER, runProxy, SLEEP_SIDECAR_NODE, staticCluster, tcpListener, tcpProxyFilter } from '../integration/harness.js';
import { echoServer, exchange } from '../listener/fake-upstream.js';

test('a ServiceEntry destination reports the ServiceEntry namespace and host from cluster metadata', async (t) => {
  const echo = await echoServer('e');
  t.after(() => echo.close());
  const cluster = 'outbound|443||ext.example.test';
  const p = await runProxy({
    node: SLEEP_SIDECAR_NODE,
    admin: adminBlock(),
    static_resources: {
      clusters: [
        staticCluster(cluster, [echo.port], {
          metadata: { filter_metadata: { istio: { services: [{ host: 'ext.example.test', name: 'ext.example.test', namespace: 'egress-team' }], default_original_port: 443 } } },
        }),
        // Without metadata the host name is all there is (the old fallback).
        staticCluster('outbound|443||bare.example.test', [echo.port]),
      ],
      listeners: [
        tcpListener('ext', [{ filters: [ISTIO_STATS_FILTER, tcpProxyFilter(cluster)] }]),
        tcpListener('bare', [{ filters: [ISTIO_STATS_FILTER, tcpProxyFilter('outbound|443||bare.example.test')] }]),
      ],
    },
  });
  t.after(() => p.stop());
  assert.equal(await exchange(p.ports.get('ext')!, 'hi', 4), 'e:hi');
  assert.equal(await exchange(p.ports.get('bare')!, 'hi', 4), 'e:hi');
  const lines = (await httpGet(p.adminPort, '/stats/prometheus')).body.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{'));
  const ext = lines.find((l) => l.includes('destination_service="ext.example.test"')) ?? '';
  assert.ok(ext.includes('destination_service_name="ext.example.test"'), ext);
  assert.ok(ext.includes('destination_service_namespace="egress-team"'), ext);
  const bare = lines.find((l) => l.includes('destination_service="bare.example.test"')) ?? '';
  assert.ok(bare.includes('destination_service_namespace="example"'), bare);
});
