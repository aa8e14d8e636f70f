import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../src/xds/delta-stream.js';
import { encodeEnvoyJson, toEnvoyJson } from '../../src/xds/envoy-json.js';
import { ADS_DELTA_METHOD, TypeUrl, lookupMessageType } from '../../src/xds/protos.js';
import { AdsServer } from '../../src/xds/server.js';
import { syncz } from '../../src/xds/debug-views.js';
import { StaticGenerator, cla, cluster, silent, waitFor } from './helpers.js';

/** A bare incremental ADS stream, as an Envoy with api_type DELTA_GRPC opens it. */
class RawDeltaStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private readonly inbox: DeltaDiscoveryResponse[] = [];
  private first = true;

  constructor(port: number, private readonly nodeId: string) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const req = lookupMessageType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const res = lookupMessageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    this.call = this.client.makeBidiStreamRequest(
      ADS_DELTA_METHOD,
      (v: DeltaDiscoveryRequest) => Buffer.from(req.encode(v as object).finish()),
      (b: Buffer) => res.decode(b) as unknown as DeltaDiscoveryResponse,
    );
    this.call.on('data', (r: DeltaDiscoveryResponse) => this.inbox.push(r));
    this.call.on('error', () => {});
  }

  send(req: DeltaDiscoveryRequest): void {
    if (this.first) {
      const node = lookupMessageType('envoy.config.core.v3.Node');
      req = { ...req, node: node.decode(encodeEnvoyJson('envoy.config.core.v3.Node', { id: this.nodeId })) };
      this.first = false;
    }
    this.call.write(req);
  }

  async next(ms = 2000): Promise<DeltaDiscoveryResponse> {
    await waitFor(() => this.inbox.length > 0, ms, 'a DeltaDiscoveryResponse');
    return this.inbox.shift()!;
  }

  async drain(ms: number): Promise<DeltaDiscoveryResponse[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.inbox.splice(0);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

const names = (r: DeltaDiscoveryResponse): string[] => r.resources.map((x) => x.name).sort();

test('delta ADS: wildcard and named subscriptions, only changes and removals travel, NACK restores, reconnect sends only what differs', async (t) => {
  const generator = new StaticGenerator()
    .set(TypeUrl.Cluster, 'a', cluster('a'))
    .set(TypeUrl.Cluster, 'b', cluster('b'))
    .set(TypeUrl.ClusterLoadAssignment, 'a', cla('a', 1001))
    .set(TypeUrl.ClusterLoadAssignment, 'b', cla('b', 1002));
  const server = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10 } });
  const port = await server.start();
  const stream = new RawDeltaStream(port, 'envoy-delta');
  t.after(async () => {
    stream.close();
    await server.close();
  });

  stream.send({ type_url: TypeUrl.Cluster, resource_names_subscribe: [] });
  const cds = await stream.next();
  assert.deepEqual(names(cds), ['a', 'b']);
  assert.deepEqual(toEnvoyJson(TypeUrl.Cluster, cds.resources[0].resource), cluster(cds.resources[0].name));
  const versions = Object.fromEntries(cds.resources.map((r) => [r.name, r.version]));
  stream.send({ type_url: TypeUrl.Cluster, response_nonce: cds.nonce });
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: ['a'] });
  const eds = await stream.next();
  assert.deepEqual(names(eds), ['a']);
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, response_nonce: eds.nonce, resource_names_subscribe: ['b'] });
  const edsB = await stream.next();
  assert.deepEqual(names(edsB), ['b'], 'a newly subscribed name alone is sent');
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, response_nonce: edsB.nonce });
  const conn = server.connectionFor('envoy-delta')!;
  await waitFor(() => conn.watches.get(TypeUrl.Cluster)!.ackedVersion === cds.system_version_info, 2000, 'CDS ACK');
  assert.equal(syncz([conn])[0].protocol, 'delta');

  // One cluster changes, one goes away: the response says exactly that.
  generator.set(TypeUrl.Cluster, 'a', cluster('a', { connect_timeout: '3s' }));
  generator.delete(TypeUrl.Cluster, 'b');
  server.push({ reason: 'config', types: [TypeUrl.Cluster] });
  const [change, endpoints] = [await stream.next(), await stream.next()];
  assert.equal(change.type_url, TypeUrl.Cluster);
  assert.deepEqual(names(change), ['a']);
  assert.deepEqual(change.removed_resources, ['b']);
  assert.equal(endpoints.type_url, TypeUrl.ClusterLoadAssignment, 'endpoints follow a cluster change');

  // A NACK: the server forgets it thought "a" was taken, so the next push offers it again.
  stream.send({ type_url: TypeUrl.Cluster, response_nonce: change.nonce, error_detail: { code: 3, message: 'connect_timeout too short' } });
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, response_nonce: endpoints.nonce });
  await waitFor(() => conn.watches.get(TypeUrl.Cluster)!.lastNack !== undefined, 2000, 'NACK recorded');
  assert.match(conn.watches.get(TypeUrl.Cluster)!.lastNack!.message, /too short/);
  server.push({ reason: 'config', types: [TypeUrl.Cluster] });
  const again = await stream.next();
  assert.deepEqual(names(again), ['a']);
  stream.send({ type_url: TypeUrl.Cluster, response_nonce: again.nonce });
  assert.deepEqual((await stream.drain(100)).map((r) => r.type_url), [TypeUrl.ClusterLoadAssignment]);

  // Unsubscribing is not answered; nothing changed means nothing is sent.
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_unsubscribe: ['b'] });
  server.push({ reason: 'config' });
  assert.deepEqual(await stream.drain(150), []);

  // A reconnecting Envoy says what it holds: "a" is current and not resent, stale "b" is removed.
  const resumed = new RawDeltaStream(port, 'envoy-delta-2');
  t.after(() => resumed.close());
  resumed.send({
    type_url: TypeUrl.Cluster,
    initial_resource_versions: { a: again.resources[0].version, b: versions.b },
  });
  const first = await resumed.next();
  assert.deepEqual(first.resources, []);
  assert.deepEqual(first.removed_resources, ['b']);
});
