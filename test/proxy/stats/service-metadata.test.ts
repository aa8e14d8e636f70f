/**
 * The destination service in Istio's metrics comes from the cluster's `istio.services` metadata: a
 * ServiceEntry host reports the ServiceEntry's namespace, not a label of the host name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminBlock, httpGet, runProxy, tcpListener, tcpProxyFilter } from '../integration/harness.js';
import { echoServer, exchange } from '../listener/fake-upstream.js';

test('a ServiceEntry destination reports the ServiceEntry namespace and host from cluster metadata', async (t) => {
  const echo = await echoServer('e');
  t.after(() => echo.close());
  const cluster = 'outbound|443||ext.example.test';
  const p = await runProxy({
    node: { id: 'sidecar~127.0.0.3~sleep-1.default~default.svc.cluster.local', metadata: { NAME: 'sleep-1', NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', LABELS: { app: 'sleep' } } },
    admin: adminBlock(),
    static_resources: {
      clusters: [
        {
          name: cluster,
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: echo.port } } } }] }] },
          metadata: { filter_metadata: { istio: { services: [{ host: 'ext.example.test', name: 'ext.example.test', namespace: 'egress-team' }], default_original_port: 443 } } },
        },
        // Without metadata the host name is all there is (the old fallback).
        { name: 'outbound|443||bare.example.test', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'x', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: echo.port } } } }] }] } },
      ],
      listeners: [
        tcpListener('ext', [{ filters: [{ name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcpProxyFilter(cluster)] }]),
        tcpListener('bare', [{ filters: [{ name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcpProxyFilter('outbound|443||bare.example.test')] }]),
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
