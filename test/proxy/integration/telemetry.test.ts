/**
 * Istio's standard metrics from the istio.stats filter through the real proxy:
 * istio_requests_total / duration / sizes for HTTP and istio_tcp_* for TCP, with Istio's labels,
 * on /stats/prometheus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { echoServer, exchange } from '../listener/fake-upstream.js';
import { adminBlock, httpGet, runProxy, staticCluster, tcpListener, tcpProxyFilter } from './harness.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const STATS = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/stats.PluginConfig', value: {} } };

test('istio.stats exports istio_requests_total and istio_tcp_* with Istio labels', async (t) => {
  const web = createServer((req, res) => {
    req.resume();
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.setHeader('content-length', 5);
    res.end('hello');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const tcp = await echoServer('t');
  const webCluster = 'outbound|80||web.default.svc.cluster.local';
  const tcpCluster = 'outbound|9000||tcp-echo.default.svc.cluster.local';
  const p = await runProxy({
    node: { id: 'sidecar~10.0.0.1~sleep-1.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', SERVICE_ACCOUNT: 'sleep', LABELS: { app: 'sleep', version: 'v1' } } },
    admin: adminBlock(),
    static_resources: {
      clusters: [staticCluster(webCluster, [(web.address() as { port: number }).port]), staticCluster(tcpCluster, [tcp.port])],
      listeners: [
        tcpListener('http', [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM,
                  stat_prefix: 'outbound_0.0.0.0_80',
                  http_filters: [STATS, { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  route_config: { name: '80', virtual_hosts: [{ name: 'web', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: webCluster } }] }] },
                },
              },
            ],
          },
        ]),
        tcpListener('tcp', [{ filters: [{ name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcpProxyFilter(tcpCluster)] }]),
      ],
    },
  }).catch((e: unknown) => {
    // Close what was started, or a proxy that fails to start leaves the file hanging to the runner's timeout.
    web.close();
    tcp.close();
    throw e;
  });
  t.after(async () => {
    await p.stop();
    web.close();
    tcp.close();
  });
  for (const path of ['/a', '/b', '/c', '/missing']) await httpGet(p.ports.get('http')!, path);
  assert.equal(await exchange(p.ports.get('tcp')!, 'hello', 7), 't:hello');
  await new Promise((r) => setTimeout(r, 200));
  const prom = (await httpGet(p.adminPort, '/stats/prometheus')).body;
  const series = (name: string, code?: string): string[] => prom.split('\n').filter((l) => l.startsWith(name + '{') && (!code || l.includes(`response_code="${code}"`)));
  const ok = series('istio_requests_total', '200');
  assert.equal(ok.length, 1, prom);
  for (const label of [
    'reporter="source"',
    'source_workload="sleep"',
    'source_workload_namespace="default"',
    'source_principal="spiffe://cluster.local/ns/default/sa/sleep"',
    'source_app="sleep"',
    'source_version="v1"',
    'destination_service="web.default.svc.cluster.local"',
    'destination_service_name="web"',
    'destination_service_namespace="default"',
    'request_protocol="http"',
    'response_flags="-"',
    'connection_security_policy="unknown"',
  ]) assert.ok(ok[0].includes(label), `${label} missing in ${ok[0]}`);
  assert.match(ok[0], / 3$/);
  assert.match(series('istio_requests_total', '404')[0], / 1$/);
  assert.match(prom, /istio_request_duration_milliseconds_count\{[^}]*response_code="200"[^}]*\} 3/);
  assert.match(prom, /istio_response_bytes_sum\{[^}]*response_code="200"[^}]*\} 15/);
  assert.match(prom, /# TYPE istio_request_bytes histogram/);
  assert.match(prom, /istio_tcp_connections_opened_total\{[^}]*destination_service="tcp-echo\.default\.svc\.cluster\.local"[^}]*request_protocol="tcp"[^}]*\} 1/);
  assert.match(prom, /istio_tcp_connections_closed_total\{[^}]*\} 1/);
  assert.match(prom, /istio_tcp_received_bytes_total\{[^}]*\} 5/);
  assert.match(prom, /istio_tcp_sent_bytes_total\{[^}]*\} 7/);
});
