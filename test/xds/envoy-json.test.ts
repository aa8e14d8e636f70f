import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromEnvoyJson, toEnvoyJson, type EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { SailfinError } from '../../src/common/errors.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function roundTrip(typeUrl: string, json: EnvoyJson): EnvoyJson {
  const any = fromEnvoyJson(typeUrl, json);
  assert.equal(any.type_url, typeUrl);
  return toEnvoyJson(typeUrl, any);
}

test('Listener with an HCM typed_config (RDS over ADS, router filter) round-trips', () => {
  const listener: EnvoyJson = {
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [
      {
        filter_chain_match: { destination_port: 9080, prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] },
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'outbound_0.0.0.0_9080',
              rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: '9080' },
              http_filters: [
                {
                  name: 'envoy.filters.http.fault',
                  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' },
                },
                { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
              ],
              stream_idle_timeout: '0s',
              use_remote_address: false,
            },
          },
        ],
      },
    ],
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
  };
  const back = roundTrip(TypeUrl.Listener, listener);
  // use_remote_address is a BoolValue and "0s" a Duration: messages, so they survive even at their zero value.
  assert.deepEqual(back, listener);
});

test('RouteConfiguration with weighted clusters, header match, retry, fault and metadata round-trips', () => {
  const route: EnvoyJson = {
    name: '9080',
    virtual_hosts: [
      {
        name: 'reviews.default.svc.cluster.local:9080',
        domains: ['reviews.default.svc.cluster.local', 'reviews', 'reviews:9080'],
        routes: [
          {
            match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 90 },
                  { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: 10 },
                ],
              },
              timeout: '1.500s', // protobuf's canonical form: 0, 3, 6 or 9 fraction digits
              retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2 },
            },
            metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' } } },
            typed_per_filter_config: {
              'envoy.filters.http.fault': {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
                delay: { fixed_delay: '7s', percentage: { numerator: 100, denominator: 'HUNDRED' } },
              },
            },
          },
        ],
      },
    ],
    validate_clusters: false,
  };
  const back = roundTrip(TypeUrl.RouteConfiguration, route) as any;
  const expected = structuredClone(route) as any;
  // HUNDRED is the enum's zero value, and false is validate_clusters' wrapper value (kept: it is a BoolValue).
  delete expected.virtual_hosts[0].routes[0].typed_per_filter_config['envoy.filters.http.fault'].delay.percentage.denominator;
  assert.deepEqual(back, expected);
});

test('Cluster with an EDS config, TLS transport_socket and circuit breakers round-trips', () => {
  const cluster: EnvoyJson = {
    name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'outbound|9080|v1|reviews.default.svc.cluster.local' },
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_retries: 4294967295 }] },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
          alpn_protocols: ['istio-peer-exchange', 'istio'],
        },
        sni: 'outbound_.9080_.v1_.reviews.default.svc.cluster.local',
      },
    },
    outlier_detection: { consecutive_5xx: 7, interval: '300s', base_ejection_time: '900s', max_ejection_percent: 100 },
  };
  assert.deepEqual(roundTrip(TypeUrl.Cluster, cluster), cluster);
});

test('ClusterLoadAssignment with localities and weights, and a Secret with inline PEM, round-trip', () => {
  const cla: EnvoyJson = {
    cluster_name: 'outbound|9080||reviews.default.svc.cluster.local',
    endpoints: [
      {
        locality: { region: 'us', zone: 'us-east-1a' },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '10.1.0.5', port_value: 9080 } } }, load_balancing_weight: 1, health_status: 'HEALTHY' },
        ],
        load_balancing_weight: 1,
        priority: 1,
      },
    ],
  };
  assert.deepEqual(roundTrip(TypeUrl.ClusterLoadAssignment, cla), cla);
  const secret: EnvoyJson = {
    name: 'default',
    tls_certificate: {
      certificate_chain: { inline_bytes: Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64') },
      private_key: { inline_string: '-----BEGIN PRIVATE KEY-----\n' },
    },
  };
  assert.deepEqual(roundTrip(TypeUrl.Secret, secret), secret);
});

test('Struct metadata keeps strings, numbers, booleans, lists, nested objects and null', () => {
  const metadata = { NAMESPACE: 'default', LABELS: { app: 'reviews', version: 'v1' }, INSTANCE_IPS: ['10.0.0.5'], n: 3.5, on: true, none: null };
  const back = roundTrip(TypeUrl.Cluster, { name: 'c', metadata: { filter_metadata: { istio: metadata } } });
  assert.deepEqual(back, { name: 'c', metadata: { filter_metadata: { istio: metadata } } });
});

test('camelCase input is accepted and comes back snake_case', () => {
  const back = roundTrip(TypeUrl.Cluster, { name: 'c', connectTimeout: '0.250s', lbPolicy: 'RING_HASH' });
  assert.deepEqual(back, { name: 'c', connect_timeout: '0.250s', lb_policy: 'RING_HASH' });
});

test('bad input names the field path', () => {
  const cases: Array<[EnvoyJson, string, RegExp]> = [
    [{ name: 'c', conect_timeout: '1s' }, 'conect_timeout', /unknown field/],
    [{ name: 'c', connect_timeout: 'soon' }, 'connect_timeout', /duration/],
    [{ name: 'c', lb_policy: 'FASTEST' }, 'lb_policy', /not one of/],
    [{ name: 'c', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 'x' } } } }] }] } },
      'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value', /integer/],
    [{ name: 'c', transport_socket: { name: 't', typed_config: { '@type': 'type.googleapis.com/no.Such' } } }, 'transport_socket.typed_config.@type', /unknown message type/],
  ];
  for (const [json, field, message] of cases) {
    assert.throws(
      () => fromEnvoyJson(TypeUrl.Cluster, json),
      (err: unknown) => err instanceof SailfinError && err.field === field && message.test(err.message),
      `expected an error at ${field}`,
    );
  }
});

test('a resource of another type is refused', () => {
  const any = fromEnvoyJson(TypeUrl.Cluster, { name: 'c' });
  assert.throws(() => toEnvoyJson(TypeUrl.Listener, any), /expected type.googleapis.com\/envoy.config.listener.v3.Listener/);
});
