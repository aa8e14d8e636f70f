import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adsTargetFromBootstrap } from '../../src/xds/ads-target.js';
import type { JsonObject } from '../../src/xds/envoy-json.js';
import { Backoff } from '../../src/xds/backoff.js';
import { SailfinError } from '../../src/common/errors.js';

const node = { id: 'sidecar~10.0.0.1~p.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } };

test('ADS target from an Istio-style bootstrap (envoy_grpc → static xds-grpc cluster) and from google_grpc', () => {
  const bootstrap = {
    node,
    dynamic_resources: {
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: {
      clusters: [
        { name: 'other' },
        {
          name: 'xds-grpc',
          type: 'STATIC',
          load_assignment: {
            cluster_name: 'xds-grpc',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15010 } } } }] }],
          },
        },
      ],
    },
  };
  assert.deepEqual(adsTargetFromBootstrap(bootstrap as JsonObject), { target: '127.0.0.1:15010', node });
  const google = { node, dynamic_resources: { ads_config: { api_type: 'GRPC', grpc_services: [{ google_grpc: { target_uri: 'istiod:15010' } }] } } };
  assert.deepEqual(adsTargetFromBootstrap(google as JsonObject), { target: 'istiod:15010', node });
  assert.equal(adsTargetFromBootstrap({ node, static_resources: {} }), undefined);
});

test('bootstrap mistakes name the field', () => {
  const cases: Array<[object, string]> = [
    [{ dynamic_resources: { ads_config: { api_type: 'REST', grpc_services: [] } } }, 'dynamic_resources.ads_config.api_type'],
    [{ dynamic_resources: { ads_config: { grpc_services: [] } } }, 'dynamic_resources.ads_config.grpc_services'],
    [{ dynamic_resources: { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] } } }, 'dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name'],
    [
      { dynamic_resources: { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] } }, static_resources: { clusters: [{ name: 'xds' }] } },
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address',
    ],
  ];
  for (const [bootstrap, field] of cases) {
    assert.throws(
      () => adsTargetFromBootstrap(bootstrap as never),
      (err: unknown) => err instanceof SailfinError && err.field === field,
      field,
    );
  }
});

test('backoff grows exponentially to its cap, is jittered, and resets', () => {
  const top = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => top.next()), [100, 200, 400, 800, 1000, 1000]);
  top.reset();
  assert.equal(top.next(), 100);
  const bottom = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0);
  assert.deepEqual([1, 2, 3].map(() => bottom.next()), [50, 100, 200]);
});
