import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRE_SERIALIZED, adsCodecs, serializeResponse, type DiscoveryResponse } from '../../src/xds/ads-service.js';
import type { EnvoyJson } from '../../src/xds/envoy-json.js';
import { encodeResource, responseField } from '../../src/xds/resource-encoder.js';
import type { ConnectedProxy, GeneratedResource, XdsGenerator } from '../../src/xds/generator.js';
import { installPreFramedWrites } from '../../src/xds/grpc-framing.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { AdsServer } from '../../src/xds/server.js';
import { RawAdsStream, decoded, silent, waitFor } from './helpers.js';

function table(cluster: string): EnvoyJson {
  return { name: '80', virtual_hosts: [{ name: 'svc', domains: ['svc'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] };
}

/** One route table per namespace (the second field of the node id's `pod.namespace`), as sidecars of a namespace share. */
class NamespaceTables implements XdsGenerator {
  tables = new Map<string, EnvoyJson>();
  generate(proxy: ConnectedProxy, typeUrl: XdsTypeUrl): GeneratedResource[] {
    if (typeUrl !== TypeUrl.RouteConfiguration) return [];
    const ns = proxy.id.split('~')[2].split('.')[1];
    return [{ name: '80', resource: this.tables.get(ns)! }];
  }
}

test('a push serializes each distinct response once, shares its nonce, and every stream ACKs it', async (t) => {
  assert.equal(installPreFramedWrites(), true, 'grpc-js still lets pre-framed responses through by reference');
  const generator = new NamespaceTables();
  generator.tables.set('a', table('a-v1')).set('b', table('b-v1'));
  const server = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10, maxDelayMs: 1000 } });
  await server.start();
  const ids = ['p1.a', 'p2.a', 'p3.b'].map((p) => `sidecar~10.0.0.1~${p}~default.svc.cluster.local`);
  const streams = ids.map((id) => new RawAdsStream(server.port!, id));
  t.after(async () => {
    for (const s of streams) s.close();
    await server.close();
  });
  for (const s of streams) {
    s.send({ type_url: TypeUrl.RouteConfiguration, resource_names: ['80'] });
    s.answer(await s.next(), ['80']);
  }

  generator.tables.set('a', table('a-v2')).set('b', table('b-v2'));
  const pushed = new Promise<{ serialized: { built: number; reused: number } }>((resolve) => server.once('pushed', resolve));
  server.push({ reason: 'config', types: [TypeUrl.RouteConfiguration] });
  const [r1, r2, r3] = await Promise.all(streams.map((s) => s.next()));
  assert.deepEqual(decoded(r1), [table('a-v2')]);
  assert.deepEqual(decoded(r2), [table('a-v2')]);
  assert.deepEqual(decoded(r3), [table('b-v2')]);
  assert.equal(r1.nonce, r2.nonce);
  assert.equal(r1.nonce, r3.nonce, 'one nonce per type per push');
  assert.equal(r1.version_info, r3.version_info);
  assert.deepEqual((await pushed).serialized, { built: 2, reused: 1 }, 'namespace a serialized once for its two proxies');

  for (const [i, s] of streams.entries()) s.answer([r1, r2, r3][i], ['80']);
  await waitFor(() => server.connections().every((c) => c.watches.get(TypeUrl.RouteConfiguration)?.ackedVersion === r1.version_info), 3000, 'every ACK of the shared nonce');

  // The next push has a nonce of its own: an ACK of the old one would be stale.
  generator.tables.set('a', table('a-v3'));
  server.push({ reason: 'config', types: [TypeUrl.RouteConfiguration] });
  const next = await streams[0].next();
  assert.notEqual(next.nonce, r1.nonce);
  assert.deepEqual(decoded(next), [table('a-v3')]);
});

test('without the grpc-js shortcut, a pre-serialized response still goes out whole through the codec', () => {
  const header = { version_info: 'v1', resources: [], type_url: TypeUrl.RouteConfiguration, nonce: 'n1', control_plane: { identifier: 'sailfin' } };
  const any = encodeResource(TypeUrl.RouteConfiguration, table('c'));
  const { frame, message } = serializeResponse(header, [responseField(any)]);
  assert.equal(frame.readUInt32BE(1), message.length, 'the frame names the message length');
  const { response } = adsCodecs();
  const out = response.serialize({ ...header, [PRE_SERIALIZED]: message } as DiscoveryResponse);
  assert.equal(out, message, 'handed to gRPC as is');
  const back = response.deserialize(out);
  assert.equal(back.nonce, 'n1');
  assert.deepEqual(decoded(back), [table('c')]);
});
