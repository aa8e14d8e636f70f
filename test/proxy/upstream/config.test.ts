import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SailfinError } from '../../../src/common/errors.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { applyConnectionPool, applyLoadBalancer, applyOutlierDetection } from '../../../src/pilot/clusters/traffic-policy.js';
import { autoMtlsSocketMatches, destinationRuleSocket } from '../../../src/pilot/clusters/upstream-tls.js';
import { blackHoleCluster, inboundCluster, passthroughCluster } from '../../../src/pilot/clusters/special-clusters.js';
import { newManager, staticCluster } from './helpers.js';
import { compileClusterConfig } from '../../../src/proxy/upstream/cluster-config.js';
import { JsonInterner } from '../../../src/xds/json-intern.js';

test("clusters as Sailfin's control plane generates them compile, with Istio's settings in force", () => {
  const { cm } = newManager();
  const cluster: JsonObject = { name: 'outbound|8000||httpbin.default.svc.cluster.local', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'outbound|8000||httpbin.default.svc.cluster.local' } };
  applyLoadBalancer(cluster, undefined, 'tp.loadBalancer');
  applyConnectionPool(cluster, { tcp: { maxConnections: 1, tcpKeepalive: { time: '30s', interval: '5s', probes: 3 } }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } }, 'tp.connectionPool', false);
  applyOutlierDetection(cluster, { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '3m', maxEjectionPercent: 100 }, 'tp.outlierDetection');
  cluster.transport_socket_matches = autoMtlsSocketMatches('outbound_.8000_._.httpbin.default.svc.cluster.local', ['spiffe://cluster.local/ns/default/sa/httpbin'], true);
  cluster.metadata = { filter_metadata: { istio: { default_original_port: 8000 } } };
  const c = cm.addOrUpdate(cluster, 'clusters[outbound|8000||httpbin.default.svc.cluster.local]');
  assert.equal(c.info.lbPolicy, 'LEAST_REQUEST', "Istio's default");
  assert.equal(c.resources.connections.max, 1);
  assert.equal(c.resources.pendingRequests.max, 1);
  assert.equal(c.resources.requests.max, 4294967295);
  assert.equal(c.info.maxRequestsPerConnection, 1);
  assert.equal(c.info.connectTimeoutMs, 10000);
  assert.equal(c.info.tls, true);
  assert.equal(c.cfg.outlier?.consecutive5xx, 1);
  assert.equal(c.cfg.outlier?.baseEjectionTimeMs, 180000);
  assert.equal(c.cfg.panicThresholdPercent, 0, 'Istio turns panic mode off with outlier detection');

  const hashed: JsonObject = { name: 'hashed', type: 'EDS' };
  applyLoadBalancer(hashed, { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } } }, 'lb');
  assert.equal(cm.addOrUpdate(hashed, 'c').info.lbPolicy, 'MAGLEV');
  const ring: JsonObject = { name: 'ring', type: 'EDS' };
  applyLoadBalancer(ring, { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 2048 } } }, 'lb');
  assert.equal(cm.addOrUpdate(ring, 'c').cfg.ringHash.minRingSize, 2048);

  const simple: JsonObject = { name: 'egress', type: 'STRICT_DNS', load_assignment: { endpoints: [] }, dns_lookup_family: 'V4_ONLY' };
  simple.transport_socket = destinationRuleSocket({ mode: 'SIMPLE', sni: 'edition.cnn.com' }, 'dr.tls', { sni: 'edition.cnn.com', istioSni: 'x', serverIdentities: [], http: true })!;
  assert.equal(cm.addOrUpdate(simple, 'c').info.tls, true);

  for (const special of [passthroughCluster(), blackHoleCluster(), inboundCluster(9080, 8080, false)]) cm.addOrUpdate(special, `clusters[${special.name as string}]`);
  assert.equal(cm.get('PassthroughCluster')!.info.upstreamProtocol, 'use_downstream');
  assert.equal(cm.get('BlackHoleCluster')!.chooseHost({}), null);
  cm.close();
});

test('bad or unsupported cluster fields are errors that name their path', () => {
  const { cm } = newManager();
  const cases: [JsonObject, string, RegExp?][] = [
    [{ type: 'STATIC_PLUS' }, 'c.type', /unsupported value "STATIC_PLUS"/],
    [{ connect_timeout: '5 seconds' }, 'c.connect_timeout', /duration/],
    [{ connect_timeout: '0s' }, 'c.connect_timeout'],
    [{ circuit_breakers: { thresholds: [{ max_connections: -1 }] } }, 'c.circuit_breakers.thresholds[0].max_connections'],
    [{ circuit_breakers: { thresholds: [{ retry_budget: {} }] } }, 'c.circuit_breakers.thresholds[0].retry_budget'],
    [{ circuit_breakers: { thresholds: [{ priority: 'URGENT' }] } }, 'c.circuit_breakers.thresholds[0].priority'],
    [{ outlier_detection: { max_ejection_percent: 101 } }, 'c.outlier_detection.max_ejection_percent'],
    [{ outlier_detection: { split_external_local_origin_errors: true } }, 'c.outlier_detection.split_external_local_origin_errors'],
    [{ outlier_detection: { enforcing_success_rate: 100 } }, 'c.outlier_detection.enforcing_success_rate'],
    [{ outlier_detection: { success_rate_minimum_hosts: 5 } }, 'c.outlier_detection.success_rate_minimum_hosts'],
    [{ ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }, 'c.ring_hash_lb_config.hash_function'],
    [{ ring_hash_lb_config: { minimum_ring_size: 4096, maximum_ring_size: 1024 } }, 'c.ring_hash_lb_config.minimum_ring_size'],
    [{ maglev_lb_config: { table_size: 65536 } }, 'c.maglev_lb_config.table_size', /prime/],
    [{ common_lb_config: { zone_aware_lb_config: {} } }, 'c.common_lb_config.zone_aware_lb_config'],
    [{ common_lb_config: { healthy_panic_threshold: { value: 150 } } }, 'c.common_lb_config.healthy_panic_threshold.value'],
    [{ lb_subset_config: {} }, 'c.lb_subset_config'],
    [{ load_balancing_policy: {} }, 'c.load_balancing_policy'],
    [{ eds_cluster_config: { service_name: 'x' } }, 'c.eds_cluster_config', /only valid for type EDS/],
    [{ typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', auto_config: {} } } }, 'c.typed_extension_protocol_options.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.auto_config'],
    [{ dns_lookup_family: 'V5' }, 'c.dns_lookup_family'],
    [{ transport_socket_matches: [{ match: {} }] }, 'c.transport_socket_matches[0].name'],
    [{ upstream_connection_options: { tcp_keepalive: { keepalive_time: 'x' } } }, 'c.upstream_connection_options.tcp_keepalive.keepalive_time'],
    [{ load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: '/x' } } } }] }] } }, 'c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe'],
    [{ load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.1.1.1', port_value: 1 } } }, health_status: 'SICK' }] }] } }, 'c.load_assignment.endpoints[0].lb_endpoints[0].health_status'],
    [{ load_assignment: { endpoints: [{ priority: -1 }] } }, 'c.load_assignment.endpoints[0].priority'],
    [{ load_assignment: { policy: { drop_overloads: [{ category: 'x' }] } } }, 'c.load_assignment.policy.drop_overloads'],
  ];
  for (const [extra, field, message] of cases) {
    assert.throws(
      () => cm.addOrUpdate(staticCluster('svc', [80], extra), 'c'),
      (e: unknown) => e instanceof SailfinError && e.field === field && (!message || message.test(e.message)),
      `expected an error at ${field}`,
    );
  }
  assert.throws(
    () => cm.addOrUpdate({ name: 's', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'db.example.com', port_value: 5432 } } } }] }] } }, 'c'),
    (e: unknown) => e instanceof SailfinError && e.field === 'c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address' && /STRICT_DNS/.test(e.message),
  );
  assert.throws(() => cm.addOrUpdate({ type: 'EDS' }, 'c'), (e: unknown) => e instanceof SailfinError && e.field === 'c.name');
  assert.throws(() => cm.addOrUpdate({ name: 'x', type: 'STATIC' }, 'c'), (e: unknown) => e instanceof SailfinError && e.field === 'c.load_assignment');
  assert.deepEqual(cm.names(), []);
  cm.close();
});

test('clusters whose transport sockets are one shared (interned, frozen) block share one compiled form; mutable JSON is compiled apart', () => {
  const outbound = (name: string): JsonObject => ({
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    transport_socket_matches: autoMtlsSocketMatches(`outbound_.80_._.${name}`, [`spiffe://cluster.local/ns/default/sa/${name}`], true).map((m) => ({ ...m })),
  });
  // The same match block in both: what the xDS client's interner turns into one frozen object.
  const interner = new JsonInterner();
  const shared = interner.intern(outbound('a').transport_socket_matches as JsonObject[]);
  const [a, b] = ['a', 'b'].map((n) => compileClusterConfig({ ...outbound(n), transport_socket_matches: shared }, `clusters[${n}]`));
  assert.equal(a.transportMatches, b.transportMatches, 'compiled once for the shared block');
  const [c, d] = ['a', 'a'].map((n) => compileClusterConfig(outbound(n), `clusters[${n}]`));
  assert.notEqual(c.transportMatches, d.transportMatches, 'mutable JSON is never memoized');
});
