/**
 * Peer discovery by address at the destination: a caller that sent no metadata (TCP, or HTTP without
 * the exchange header) is named from the endpoint whose IP it connects from; an unknown IP stays
 * unknown, and a workload that disagrees with the caller's mTLS identity is not believed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downstreamPeerOf, ipOfAddress, peerByAddress } from '../../../src/proxy/stats/peer-discovery.js';
import { newStreamInfo } from '../../../src/proxy/stream-info.js';
import { adminBlock, httpGet, runProxy, tcpListener, tcpProxyFilter } from '../integration/harness.js';
import { echoServer, exchange, testContext } from '../listener/fake-upstream.js';
import { startApp } from '../tracing/two-hop.js';

const SLEEP = 'sleep;default;sleep;v1;Kubernetes';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** A cluster whose one endpoint (never dialled) carries Istio's workload metadata for `address`. */
function knownEndpoint(name: string, address: string, workload: string): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: 1 } } }, metadata: { filter_metadata: { istio: { workload } } } }] }] },
  };
}

async function waitForLine(adminPort: number, re: RegExp, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const body = (await httpGet(adminPort, '/stats/prometheus')).body;
    const hit = body.split('\n').find((l) => re.test(l));
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no line matching ${re} in:\n${body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('addresses: IPv4, IPv4-mapped and IPv6 forms give the bare IP', () => {
  assert.equal(ipOfAddress('10.1.2.3:4567'), '10.1.2.3');
  assert.equal(ipOfAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(ipOfAddress('::ffff:10.1.2.3:5555'), '10.1.2.3', 'as the HTTP stream spells a dual-stack peer');
  assert.equal(ipOfAddress('[::ffff:10.1.2.3]:80'), '10.1.2.3');
  assert.equal(ipOfAddress('[fd00::1]:80'), 'fd00::1');
});

test('the address index follows EDS, refuses ambiguous IPs, and defers to the mTLS identity', () => {
  const { ctx, clusters } = testContext();
  const eds = (name: string) => ({ name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } });
  const cla = (name: string, eps: Array<[string, string]>) => ({
    cluster_name: name,
    endpoints: [{ lb_endpoints: eps.map(([ip, workload]) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } }, metadata: { filter_metadata: { istio: { workload } } } })) }],
  });
  clusters.addOrUpdate(eds('a'), 'a');
  clusters.updateEndpoints('a', cla('a', [['10.0.0.5', SLEEP]]));
  assert.equal(peerByAddress(clusters, '10.0.0.5')?.workload, 'sleep');
  assert.equal(peerByAddress(clusters, '10.0.0.6'), undefined);
  // The pod was replaced: the IP now belongs to another workload (index rebuilt on the EDS update).
  clusters.updateEndpoints('a', cla('a', [['10.0.0.5', 'ratings-v1;shop;ratings;v1;Kubernetes']]));
  assert.equal(peerByAddress(clusters, '10.0.0.5')?.workload, 'ratings-v1');
  // Two workloads claim one IP: neither is believed.
  clusters.addOrUpdate(eds('b'), 'b');
  clusters.updateEndpoints('b', cla('b', [['10.0.0.5', SLEEP]]));
  assert.equal(peerByAddress(clusters, '10.0.0.5'), undefined);
  clusters.remove('b');
  assert.equal(peerByAddress(clusters, '10.0.0.5')?.workload, 'ratings-v1');

  const info = newStreamInfo();
  info.downstreamRemoteAddress = '10.0.0.5:40000';
  assert.equal(downstreamPeerOf(ctx, info)?.workload, 'ratings-v1', 'plaintext: the address alone names it');
  info.downstreamPeerUri = 'spiffe://cluster.local/ns/shop/sa/ratings';
  assert.equal(downstreamPeerOf(ctx, info)?.workload, 'ratings-v1', 'the certificate agrees');
  info.downstreamPeerUri = 'spiffe://cluster.local/ns/default/sa/sleep';
  assert.equal(downstreamPeerOf(ctx, info), undefined, 'the certificate says another namespace: not believed');
  clusters.close();
});

test('TCP: the destination names a caller from a known endpoint IP; an unknown IP stays unknown', async (t) => {
  const echo = await echoServer('t');
  t.after(() => echo.close());
  const p = await runProxy({
    node: { id: 'sidecar~127.0.0.1~tcp-echo-1.default~default.svc.cluster.local', metadata: { NAME: 'tcp-echo-1', NAMESPACE: 'default', WORKLOAD_NAME: 'tcp-echo', LABELS: { app: 'tcp-echo' } } },
    admin: adminBlock(),
    static_resources: {
      clusters: [
        { name: 'inbound|9000||', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'inbound|9000||', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: echo.port } } } }] }] } },
        // The caller's pod, as an endpoint of a service this sidecar can call.
        knownEndpoint('outbound|80||sleep.default.svc.cluster.local', '127.0.0.1', SLEEP),
      ],
      listeners: [tcpListener('in', [{ filters: [{ name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcpProxyFilter('inbound|9000||')] }])],
    },
  });
  t.after(() => p.stop());
  assert.equal(await exchange(p.ports.get('in')!, 'hi', 4, 5000, '127.0.0.1'), 't:hi');
  const known = await waitForLine(p.adminPort, /^istio_tcp_connections_closed_total\{[^}]*source_workload="sleep"/);
  for (const label of ['reporter="destination"', 'source_workload_namespace="default"', 'source_app="sleep"', 'source_version="v1"', 'source_canonical_service="sleep"', 'destination_workload="tcp-echo"']) {
    assert.ok(known.includes(label), `${label} in ${known}`);
  }
  assert.equal(await exchange(p.ports.get('in')!, 'yo', 4, 5000, '127.0.0.2'), 't:yo');
  const unknown = await waitForLine(p.adminPort, /^istio_tcp_connections_closed_total\{[^}]*source_workload="unknown"/);
  assert.match(unknown, /source_app="unknown"/);
});

test('HTTP: a caller that sent no metadata header is named by its address at the destination', async (t) => {
  const app = await startApp();
  t.after(() => app.server.close());
  const p = await runProxy({
    node: { id: 'sidecar~127.0.0.1~web-1.default~default.svc.cluster.local', metadata: { NAME: 'web-1', NAMESPACE: 'default', WORKLOAD_NAME: 'web-v1', LABELS: { app: 'web' } } },
    admin: adminBlock(),
    static_resources: {
      clusters: [
        { name: 'inbound|80||', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'inbound|80||', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: app.port } } } }] }] } },
        knownEndpoint('outbound|80||sleep.default.svc.cluster.local', '127.0.0.1', SLEEP),
      ],
      listeners: [
        tcpListener('in', [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM,
                  stat_prefix: 'inbound_0.0.0.0_80',
                  http_filters: [
                    { name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/io.istio.http.peer_metadata.Config', downstream_discovery: [{ istio_headers: {} }], downstream_propagation: [{ istio_headers: {} }] } },
                    { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } },
                    { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                  ],
                  route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inbound|80||' } }] }] },
                },
              },
            ],
          },
        ]),
      ],
    },
  });
  t.after(() => p.stop());
  const req = 'GET / HTTP/1.1\r\nhost: web\r\nconnection: close\r\n\r\n';
  const known = await exchange(p.ports.get('in')!, req, Infinity, 5000, '127.0.0.1');
  assert.match(known, /^HTTP\/1\.1 200/);
  assert.doesNotMatch(known, /x-envoy-peer-metadata/i, 'a caller discovered by address did not introduce itself: it learns nothing');
  await exchange(p.ports.get('in')!, req, Infinity, 5000, '127.0.0.2');
  const prom = (await httpGet(p.adminPort, '/stats/prometheus')).body;
  assert.match(prom, /istio_requests_total\{reporter="destination",source_workload="sleep",source_workload_namespace="default",[^}]*source_app="sleep",source_version="v1"[^}]*\} 1/);
  assert.match(prom, /istio_requests_total\{reporter="destination",source_workload="unknown",[^}]*\} 1/);
});
