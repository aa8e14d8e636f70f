import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { AdsClient, type XdsClientEvents } from '../../src/xds/client.js';
import { AdsServer } from '../../src/xds/server.js';
import { adsServiceDefinition, type DiscoveryRequest, type DiscoveryResponse } from '../../src/xds/ads-service.js';
import { fromEnvoyJson, type EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl, shortTypeName, type XdsTypeUrl } from '../../src/xds/protos.js';
import { StaticGenerator, cla, cluster, silent, tcpListener, waitFor } from './helpers.js';

/** Stands in for the proxy: keeps what it applied, refuses RING_HASH clusters, watches EDS for its clusters. */
class RecordingProxy implements XdsClientEvents {
  readonly config = new Map<string, ReadonlyMap<string, EnvoyJson>>();
  readonly applied: string[] = [];
  connects = 0;
  disconnects = 0;
  client!: AdsClient;
  onResources(typeUrl: XdsTypeUrl, resources: ReadonlyMap<string, EnvoyJson>): void {
    if (typeUrl === TypeUrl.Cluster) {
      for (const [name, c] of resources) if (c.lb_policy === 'RING_HASH') throw new Error(`cluster ${name}: lb_policy RING_HASH is not supported`);
      this.client.watch(TypeUrl.ClusterLoadAssignment, [...resources.keys()]);
    }
    this.config.set(shortTypeName(typeUrl), resources);
    this.applied.push(shortTypeName(typeUrl));
  }
  onConnected(): void {
    this.connects++;
  }
  onDisconnected(): void {
    this.disconnects++;
  }
  names(type: string): string[] {
    return [...(this.config.get(type)?.keys() ?? [])];
  }
}

function generator(): StaticGenerator {
  return new StaticGenerator()
    .set(TypeUrl.Cluster, 'a', cluster('a'))
    .set(TypeUrl.Cluster, 'b', cluster('b'))
    .set(TypeUrl.ClusterLoadAssignment, 'a', cla('a', 1001))
    .set(TypeUrl.ClusterLoadAssignment, 'b', cla('b', 1002))
    .set(TypeUrl.Listener, 'l1', tcpListener('l1', 2001, 'a'));
}

function startClient(port: number, proxy: RecordingProxy, id = 'sailfin-proxy'): AdsClient {
  const client = new AdsClient({
    target: `127.0.0.1:${port}`,
    node: { id, cluster: 'reviews.default', metadata: { NAMESPACE: 'default' } },
    events: proxy,
    logger: silent,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  proxy.client = client;
  client.start();
  return client;
}

test('client applies clusters, endpoints and listeners, ACKs them, and NACKs what the proxy refuses while keeping the old config', async (t) => {
  const gen = generator();
  const server = new AdsServer({ generator: gen, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10 } });
  const port = await server.start();
  const proxy = new RecordingProxy();
  const client = startClient(port, proxy);
  t.after(async () => {
    client.close();
    await server.close();
  });
  await waitFor(() => proxy.config.has('LDS') && proxy.config.has('EDS'), 3000, 'initial config');
  assert.equal(proxy.applied[0], 'CDS');
  assert.ok(proxy.applied.indexOf('LDS') > 0);
  assert.deepEqual(proxy.names('CDS'), ['a', 'b']);
  assert.deepEqual(proxy.names('EDS'), ['a', 'b']);
  const conn = server.connectionFor('sailfin-proxy')!;
  assert.deepEqual(conn.metadata, { NAMESPACE: 'default' });
  await waitFor(() => [...conn.watches.values()].every((w) => w.ackedVersion === w.sentVersion), 2000, 'all ACKed');
  const good = conn.watches.get(TypeUrl.Cluster)!.ackedVersion!;

  gen.set(TypeUrl.Cluster, 'c', cluster('c', { lb_policy: 'RING_HASH' }));
  server.push({ reason: 'config' });
  await waitFor(() => conn.watches.get(TypeUrl.Cluster)!.lastNack !== undefined, 2000, 'NACK');
  const cds = conn.watches.get(TypeUrl.Cluster)!;
  assert.match(cds.lastNack!.message, /cluster c: lb_policy RING_HASH is not supported/);
  assert.equal(cds.ackedVersion, good);
  assert.equal(cds.lastNack!.version, good, 'the NACK says which version the proxy still runs');
  assert.deepEqual(proxy.names('CDS'), ['a', 'b']);
  const status = client.status().find((s) => s.typeUrl === TypeUrl.Cluster)!;
  assert.equal(status.acceptedVersion, good);
  assert.match(status.lastError!, /RING_HASH/);

  gen.set(TypeUrl.Cluster, 'c', cluster('c'));
  server.push({ reason: 'config' });
  await waitFor(() => proxy.names('CDS').length === 3, 2000, 'fixed config applied');
  await waitFor(() => cds.ackedVersion === cds.sentVersion && cds.ackedVersion !== good, 2000, 'ACK of the fix');
  await waitFor(() => proxy.names('EDS').length === 2 && conn.subscribedNames(TypeUrl.ClusterLoadAssignment)!.length === 3, 2000, 'EDS watch grew');
  assert.equal(client.status().find((s) => s.typeUrl === TypeUrl.Cluster)!.lastError, undefined);
});

/** A server that answers listeners first (and clusters 100 ms later, or never), to see what the client does. */
async function listenersFirstServer(sendClusters: boolean): Promise<{ grpcServer: grpc.Server; port: number }> {
  const grpcServer = new grpc.Server();
  grpcServer.addService(adsServiceDefinition(), {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
      const seen = new Set<string>();
      let answered = false;
      call.on('data', (req: DiscoveryRequest) => {
        seen.add(req.type_url!);
        if (answered || !seen.has(TypeUrl.Listener) || !seen.has(TypeUrl.Cluster)) return;
        answered = true;
        call.write({ version_info: '1', nonce: 'l', type_url: TypeUrl.Listener, resources: [fromEnvoyJson(TypeUrl.Listener, tcpListener('l1', 1, 'a'))] });
        if (!sendClusters) return;
        setTimeout(() => call.write({ version_info: '1', nonce: 'c', type_url: TypeUrl.Cluster, resources: [fromEnvoyJson(TypeUrl.Cluster, cluster('a'))] }), 100);
      });
      call.on('data', (req: DiscoveryRequest) => {
        // Endpoints only when asked for, a little later still.
        if (req.type_url !== TypeUrl.ClusterLoadAssignment || req.response_nonce) return;
        setTimeout(() => call.write({ version_info: '1', nonce: 'e', type_url: TypeUrl.ClusterLoadAssignment, resources: [fromEnvoyJson(TypeUrl.ClusterLoadAssignment, cla('a', 1))] }), 100);
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
    DeltaAggregatedResources: () => {},
  });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { grpcServer, port };
}

test('client holds listeners that arrive first until the clusters and their endpoints are applied', async (t) => {
  const { grpcServer, port } = await listenersFirstServer(true);
  const proxy = new RecordingProxy();
  const client = startClient(port, proxy);
  t.after(() => {
    client.close();
    grpcServer.forceShutdown();
  });
  await waitFor(() => proxy.applied.includes('LDS'), 3000, 'listeners applied');
  assert.deepEqual(proxy.applied, ['CDS', 'EDS', 'LDS']);
});

test('client applies held listeners after a while when the server never answers for clusters', async (t) => {
  const { grpcServer, port } = await listenersFirstServer(false);
  const proxy = new RecordingProxy();
  const client = new AdsClient({ target: `127.0.0.1:${port}`, node: { id: 'p' }, events: proxy, logger: silent, listenerHoldMs: 300 });
  proxy.client = client;
  client.start();
  t.after(() => {
    client.close();
    grpcServer.forceShutdown();
  });
  const started = Date.now();
  await waitFor(() => proxy.applied.includes('LDS'), 3000, 'listeners applied without clusters');
  assert.ok(Date.now() - started >= 250, 'held first');
  assert.deepEqual(proxy.applied, ['LDS']);
});

test('client keeps its config while the control plane is down and resumes with backoff when it returns', async (t) => {
  const gen = generator();
  let server = new AdsServer({ generator: gen, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10 } });
  const port = await server.start();
  const proxy = new RecordingProxy();
  const client = startClient(port, proxy);
  t.after(async () => {
    client.close();
    await server.close();
  });
  await waitFor(() => proxy.config.has('LDS') && proxy.config.has('EDS'), 3000, 'initial config');
  const conn = server.connectionFor('sailfin-proxy')!;
  await waitFor(() => conn.watches.get(TypeUrl.Cluster)!.ackedVersion !== undefined, 2000, 'ACK');
  const version = client.status().find((s) => s.typeUrl === TypeUrl.Cluster)!.acceptedVersion;
  const appliedBefore = proxy.applied.length;

  await server.close();
  await waitFor(() => proxy.disconnects === 1 && !client.connected, 3000, 'disconnect noticed');
  await new Promise((r) => setTimeout(r, 400)); // several failed reconnect attempts
  assert.equal(proxy.applied.length, appliedBefore, 'nothing was applied or removed while the server was away');
  assert.deepEqual(proxy.names('CDS'), ['a', 'b']);

  gen.set(TypeUrl.Cluster, 'c', cluster('c'));
  server = new AdsServer({ generator: gen, host: '127.0.0.1', port, logger: silent });
  await server.start();
  await waitFor(() => proxy.names('CDS').length === 3, 3000, 'full state from the new server');
  assert.equal(proxy.connects, 2);
  const resumed = server.connectionFor('sailfin-proxy')!.watches.get(TypeUrl.Cluster)!;
  assert.equal(resumed.resumedFrom, version, 'the client presented the version it ran');
  assert.deepEqual(proxy.names('LDS'), ['l1']);
});
