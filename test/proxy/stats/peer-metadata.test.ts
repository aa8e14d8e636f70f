/**
 * Istio's metadata exchange between two real sidecars: the standard metrics of both carry the
 * peer's workload, app, version and canonical service; the exchange headers never reach the app or
 * the caller; a caller without a sidecar stays "unknown".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeStruct, encodeStruct } from '../../../src/proxy/stats/peer-metadata-codec.js';
import { peerFromHeader } from '../../../src/proxy/stats/peer-metadata.js';
import { httpGet } from '../integration/harness.js';
import { clientProxy, serverProxy, startApp } from '../tracing/two-hop.js';

test('the Struct codec round-trips node metadata (strings, numbers, bools, nested maps, lists)', () => {
  const md = { NAME: 'web-1', LABELS: { app: 'web', version: 'v1' }, N: 3.5, B: true, L: ['a', 'b'], Z: null };
  assert.deepEqual(decodeStruct(encodeStruct(md)), md);
  // A value a stock Istio sidecar would send decodes the same; garbage is no peer rather than an error.
  const header = encodeStruct({ NAME: 'p', NAMESPACE: 'ns', WORKLOAD_NAME: 'w', LABELS: { app: 'a' } }).toString('base64');
  assert.deepEqual(peerFromHeader(header), { name: 'p', workload: 'w', namespace: 'ns', app: 'a', version: 'unknown', cluster: 'unknown', canonicalService: 'a', canonicalRevision: 'latest' });
  assert.equal(peerFromHeader('!!not base64 protobuf'), undefined);
});

test('sidecars exchange metadata: peer labels on both reporters, headers stripped', async (t) => {
  const app = await startApp();
  t.after(() => app.server.close());
  const server = await serverProxy(app.port, undefined);
  t.after(() => server.stop());
  const client = await clientProxy(server.ports.get('in')!, undefined);
  t.after(() => client.stop());

  const r = await httpGet(client.ports.get('out')!, '/ip', { headers: { host: 'web.default.svc.cluster.local' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-envoy-peer-metadata'], undefined, 'the caller does not see the server sidecar metadata');
  assert.equal(r.headers['x-envoy-peer-metadata-id'], undefined);
  assert.equal(app.seen[0]['x-envoy-peer-metadata'], undefined, 'the app does not see the client sidecar metadata');
  assert.equal(app.seen[0]['x-envoy-peer-metadata-id'], undefined);

  const source = (await httpGet(client.adminPort, '/stats/prometheus')).body.split('\n').find((l) => l.startsWith('istio_requests_total{')) ?? '';
  for (const label of [
    'reporter="source"',
    'source_workload="sleep"',
    'source_app="sleep"',
    'destination_workload="web-v1"',
    'destination_workload_namespace="default"',
    'destination_app="web"',
    'destination_version="v1"',
    'destination_canonical_service="web"',
    'destination_canonical_revision="v1"',
    'destination_service="web.default.svc.cluster.local"',
    'destination_cluster="Kubernetes"',
    'connection_security_policy="unknown"',
    'response_code="200"',
  ]) assert.ok(source.includes(label), `${label} in ${source}`);

  const dest = (await httpGet(server.adminPort, '/stats/prometheus')).body.split('\n').find((l) => l.startsWith('istio_requests_total{')) ?? '';
  for (const label of [
    'reporter="destination"',
    'source_workload="sleep"',
    'source_workload_namespace="default"',
    'source_app="sleep"',
    'source_version="v1"',
    'source_canonical_service="sleep"',
    'destination_workload="web-v1"',
    'destination_app="web"',
    'connection_security_policy="none"',
    'response_flags="-"',
  ]) assert.ok(dest.includes(label), `${label} in ${dest}`);

  // A caller without a sidecar (straight to the server sidecar) sends no metadata: unknown, and it gets none back.
  const legacy = await httpGet(server.ports.get('in')!, '/ip', { headers: { 'x-envoy-peer-metadata-id': 'forged' } });
  assert.equal(legacy.headers['x-envoy-peer-metadata'], undefined);
  assert.equal(app.seen[1]['x-envoy-peer-metadata-id'], undefined, 'a stray id header is stripped too');
  const prom = (await httpGet(server.adminPort, '/stats/prometheus')).body;
  assert.match(prom, /istio_requests_total\{reporter="destination",source_workload="unknown",[^}]*source_app="unknown"[^}]*\} 1/);
});

test('without an exchange (TCP), the source names the destination from the endpoint Istio metadata', async (t) => {
  const { echoServer, exchange } = await import('../listener/fake-upstream.js');
  const { adminBlock, ISTIO_STATS_FILTER, runProxy, SLEEP_SIDECAR_NODE, staticCluster, tcpListener, tcpProxyFilter } = await import('../integration/harness.js');
  const { istioWorkload } = await import('../../../src/pilot/endpoints/load-assignment.js');
  const ep = { address: '127.0.0.1', port: 1, servicePort: 9000, labels: { app: 'tcp-echo', version: 'v1', 'pod-template-hash': 'abc12' }, ready: true, locality: {}, tlsMode: 'istio', weight: 1, workload: { name: 'tcp-echo-v1-abc12-x7k2p', namespace: 'default' } };
  const workload = istioWorkload(ep as never);
  assert.equal(workload, 'tcp-echo-v1;default;tcp-echo;v1;Kubernetes');
  const tcp = await echoServer('t');
  t.after(() => tcp.close());
  const cluster = 'outbound|9000||tcp-echo.default.svc.cluster.local';
  const p = await runProxy({
    node: SLEEP_SIDECAR_NODE,
    admin: adminBlock(),
    static_resources: {
      clusters: [
        staticCluster(cluster, [], {
          load_assignment: {
            cluster_name: cluster,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: tcp.port } } }, metadata: { filter_metadata: { istio: { workload } } } }] }],
          },
        }),
      ],
      listeners: [tcpListener('tcp', [{ filters: [ISTIO_STATS_FILTER, tcpProxyFilter(cluster)] }])],
    },
  });
  t.after(() => p.stop());
  assert.equal(await exchange(p.ports.get('tcp')!, 'hi', 4), 't:hi');
  const line = (await httpGet(p.adminPort, '/stats/prometheus')).body.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{')) ?? '';
  for (const label of ['reporter="source"', 'source_workload="sleep"', 'destination_workload="tcp-echo-v1"', 'destination_app="tcp-echo"', 'destination_version="v1"', 'destination_canonical_service="tcp-echo"', 'destination_cluster="Kubernetes"']) {
    assert.ok(line.includes(label), `${label} in ${line}`);
  }
});
