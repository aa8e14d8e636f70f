import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ENVOY_DESCRIPTOR_PATH, envoyDescriptorFromProtos, envoyProtoRoot, lookupMessageType, protoRootFromDescriptor } from '../../src/xds/protos.js';

const REGENERATE = `regenerate it: node --input-type=module -e "import('./dist/src/xds/protos.js').then((m) => m.writeEnvoyDescriptor())"`;

test('the committed Envoy descriptor is what the .proto files give today', () => {
  const committed = JSON.parse(readFileSync(ENVOY_DESCRIPTOR_PATH, 'utf8')) as unknown;
  const fresh = JSON.parse(JSON.stringify(envoyDescriptorFromProtos())) as unknown;
  assert.deepEqual(committed, fresh, `src/xds/envoy-descriptor.json is stale; ${REGENERATE}`);
});

test('the root built from the descriptor encodes and decodes like one parsed from the .proto files', () => {
  const parsed = protobuf.Root.fromJSON(envoyDescriptorFromProtos().root);
  assert.ok(envoyProtoRoot().lookup('envoy.config.cluster.v3.Cluster'));
  assert.equal(protoRootFromDescriptor(), true, 'the proxy loads its schema from the descriptor, not by parsing .proto files');
  const cluster = {
    name: 'outbound|80||a.ns.svc.cluster.local',
    type: 3,
    connect_timeout: { seconds: 10 },
    eds_cluster_config: { service_name: 'a', eds_config: { ads: {}, resource_api_version: 2 } },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { type_url: 'type.googleapis.com/x', value: Buffer.from([1, 2, 3]) } },
    metadata: { filter_metadata: { istio: { fields: { default_original_port: { number_value: 80 } } } } },
  };
  const ours = lookupMessageType('envoy.config.cluster.v3.Cluster');
  const theirs = parsed.lookupType('envoy.config.cluster.v3.Cluster');
  const a = ours.encode(ours.fromObject(cluster)).finish();
  const b = theirs.encode(theirs.fromObject(cluster)).finish();
  assert.ok(a.length > 50);
  assert.deepEqual(Buffer.from(a), Buffer.from(b));
  assert.deepEqual(ours.toObject(ours.decode(b)), theirs.toObject(theirs.decode(a)));
});
