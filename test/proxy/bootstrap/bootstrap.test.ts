import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileBootstrap } from '../../../src/proxy/bootstrap/bootstrap.js';
import { locate, parseBootstrapText } from '../../../src/proxy/bootstrap/source.js';
import { SailfinError } from '../../../src/common/errors.js';

const ISTIO_LIKE = `
node:
  id: sidecar~10.1.0.5~productpage-v1-abc.default~default.svc.cluster.local
  cluster: productpage.default
  metadata: {NAMESPACE: default, LABELS: {app: productpage}}
  locality: {region: r1}
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 15000}}
  access_log_path: /dev/null
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    set_node_on_first_message_only: true
    grpc_services:
    - envoy_grpc: {cluster_name: xds-grpc}
  cds_config: {ads: {}, resource_api_version: V3, initial_fetch_timeout: 0s}
  lds_config: {ads: {}, resource_api_version: V3}
layered_runtime:
  layers: [{name: global config, static_layer: {}}]
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
  secrets: []
`;

test("an Istio-style bootstrap (ADS, layered_runtime, node metadata) is accepted and split into its parts", () => {
  const src = parseBootstrapText(ISTIO_LIKE, 'b.yaml');
  const cfg = compileBootstrap(src.json);
  assert.equal(cfg.node.id, 'sidecar~10.1.0.5~productpage-v1-abc.default~default.svc.cluster.local');
  assert.deepEqual(cfg.node.metadata, { NAMESPACE: 'default', LABELS: { app: 'productpage' } });
  assert.deepEqual(cfg.admin?.address, { address: '127.0.0.1', port: 15000 });
  assert.equal(cfg.clusters[0].path, 'static_resources.clusters[0]');
  assert.ok(cfg.dynamic?.ads_config);
  assert.equal(src.lineOf('static_resources.clusters[0].type'), 24);
  assert.equal(src.lineOf('static_resources.clusters[0].type.nonexistent.deeper'), 24);
});

test('JSON bootstraps work the same and errors carry file:line of the field', () => {
  const text = '{\n  "node": {"id": "x"},\n  "dynamic_resources": {\n    "lds_config": {"path": "/etc/lds.yaml"}\n  }\n}\n';
  const src = parseBootstrapText(text, 'b.json');
  try {
    compileBootstrap(src.json);
    assert.fail('accepted a path-based lds_config');
  } catch (err) {
    const e = locate(err, src) as SailfinError;
    assert.equal(e.describe(), 'b.json:4: dynamic_resources.lds_config.path: field "path" is not supported by Sailfin (see docs/envoy-subset.md)');
  }
});

test('rejected: duplicate listener names, non-ADS config sources, several documents, non-mapping', () => {
  const dup = parseBootstrapText('static_resources:\n  listeners:\n  - {name: a}\n  - {name: a}\n', 'd.yaml');
  assert.throws(() => compileBootstrap(dup.json), (e: unknown) => e instanceof SailfinError && e.field === 'static_resources.listeners[1].name');
  const grpc = parseBootstrapText('dynamic_resources:\n  cds_config: {api_config_source: {}}\n', 'g.yaml');
  assert.throws(() => compileBootstrap(grpc.json), (e: unknown) => e instanceof SailfinError && e.field === 'dynamic_resources.cds_config.api_config_source');
  const v2 = parseBootstrapText('dynamic_resources:\n  cds_config: {ads: {}, resource_api_version: V2}\n', 'g.yaml');
  assert.throws(() => compileBootstrap(v2.json), (e: unknown) => e instanceof SailfinError && /only V3/.test(e.message));
  assert.throws(() => parseBootstrapText('a: 1\n---\nb: 2\n', 'm.yaml'), /one YAML\/JSON document/);
  assert.throws(() => parseBootstrapText('- 1\n', 'l.yaml'), /must be a mapping/);
  assert.throws(() => parseBootstrapText('a: [1,\n', 'y.yaml'), (e: unknown) => e instanceof SailfinError && e.kind === 'yaml' && e.location?.file === 'y.yaml');
});
